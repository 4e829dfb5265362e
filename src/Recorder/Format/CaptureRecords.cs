namespace MemNotebook.Recorder.Format;

// Decoded records as the reader hands them to a CaptureVisitor. Timestamps are absolute ticks
// (the per-stream deltas already summed); convert with TickClock.

public readonly record struct CaptureHeader(int FormatVersion, int Flags, int ProcessId, long StartWallClockNs)
{
    /// <summary>Header flag bit 0: totals per (stack, type) in AGG_TABLE records, no ALLOC or FREE records.</summary>
    public bool IsAggregated => (Flags & CaptureFormat.FlagAggregated) != 0;

    /// <summary>Header flag bit 2: SAMPLED_ALLOC records (the runtime's allocation samples), no ALLOC or FREE.</summary>
    public bool IsSampled => (Flags & CaptureFormat.FlagSampled) != 0;
    /// <summary>Header flag bit 1: native allocations were recorded too.</summary>
    public bool HasNative => (Flags & CaptureFormat.FlagNative) != 0;

    // ToString prints the header fields only (IsAggregated is read from Flags).
    private bool PrintMembers(System.Text.StringBuilder builder)
    {
        builder.Append($"FormatVersion = {FormatVersion}, Flags = {Flags}, ProcessId = {ProcessId}, StartWallClockNs = {StartWallClockNs}");
        return true;
    }
}

public enum FrameKind : byte
{
    Managed = 0,
    Native = 1,
    Unknown = 2,
}

public readonly record struct ClockRecord(long Ticks, long MonotonicNs, byte TscShift);

public readonly record struct TypeRecord(int Index, ulong ClassId, string Name, bool IsArray);

/// <summary>A prefix-tree node: <see cref="Id"/> names the innermost frame, <see cref="ParentId"/> 0 is the root.</summary>
public readonly record struct StackNodeRecord(int Id, int ParentId, ulong Ip);

public readonly record struct FrameRecord(ulong Ip, FrameKind Kind, string Function, string Module, ulong Offset);

public readonly record struct ThreadRecord(int StreamId, ulong OsThreadId, ulong ManagedThreadId);

public readonly record struct ThreadNameRecord(ulong OsThreadId, string Name);

public readonly record struct SnapshotRecord(
    long Ticks, long MonotonicNs, long RssBytes, long Gen0Bytes, long Gen1Bytes, long Gen2Bytes,
    long LohBytes, long PohBytes, long TrackedLiveBytes);

public readonly record struct EndRecord(long Ticks, long Allocations, long Frees, long LiveBytes, long Dropped);

/// <summary>Generations: bit n = generation n collected; bit 3 LOH, bit 4 POH. Reason as COR_PRF_GC_REASON.</summary>
public readonly record struct GcStartRecord(long Ticks, byte Generations, byte Reason, long GcIndex, long LiveBytes);

public readonly record struct GcEndRecord(
    long Ticks, long GcIndex, long Gen0Bytes, long Gen1Bytes, long Gen2Bytes, long LohBytes, long PohBytes);

/// <summary>
/// One ALLOC, SAMPLED_ALLOC or NATIVE_ALLOC; <see cref="Sequence"/> is its index within its thread stream (every
/// kind counts). StackId 0 means no stack. A native allocation has no type: its <see cref="TypeIndex"/> is
/// minus its allocator kind (−1 malloc … −9 mmap), which <see cref="CaptureTables.TypeName"/> names.
/// </summary>
public readonly record struct AllocationRecord(
    int ThreadStream, long Sequence, long Ticks, int TypeIndex, long Size, int StackId, ulong Address)
{
    /// <summary>0 for a managed object, else the native allocator kind (1 malloc … 9 mmap).</summary>
    public int Allocator => TypeIndex < 0 ? -TypeIndex : 0;

    public bool IsNative => TypeIndex < 0;

    /// <summary>"managed", "malloc", … (the allocations table's allocator column).</summary>
    public string AllocatorName => CaptureFormat.AllocatorName(Allocator);

    /// <summary>A SAMPLED_ALLOC: one object the runtime's allocation sampling picked.</summary>
    public bool IsSampled { get; init; }

    /// <summary>SAMPLED_ALLOC: the 0-based offset in the object of the byte whose trial succeeded.</summary>
    public long SampledByteOffset { get; init; }

    /// <summary>SAMPLED_ALLOC: 0 small object heap, 1 large object heap, 2 pinned object heap.</summary>
    public byte HeapKind { get; init; }

    /// <summary>
    /// A SAMPLED_ALLOC recorded exactly (a LOH object from the runtime's ObjectAllocated, heap kind bit 7): it
    /// stands for its own size, not for <see cref="CaptureFormat.SampledWeight"/>.
    /// </summary>
    public bool IsExact { get; init; }

    /// <summary>The bytes this allocation stands for: the sampling estimate for a sampled object, else its size.</summary>
    public double EstimatedBytes => CaptureFormat.EstimatedBytes(Size, IsSampled && !IsExact);

    // ToString prints the record's fields only (the allocator is read from TypeIndex), and the sampled
    // fields of a SAMPLED_ALLOC.
    private bool PrintMembers(System.Text.StringBuilder builder)
    {
        builder.Append($"ThreadStream = {ThreadStream}, Sequence = {Sequence}, Ticks = {Ticks}, TypeIndex = {TypeIndex}, Size = {Size}, StackId = {StackId}, Address = {Address}");
        if (IsSampled)
            builder.Append($", IsSampled = True, SampledByteOffset = {SampledByteOffset}, HeapKind = {HeapKind}");
        if (IsExact)
            builder.Append(", IsExact = True");
        return true;
    }
}

