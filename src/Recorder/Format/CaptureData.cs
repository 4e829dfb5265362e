namespace MemNotebook.Recorder.Format;

/// <summary>A frame resolved from a stack node's ip.</summary>
internal readonly record struct CaptureFrame(ulong Ip, FrameKind Kind, string Function, string Module, ulong Offset);

internal readonly record struct CaptureThread(int StreamId, ulong OsThreadId, ulong ManagedThreadId, string? Name);

public readonly record struct MemorySnapshot(
    long TimeNs, long RssBytes, long Gen0Bytes, long Gen1Bytes, long Gen2Bytes, long LohBytes, long PohBytes,
    long TrackedLiveBytes);

/// <summary>
/// One garbage collection. Times in ns since the start; null when the capture lacks the record
/// (a GC in progress when recording began or stopped). <see cref="PauseNs"/> is RESUME − SUSPEND of the
/// suspension around the GC. Heap sizes are after the GC (from GC_END).
/// </summary>
public readonly record struct GcEvent(
    long GcIndex, long? StartNs, long? EndNs, byte Generations, byte Reason, long? PauseNs, long LiveBytesAtStart,
    long Gen0Bytes, long Gen1Bytes, long Gen2Bytes, long LohBytes, long PohBytes)
{
    public bool IsInduced => Reason == 1;
}

/// <summary>
/// A whole capture in memory: the tables and every allocation as columns. For reports over captures
/// that may not fit, stream with <see cref="CaptureReader"/> and a <see cref="CaptureVisitor"/> instead.
/// </summary>
internal sealed class CaptureData
{
    internal CaptureData(CaptureReadResult read, IReadOnlyList<TypeRecord> types, IReadOnlyList<CaptureThread> threads,
        IReadOnlyList<MemorySnapshot> snapshots, IReadOnlyList<GcEvent> gcEvents, AllocationTable allocations)
    {
        ReadResult = read;
        Types = types;
        Threads = threads;
        Snapshots = snapshots;
        GcEvents = gcEvents;
        Allocations = allocations;
    }

    public static CaptureData Load(string path, CaptureReaderOptions? options = null)
    {
        var builder = new CaptureDataBuilder();
        CaptureReader.Read(path, builder, options);
        return builder.Build();
    }

    public static CaptureData Load(Stream stream, string path, CaptureReaderOptions? options = null)
    {
        var builder = new CaptureDataBuilder();
        CaptureReader.Read(stream, path, builder, options);
        return builder.Build();
    }

    public CaptureReadResult ReadResult { get; }
    public CaptureHeader Header => ReadResult.Header;
    public bool Complete => ReadResult.Complete;
    public bool Truncated => ReadResult.Truncated;
    public EndRecord? End => ReadResult.End;
    public TickClock Clock => ReadResult.Clock;
    public long DurationNs => ReadResult.DurationNs;

    /// <summary>Types sorted by index; an allocation's TypeIndex is <see cref="TypeRecord.Index"/>.</summary>
    public IReadOnlyList<TypeRecord> Types { get; }

    /// <summary>Stack nodes by id − 1; stack id 0 is the empty stack.</summary>
    public IReadOnlyList<StackNodeRecord> StackNodes => ReadResult.Tables.StackNodes;

    public IReadOnlyDictionary<ulong, FrameRecord> Frames => ReadResult.Tables.Frames;
    public IReadOnlyList<CaptureThread> Threads { get; }
    public IReadOnlyList<MemorySnapshot> Snapshots { get; }
    public IReadOnlyList<GcEvent> GcEvents { get; }
    public AllocationTable Allocations { get; }

    public string TypeName(int typeIndex) => ReadResult.Tables.TypeName(typeIndex);

    /// <summary>The frames of a stack, innermost first; an ip without a FRAME record is an unknown frame.</summary>
    public IEnumerable<FrameRecord> StackFrames(int stackId) =>
        ReadResult.Tables.StackIps(stackId).Select(ReadResult.Tables.Frame);
}
