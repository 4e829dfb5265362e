namespace MemNotebook.Recorder.Format;

/// <summary>What a read found besides the records: completeness, truncation, tables and clock.</summary>
public sealed class CaptureReadResult
{
    internal CaptureReadResult(string path, CaptureHeader header, CaptureTables tables)
    {
        Path = path;
        Header = header;
        Tables = tables;
        Clock = new TickClock(0, 16, true);
    }

    public string Path { get; }
    public CaptureHeader Header { get; }
    public CaptureTables Tables { get; }

    /// <summary>True when the END record was read.</summary>
    public bool Complete => End is not null;

    public EndRecord? End { get; internal set; }

    /// <summary>True for an aggregated capture (header flag bit 0).</summary>
    public bool IsAggregated => Header.IsAggregated;

    /// <summary>The last AGG_TABLE of an aggregated capture (null when none was read, and for a normal capture).</summary>
    public AggregateTableRecord? AggregateTable { get; internal set; }

    /// <summary>True when the file ends inside a chunk; the records of the whole chunks before it were read.</summary>
    public bool Truncated { get; internal set; }

    /// <summary>File offset of the cut-short chunk when <see cref="Truncated"/>.</summary>
    public long? TruncatedAtOffset { get; internal set; }

    /// <summary>Why the tail was not read, e.g. "truncated chunk: payload needs 812 bytes, 20 remain".</summary>
    public string? TruncationReason { get; internal set; }

    public long ChunkCount { get; internal set; }

    /// <summary>
    /// Raw (decompressed) payload bytes of the thread-stream chunks, read or skipped: they hold at most this
    /// / <see cref="CaptureFormat.MinAllocationRecordBytes"/> allocations, whatever END claims.
    /// </summary>
    public long ThreadPayloadBytes { get; internal set; }

    /// <summary>At most how many allocations the thread chunks hold (<see cref="ThreadPayloadBytes"/> / 6).</summary>
    public long MaxAllocations => ThreadPayloadBytes / CaptureFormat.MinAllocationRecordBytes;

    /// <summary>Number of bytes read as whole chunks (header included).</summary>
    public long BytesRead { get; internal set; }

    public TickClock Clock { get; internal set; }

    /// <summary>Smallest and largest timestamp of any record (ticks), null when no record carries one.</summary>
    public long? FirstTicks { get; internal set; }
    public long? LastTicks { get; internal set; }

    /// <summary>First CLOCK (or SNAPSHOT) timestamp, if any.</summary>
    public long? FirstClockTicks { get; internal set; }

    /// <summary>END's timestamp, or the last timestamp of the capture.</summary>
    public long? StopTicks => End is EndRecord end ? end.Ticks : LastTicks;

    /// <summary>Nanoseconds from the first CLOCK to END (or to the last timestamp); 0 if unknown.</summary>
    public long DurationNs => StopTicks is long stop ? Math.Max(0, Clock.ToNanoseconds(stop)) : 0;
}

public sealed class CaptureReaderOptions
{
    public static readonly CaptureReaderOptions Default = new();

    /// <summary>
    /// When true (the default) a file whose last chunk is cut short (the traced process was killed) is
    /// read up to the last whole chunk and reported via <see cref="CaptureReadResult.Truncated"/>; when
    /// false that is a <see cref="CaptureFormatException"/>. A cut-short header is always an error.
    /// </summary>
    public bool AllowTruncated { get; init; } = true;

    /// <summary>
    /// The most allocations the Arrow conversion and <c>memnb stats</c> read a capture with; null for
    /// <see cref="AllocationLimit.For"/>'s (<see cref="AllocationLimit.Variable"/>, else one by the file's size). A
    /// capture holding more is refused with an <see cref="AllocationLimitException"/> before the work that grows with them.
    /// </summary>
    public long? MaxAllocations { get; init; }

    /// <summary>
    /// Skips thread-stream chunks (ALLOC records) unread: the meta and GC streams only, for a first
    /// pass that needs frees and the clock. A FREE's sequence number cannot be checked against the
    /// allocations then; a full read does that.
    /// </summary>
    internal bool SkipAllocations { get; init; }

    /// <summary>
    /// For a read after one that checked the FREE records (a first pass): each FREE is only checked to
    /// name allocations made before it, and is not delivered. A FREE that fails is decoded in full,
    /// so the error is the one a single read gives.
    /// </summary>
    internal bool FreesChecked { get; init; }

    /// <summary>
    /// For a read after a first pass over the same bytes: the stack nodes that pass read, so the reader's tables are
    /// sized once (a deep capture has millions of nodes, which growing tables copied and faulted in twice over).
    /// A hint only: more or fewer nodes are read as they come.
    /// </summary>
    internal int ExpectedStackNodes { get; init; }
}
