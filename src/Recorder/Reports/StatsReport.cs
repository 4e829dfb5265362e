using Apache.Arrow;
using MemNotebook.Recorder.Analysis;
using MemNotebook.Recorder.Arrow;
using Microsoft.Data.Analysis;

namespace MemNotebook.Recorder.Reports;

/// <summary>Sizes in [MinSize, MaxSize] (a power-of-two bucket of <see cref="AllocationView.SizeHistogram"/>).</summary>
public sealed record SizeBucket(long MinSize, long MaxSize, long Count, long Bytes);

/// <summary>The allocations of one allocator kind (the allocations table's <c>allocator</c> column: <c>managed</c> today).</summary>
public sealed record AllocatorStats(string Allocator, long Count, long Bytes);

/// <summary>
/// The numbers of the stats page: <see cref="Capture.Stats"/> (totals, peak, leaks, duration, GCs, types), the size
/// histogram, functions ranked by bytes and by count, and the allocator kinds. An aggregated capture holds no single
/// allocations: its <see cref="Histogram"/> and <see cref="Allocators"/> are null.
/// </summary>
public sealed record StatsReport(CaptureStats Stats, IReadOnlyList<SizeBucket>? Histogram, IReadOnlyList<FunctionStats> FunctionsByBytes,
    IReadOnlyList<FunctionStats> FunctionsByCount, IReadOnlyList<TypeStats> Types, IReadOnlyList<AllocatorStats>? Allocators, int Top)
{
    public const int DefaultTop = 20;

    public static StatsReport Build(global::MemNotebook.Capture capture, int top = DefaultTop)
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
            allocators = AllocatorsOf(capture);
        }
        return new StatsReport(stats, histogram, Functions(capture.TopFunctions(top, Measure.Bytes)), Functions(capture.TopFunctions(top, Measure.Count)),
            stats.ByType.Take(top).ToArray(), allocators, top);
    }

    private static FunctionStats[] Functions(DataFrame ranked) => Enumerable.Range(0, (int)ranked.Rows.Count)
        .Select(i => new FunctionStats((string)ranked["function"][i], (long)ranked["count"][i], (long)ranked["bytes"][i]))
        .ToArray();

    private static AllocatorStats[] AllocatorsOf(global::MemNotebook.Capture capture)
    {
        var kinds = (StringArray)capture.ArrowTable(ArrowLayout.Allocations).Column("allocator");
        var size = capture.Columns.Size;
        var totals = new Dictionary<string, (long Count, long Bytes)>(StringComparer.Ordinal);
        // Runs of one kind are long (one allocator today): look the kind up when it changes.
        string? last = null;
        var lastTotals = (Count: 0L, Bytes: 0L);
        foreach (var r in capture.All.Rows)
        {
            var kind = kinds.GetString(r) ?? "";
            if (kind != last)
            {
                if (last is not null)
                    totals[last] = lastTotals;
                last = kind;
                lastTotals = totals.GetValueOrDefault(kind);
            }
            lastTotals = (lastTotals.Count + 1, lastTotals.Bytes + size[r]);
        }
        if (last is not null)
            totals[last] = lastTotals;
        return totals.Select(kv => new AllocatorStats(kv.Key, kv.Value.Count, kv.Value.Bytes))
            .OrderByDescending(a => a.Bytes).ThenBy(a => a.Allocator, StringComparer.Ordinal).ToArray();
    }
}
