namespace MemNotebook.Recorder.Capture;

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
    public const int MetaStream = 0;
    public const int GcStream = 1;
    public const int FirstThreadStream = 2;
    public const byte CodecStored = 0;
    public const byte CodecZstd = 1;

    /// <summary>Header flag bit 0: an aggregated capture (AGG_TABLE records instead of ALLOC and FREE).</summary>
    public const int FlagAggregated = 1;

    public static ReadOnlySpan<byte> Magic => "MEMNBCAP"u8;

    public const byte TagAlloc = 0x01;
    public const byte TagClock = 0x10;
    public const byte TagType = 0x11;
    public const byte TagStackNode = 0x12;
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
        TagClock => "CLOCK",
        TagType => "TYPE",
        TagStackNode => "STACK_NODE",
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

    public static string StreamName(int streamId) => streamId switch
    {
        MetaStream => "meta stream 0",
        GcStream => "GC stream 1",
        _ => $"thread stream {streamId}",
    };
}
