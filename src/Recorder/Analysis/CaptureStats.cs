using MemNotebook.Recorder.Format;

namespace MemNotebook.Recorder.Analysis;

public sealed record TypeStats(string Type, long Count, long Bytes, long LeakedCount, long LeakedBytes);

public sealed record FunctionStats(string Function, long Count, long Bytes);

/// <param name="Allocator">"managed", "malloc", "calloc", … (the allocations table's allocator column).</param>
public sealed record AllocatorStats(string Allocator, long Count, long Bytes);

/// <param name="Frames">Frame names innermost first, as every stack shows them (Stacks/StackFrames: module+0xoffset or 0xip for a frame without a function name).</param>
public sealed record StackStats(IReadOnlyList<string> Frames, long Count, long Bytes)
{
    public bool Equals(StackStats? other) =>
        other is not null && Count == other.Count && Bytes == other.Bytes && Frames.SequenceEqual(other.Frames);

    public override int GetHashCode() => HashCode.Combine(Count, Bytes, Frames.Count);
}

/// <param name="Id">The OS thread id.</param>
public sealed record ThreadStats(ulong Id, string? Name, long Count, long Bytes);

/// <summary>
/// The numbers of <c>memnb stats</c>. Leaked = never freed while recording. Peak follows the format's
/// Peak section: managed bytes, the largest GC_START live_bytes and END live_bytes (or, without END, the
/// managed bytes counted alive at the end of the capture). A capture with native allocations has a native
/// peak besides (<see cref="NativePeakBytes"/>).
/// </summary>
public sealed record CaptureStats
{
    public required string Path { get; init; }
    public required int FormatVersion { get; init; }

    /// <summary>
    /// True for an aggregated capture: the numbers come from its last AGG_TABLE, leaked = alive when it
    /// was written, and <see cref="Threads"/> is empty. <see cref="Complete"/> is false unless that
    /// table is the final one and END was read.
    /// </summary>
    public bool Aggregated { get; init; }

    /// <summary>
    /// True for a sampled capture: allocations are the objects the runtime's allocation sampling picked, and
    /// <see cref="EstimatedBytes"/> estimates what they stand for; nothing is freed (no lifetimes).
    /// </summary>
    public bool Sampled { get; init; }

    /// <summary>Estimated bytes allocated: a sampled capture's estimate; for any other, <see cref="TotalBytes"/>.</summary>
    public long EstimatedBytes { get; init; }

    /// <summary>
    /// A sampled capture's large-object-heap objects (≥ 85,000 bytes), recorded exactly rather than sampled:
    /// every one of them, counted in <see cref="EstimatedBytes"/> at its size.
    /// </summary>
    public long ExactLargeObjects { get; init; }

    /// <summary>The bytes of <see cref="ExactLargeObjects"/>.</summary>
    public long ExactLargeBytes { get; init; }
    public required bool Complete { get; init; }
    public required bool Truncated { get; init; }
    public long? TruncatedAtOffset { get; init; }
    public string? TruncationReason { get; init; }
    public required long TotalAllocations { get; init; }
    public required long TotalBytes { get; init; }
    /// <summary>Managed bytes alive at the high-water mark (at a GC start or the end): native blocks are not in it.</summary>
    public required long PeakBytes { get; init; }

    /// <summary>True for a capture recorded with native allocations (<c>memnb run --native</c>, header flag bit 1).</summary>
    public bool Native { get; init; }

    /// <summary>
    /// A native capture's high-water mark of native memory: the most bytes of native blocks alive at once (each
    /// at the size asked for, an mmap region at its length), in time order across threads; 0 for other captures.
    /// </summary>
    public long NativePeakBytes { get; init; }

    /// <summary>When <see cref="NativePeakBytes"/> was first reached, in ns since the start (0 when it is 0).</summary>
    public long NativePeakTimeNs { get; init; }
    public required long LeakedAllocations { get; init; }
    public required long LeakedBytes { get; init; }
    public required long FreedAllocations { get; init; }
    public required long FreedBytes { get; init; }
    public required double DurationMs { get; init; }

    /// <summary>True when the duration rests on an assumed tick rate (fewer than two clock pairs).</summary>
    public bool DurationEstimated { get; init; }

    public required long GcCount { get; init; }

    /// <summary>Records the tracer reported as lost (END's dropped), 0 without END.</summary>
    public long Dropped { get; init; }

    /// <summary>Every type with allocations, bytes descending.</summary>
    public required IReadOnlyList<TypeStats> ByType { get; init; }

    /// <summary>The top functions, bytes descending.</summary>
    public required IReadOnlyList<FunctionStats> TopFunctions { get; init; }

    /// <summary>Every thread stream, bytes descending.</summary>
    public required IReadOnlyList<ThreadStats> Threads { get; init; }

    /// <summary>Totals per allocator (managed and each native one seen), bytes descending.</summary>
    public IReadOnlyList<AllocatorStats> ByAllocator { get; init; } = [];

    /// <summary>The <see cref="TopStackCount"/> stacks with the most bytes (then count, then stack id).</summary>
    public IReadOnlyList<StackStats> TopStacks { get; init; } = [];

    public const int DefaultTop = 50;
    public const int TopStackCount = 20;