/// <summary>
/// Consecutive ALLOC records of one thread stream (exact managed objects), as columns: row i is the
/// allocation of sequence number <see cref="FirstSequence"/> + i, validated like a single record. The
/// spans are the reader's and valid only during the call that receives the block.
/// </summary>
public readonly ref struct AllocationBlock
{
    public AllocationBlock(int threadStream, long firstSequence, ReadOnlySpan<long> ticks, ReadOnlySpan<int> typeIndexes,
        ReadOnlySpan<long> sizes, ReadOnlySpan<int> stackIds, ReadOnlySpan<ulong> addresses)
    {
        ThreadStream = threadStream;
        FirstSequence = firstSequence;
        Ticks = ticks;
        TypeIndexes = typeIndexes;
        Sizes = sizes;
        StackIds = stackIds;
        Addresses = addresses;
    }

    public int ThreadStream { get; }
    public long FirstSequence { get; }
    public ReadOnlySpan<long> Ticks { get; }
    public ReadOnlySpan<int> TypeIndexes { get; }
    public ReadOnlySpan<long> Sizes { get; }
    public ReadOnlySpan<int> StackIds { get; }
    public ReadOnlySpan<ulong> Addresses { get; }
    public int Count => Ticks.Length;

    /// <summary>Row <paramref name="i"/> as a single record.</summary>
    public AllocationRecord this[int i] =>
        new(ThreadStream, FirstSequence + i, Ticks[i], TypeIndexes[i], Sizes[i], StackIds[i], Addresses[i]);
}

/// <summary>A MODULE record: an ELF object loaded in the traced process (native frames resolve against it).</summary>
public readonly record struct ModuleRecord(string Path, ulong Base, ulong Size, string BuildId);

/// <summary>
/// MANAGED_MODULE: a module of managed frames with IL positions. <see cref="Path"/> is the file the runtime loaded
/// (empty for a module loaded from memory: a notebook cell's, a Reflection.Emit one); <see cref="Symbols"/> are the
/// symbols (a portable PDB) it was loaded with from memory, from MODULE_SYMBOLS, else empty.
/// </summary>
public sealed record ManagedModuleRecord(int Index, string Path, string Name)
{
    public ReadOnlyMemory<byte> Symbols { get; internal set; } = ReadOnlyMemory<byte>.Empty;
}

/// <summary>IL_FRAME: the method (its metadata token in the module) and the IL offset of the call a managed return address follows.</summary>
public readonly record struct IlFrameRecord(ulong Ip, int ModuleIndex, int MethodToken, int IlOffset);

/// <summary>
/// One allocation named by a FREE record (<see cref="Ticks"/> is the time of the GC_END before it), or a
/// native allocation released by NATIVE_FREE records (<see cref="GcIndex"/> −1, Ticks the release's time).
/// </summary>
public readonly record struct FreeRecord(int ThreadStream, long Sequence, long Ticks, long GcIndex);

/// <summary>
/// One row of an AGG_TABLE: the allocations of one (stack, type) pair. Peak = alive at the high-water
/// mark; alive = alive when the table was written (in the final table: leaked). StackId 0 means no stack.
/// </summary>
public sealed record AggregateRow(int StackId, int TypeIndex, long Count, long Bytes, long PeakCount, long PeakBytes,
    long AliveCount, long AliveBytes);

/// <summary>
/// An AGG_TABLE record: totals per (stack, type) since the start. <see cref="Final"/> when written at
/// stop; <see cref="PeakBytes"/> = tracked bytes alive at the high-water mark.
/// </summary>
public sealed record AggregateTableRecord(bool Final, long PeakBytes, IReadOnlyList<AggregateRow> Rows)
{
    /// <summary>When the table was written (absolute ticks).</summary>
    public long Ticks { get; init; }
}

/// <summary>One frame of a source location: a function (null for the physical function: its name comes
/// from the symbol tables), the source file (absolute as the compiler wrote it) and the line. The reader
/// leaves them to the symbolizers (`Symbols/CaptureSymbols`, called by whoever reads a capture for names), which fill <see cref="CaptureTables.Sources"/>.</summary>
public readonly record struct SourceFrame(string? Function, string? File, int Line);
