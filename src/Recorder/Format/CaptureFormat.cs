namespace MemNotebook.Recorder.Format;

/// <summary>Constants of capture format version 1 (docs/capture-format.md).</summary>
public static class CaptureFormat
{
    public const int Version = 1;
    public const int HeaderSize = 32;
    public const int ChunkHeaderSize = 20;
    public const uint ChunkMagic = 0x4B4E4843; // "CHNK" little-endian
    public const int MaxChunkPayload = 64 * 1024 * 1024;
    public const int MaxStringBytes = 64 * 1024;
    public const int MaxStackDepth = 1024;

    /// <summary>
    /// The fewest bytes an ALLOC record takes (its tag and five varints of one byte at least; SAMPLED_ALLOC and
    /// NATIVE_ALLOC take more): a thread chunk of n raw bytes holds at most n / 6 allocations.
    /// </summary>
    public const int MinAllocationRecordBytes = 6;
    public const int MetaStream = 0;
    public const int GcStream = 1;
    public const int FirstThreadStream = 2;
    public const byte CodecStored = 0;
    public const byte CodecZstd = 1;

    /// <summary>Header flag bit 0: an aggregated capture (AGG_TABLE records instead of ALLOC and FREE).</summary>
    public const int FlagAggregated = 1;

    /// <summary>Header flag bit 1: native allocations recorded (NATIVE_ALLOC, NATIVE_FREE and MODULE records may appear).</summary>
    public const int FlagNative = 2;

    public const int KnownFlags = FlagAggregated | FlagNative | FlagSampled | FlagIlFrames;

    /// <summary>
    /// Header flag bit 3: managed frames may have IL positions (MANAGED_MODULE, MODULE_SYMBOLS and IL_FRAME records),
    /// from which Recorder reads their source lines in the modules' portable PDBs.
    /// </summary>
    public const int FlagIlFrames = 8;

    /// <summary>MODULE_SYMBOLS: the most bytes of one module's in-memory symbols.</summary>
    public const int MaxModuleSymbolBytes = 16 << 20;

    /// <summary>
    /// Header flag bit 2: a sampled capture (SAMPLED_ALLOC records from the runtime's allocation sampling
    /// instead of ALLOC; no FREE records).
    /// </summary>
    public const int FlagSampled = 4;

    /// <summary>
    /// The runtime's sampling rate: each allocated byte is a Bernoulli trial with p = 1/102,400, and an object
    /// is sampled when one of its trials succeeds (.NET 10 AllocationSampled; dotnet/runtime
    /// docs/design/features/RandomizedAllocationSampling.md).
    /// </summary>
    public const double SamplingMeanBytes = 102_400;

    /// <summary>
    /// The unbiased estimate of the bytes a sampled object of <paramref name="size"/> bytes stands for:
    /// size / (1 - q^size), q = 1 - 1/102,400 (the object is sampled with probability 1 - q^size).
    /// </summary>
    public static double SampledWeight(long size) =>
        size <= 0 ? 0 : size / -double.ExpM1(size * double.LogP1(-1 / SamplingMeanBytes));

    /// <summary>
    /// SAMPLED_ALLOC's heap kind byte, bit 7: the object was recorded exactly (a LOH object reported by the
    /// runtime's ObjectAllocated), not sampled; it stands for its own size (weight 1). Bits 0–1 are the heap kind.
    /// </summary>
    public const byte SampledExactBit = 0x80;

    /// <summary>Heap kinds of SAMPLED_ALLOC (bits 0–1 of its heap kind byte): 0 SOH, 1 LOH, 2 POH.</summary>
    public const byte HeapKindLarge = 1;
    public const byte MaxHeapKind = 2;

    /// <summary>
    /// The bytes an allocation of a sampled capture stands for: <see cref="SampledWeight"/> for a sampled object,
    /// its size for one recorded exactly.
    /// </summary>
    public static double EstimatedBytes(long size, bool sampled) => sampled ? SampledWeight(size) : size;

    public static ReadOnlySpan<byte> Magic => "MEMNBCAP"u8;

    public const byte TagAlloc = 0x01;
    public const byte TagSampledAlloc = 0x04;
    public const byte TagNativeAlloc = 0x02;
    public const byte TagNativeFree = 0x03;
    public const byte TagModule = 0x18;
    public const byte TagManagedModule = 0x19;
    public const byte TagModuleSymbols = 0x1A;
    public const byte TagIlFrame = 0x1B;
    public const byte TagClock = 0x10;
    public const byte TagType = 0x11;
    public const byte TagStackNode = 0x12;
    public const byte TagStackNodes = 0x1C;
    public const byte TagFrame = 0x13;
    public const byte TagThread = 0x14;
    public const byte TagThreadName = 0x15;
    public const byte TagSnapshot = 0x16;
    public const byte TagEnd = 0x17;
    public const byte TagGcStart = 0x20;
    public const byte TagGcEnd = 0x21;
    public const byte TagSuspend = 0x22;
    public const byte TagResume = 0x23;
    public const byte TagFree = 0x24;
    public const byte TagAggTable = 0x30;

    public static string TagName(byte tag) => tag switch
    {
        TagAlloc => "ALLOC",
        TagSampledAlloc => "SAMPLED_ALLOC",
        TagNativeAlloc => "NATIVE_ALLOC",
        TagNativeFree => "NATIVE_FREE",
        TagModule => "MODULE",
        TagManagedModule => "MANAGED_MODULE",
        TagModuleSymbols => "MODULE_SYMBOLS",
        TagIlFrame => "IL_FRAME",
        TagClock => "CLOCK",
        TagType => "TYPE",
        TagStackNode => "STACK_NODE",
        TagStackNodes => "STACK_NODES",
        TagFrame => "FRAME",
        TagThread => "THREAD",
        TagThreadName => "THREAD_NAME",
        TagSnapshot => "SNAPSHOT",
        TagEnd => "END",
        TagGcStart => "GC_START",
        TagGcEnd => "GC_END",
        TagSuspend => "SUSPEND",
        TagResume => "RESUME",
        TagFree => "FREE",
        TagAggTable => "AGG_TABLE",
        _ => "unknown",
    };

    /// <summary>Allocator kinds of NATIVE_ALLOC (1 … 9); 0 is a managed allocation.</summary>
    public const int MaxNativeAllocator = 9;

    /// <summary>Release kinds of NATIVE_FREE: 1 = free (also realloc's release), 2 = munmap.</summary>
    public const byte ReleaseFree = 1;
    public const byte ReleaseMunmap = 2;

    private static readonly string[] AllocatorNames =
        ["managed", "malloc", "calloc", "realloc", "posix_memalign", "aligned_alloc", "memalign", "valloc", "pvalloc", "mmap"];

    /// <summary>The allocator column's value for an allocator kind (0 = managed).</summary>
    public static string AllocatorName(int allocator) =>
        (uint)allocator < (uint)AllocatorNames.Length ? AllocatorNames[allocator] : $"allocator {allocator}";

    /// <summary>Every allocator name, managed first, in kind order.</summary>
    public static IReadOnlyList<string> AllAllocatorNames => AllocatorNames;

    public static string StreamName(int streamId) => streamId switch
    {
        MetaStream => "meta stream 0",
        GcStream => "GC stream 1",
        _ => $"thread stream {streamId}",
    };
}
