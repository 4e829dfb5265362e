using Apache.Arrow.Ipc;

namespace MemNotebook.Recorder.Arrow;

/// <summary>
/// The buffer compression of the cached Arrow tables: each buffer of each record batch ZSTD-compressed (the IPC
/// format's BodyCompression, read by pyarrow, polars, DuckDB's arrow extension, and apache-arrow for JavaScript
/// once a ZSTD codec is registered). Every reader of our own tables passes <see cref="Codecs"/>.
/// </summary>
public static class ArrowCompression
{
    /// <summary>The codecs (ZSTD, LZ4 frame) for reading compressed IPC files.</summary>
    public static readonly ICompressionCodecFactory Codecs = new Apache.Arrow.Compression.CompressionCodecFactory();

    /// <summary>ZSTD level: 3 (zstd's default) is a third smaller than 1 on the allocations table at a little more CPU, on the writer thread.</summary>
    public const int Level = 3;

    /// <summary>The writer options: ZSTD buffers at <see cref="Level"/>.</summary>
    public static IpcOptions WriteOptions => new()
    {
        CompressionCodec = CompressionCodecType.Zstd,
        CompressionCodecFactory = Codecs,
        CompressionLevel = Level,
    };
}
