using Apache.Arrow;
using MemNotebook.Recorder.Analysis;
using MemNotebook.Recorder.Arrow;
using Microsoft.Data.Analysis;

namespace MemNotebook.Recorder.Reports;

/// <summary>Sizes in [MinSize, MaxSize] (a power-of-two bucket of <see cref="AllocationView.SizeHistogram"/>).</summary>
public sealed record SizeBucket(long MinSize, long MaxSize, long Count, long Bytes);

/// <summary>
/// The numbers of the stats page: <see cref="Capture.Stats"/> (totals, peak, leaks, duration, GCs, types), the size
/// histogram, functions ranked by bytes and by count, and the allocator kinds. An aggregated capture holds no single
/// allocations: its <see cref="Histogram"/> and <see cref="Allocators"/> are null.
/// </summary>
public sealed record StatsReport(CaptureStats Stats, IReadOnlyList<SizeBucket>? Histogram, IReadOnlyList<FunctionStats> FunctionsByBytes,
    IReadOnlyList<FunctionStats> FunctionsByCount, IReadOnlyList<TypeStats> Types, IReadOnlyList<AllocatorStats>? Allocators, int Top)
{
    public const int DefaultTop = 20;

    public static StatsReport Build(Capture capture, int top = DefaultTop)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(top);
        var stats = capture.Stats(top);
        IReadOnlyList<SizeBucket>? histogram = null;
        IReadOnlyList<AllocatorStats>? allocators = null;
        if (!capture.IsAggregated)
        {
            var h = capture.SizeHistogram();
            histogram = Enumerable.Range(0, (int)h.Rows.Count)
                .Select(i => new SizeBucket((long)h["min_size"][i], (long)h["max_size"][i], (long)h["count"][i], (long)h["bytes"][i]))
                .ToArray();
            allocators = stats.ByAllocator;
        }
        return new StatsReport(stats, histogram, Functions(capture.TopFunctions(top, Measure.Bytes)), Functions(capture.TopFunctions(top, Measure.Count)),
            stats.ByType.Take(top).ToArray(), allocators, top);
    }

    private static FunctionStats[] Functions(DataFrame ranked) => Enumerable.Range(0, (int)ranked.Rows.Count)
        .Select(i => new FunctionStats((string)ranked["function"][i], (long)ranked["count"][i], (long)ranked["bytes"][i]))
        .ToArray();
}