    /// <summary>
    /// Stats with the capture's own facts taken from its metadata (format, completeness, truncation,
    /// duration, records dropped) and freed = total − leaked. A sampled capture's estimate is set with <c>with</c>.
    /// </summary>
    internal static CaptureStats Create(string path, Arrow.CaptureMetadata capture, long gcCount, long count, long bytes,
        long leakedCount, long leakedBytes, long peakBytes, IReadOnlyList<TypeStats> byType, IReadOnlyList<FunctionStats> topFunctions,
        IReadOnlyList<ThreadStats> threads, IReadOnlyList<AllocatorStats> byAllocator, IReadOnlyList<StackStats> topStacks) => new()
    {
        Path = path,
        FormatVersion = capture.FormatVersion,
        Aggregated = capture.Aggregated,
        Native = capture.Native,
        Complete = capture.Complete,
        Truncated = capture.Truncated,
        TruncatedAtOffset = capture.TruncatedAtOffset,
        TruncationReason = capture.TruncationReason,
        TotalAllocations = count,
        TotalBytes = bytes,
        EstimatedBytes = bytes,
        PeakBytes = peakBytes,
        LeakedAllocations = leakedCount,
        LeakedBytes = leakedBytes,
        FreedAllocations = count - leakedCount,
        FreedBytes = bytes - leakedBytes,
        DurationMs = capture.DurationNs / 1e6,
        DurationEstimated = capture.ClockEstimated,
        GcCount = gcCount,
        Dropped = capture.EndDropped ?? 0,
        ByType = byType,
        TopFunctions = topFunctions,
        Threads = threads,
        ByAllocator = byAllocator,
        TopStacks = topStacks,
    };

    internal static AllocatorStats[] RankAllocators(IEnumerable<AllocatorStats> allocators) =>
        allocators.OrderByDescending(a => a.Bytes).ThenByDescending(a => a.Count).ThenBy(a => a.Allocator, StringComparer.Ordinal).ToArray();

    /// <summary>The biggest stacks from totals per stack id; names from the capture's frames.</summary>
    internal static StackStats[] RankStacks(IEnumerable<(int StackId, long Count, long Bytes)> stacks, Func<int, IReadOnlyList<string>> frames)
    {
        // The first TopStackCount by bytes descending, count descending, id ascending, kept in order as the stacks
        // come: a deep capture has millions of stacks, which a sort of them all took seconds to order.
        var best = new List<(int StackId, long Count, long Bytes)>(TopStackCount + 1);
        foreach (var s in stacks)
        {
            if (best.Count == TopStackCount && !RanksBefore(s, best[^1]))
                continue;
            var at = best.Count;
            while (at > 0 && RanksBefore(s, best[at - 1]))
                at--;
            best.Insert(at, s);
            if (best.Count > TopStackCount)
                best.RemoveAt(best.Count - 1);
        }
        return best.Select(s => new StackStats(frames(s.StackId), s.Count, s.Bytes)).ToArray();
    }

    private static bool RanksBefore((int StackId, long Count, long Bytes) a, (int StackId, long Count, long Bytes) b) =>
        a.Bytes != b.Bytes ? a.Bytes > b.Bytes : a.Count != b.Count ? a.Count > b.Count : a.StackId < b.StackId;

    /// <summary>
    /// The stats of a capture file in two passes, as the Arrow conversion reads it: the first keeps when
    /// each object died (<see cref="FreeTimes"/>: at most a byte or two per allocation), the second looks
    /// each allocation up as it comes. A capture of more allocations than <see cref="AllocationLimit"/> allows
    /// (<see cref="CaptureReaderOptions.MaxAllocations"/>) is refused first.
    /// </summary>
    /// <param name="progress">The read position, 0…1 over both passes of the file (reports of a pass read again may repeat values).</param>
    public static CaptureStats Compute(string path, int top = DefaultTop, CaptureReaderOptions? options = null, IProgress<double>? progress = null)
    {
        options ??= CaptureReaderOptions.Default;
        var extent = new FileInfo(path).Length;
        AllocationLimit.Check(path, extent, AllocationLimit.For(extent, options.MaxAllocations), options.AllowTruncated);
        var firstPass = new FreeRunsPass();
        var first = CapturePass.Read(path, firstPass,
            new CaptureReaderOptions { AllowTruncated = options.AllowTruncated, SkipAllocations = true }, extent, progress, 0, 0.5);
        if (first.FirstClockTicks is null && first.Header.HasNative)
        {
            // No clock pair: the time origin is the earliest timestamp of any record, allocations included, as the
            // Arrow conversion takes it (native allocations are timed with it for the native peak).
            firstPass = new FreeRunsPass();
            first = CapturePass.Read(path, firstPass, new CaptureReaderOptions { AllowTruncated = options.AllowTruncated }, extent, progress, 0, 0.5);
        }
        StatsCollector collector;
        if (first.IsAggregated)
        {
            // Totals only: what the first pass read is the whole capture, and it is small.
            collector = new StatsCollector(top);
            CapturePass.Read(path, collector, options, extent, progress, 0.5, 0.5);
            return collector.Result;
        }
        collector = new StatsCollector(top, firstPass.Frees.Seal(first.Clock), first.Clock, first.Tables.StackNodes.Count);
        CapturePass.Read(path, collector, new CaptureReaderOptions
        {
            AllowTruncated = options.AllowTruncated, FreesChecked = true, ExpectedStackNodes = first.Tables.StackNodes.Count,
        }, extent, progress, 0.5, 0.5);
        return collector.Result;
    }

    public static CaptureStats Compute(Stream stream, string path, int top = DefaultTop, CaptureReaderOptions? options = null)
    {
        var collector = new StatsCollector(top);
        CaptureReader.Read(stream, path, collector, options);
        return collector.Result;
    }
}
