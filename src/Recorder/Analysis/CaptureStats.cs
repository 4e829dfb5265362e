using MemNotebook.Recorder.Capture;

namespace MemNotebook.Recorder.Analysis;

public sealed record TypeStats(string Type, long Count, long Bytes, long LeakedCount, long LeakedBytes);

public sealed record FunctionStats(string Function, long Count, long Bytes);

/// <param name="Id">The OS thread id.</param>
public sealed record ThreadStats(ulong Id, string? Name, long Count, long Bytes);

/// <summary>
/// The numbers of <c>memnb stats</c>. Leaked = never freed while recording. Peak follows the format's
/// Peak section: the largest GC_START live_bytes and END live_bytes (or, without END, the live bytes
/// counted at the end of the capture).
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
    public required bool Complete { get; init; }
    public required bool Truncated { get; init; }
    public long? TruncatedAtOffset { get; init; }
    public string? TruncationReason { get; init; }
    public required long TotalAllocations { get; init; }
    public required long TotalBytes { get; init; }
    public required long PeakBytes { get; init; }
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

    public const int DefaultTop = 50;

    /// <summary>Reads <paramref name="path"/> in one streaming pass (memory bounded by live objects and distinct stacks).</summary>
    public static CaptureStats Compute(string path, int top = DefaultTop, CaptureReaderOptions? options = null)
    {
        var collector = new StatsCollector(top);
        CaptureReader.Read(path, collector, options);
        return collector.Result;
    }

    public static CaptureStats Compute(Stream stream, string path, int top = DefaultTop, CaptureReaderOptions? options = null)
    {
        var collector = new StatsCollector(top);
        CaptureReader.Read(stream, path, collector, options);
        return collector.Result;
    }
}
