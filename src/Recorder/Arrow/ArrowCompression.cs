using System.Buffers;
using Apache.Arrow.Ipc;
using MemNotebook.Recorder.Format;

namespace MemNotebook.Recorder.Arrow;

/// <summary>
/// The buffer compression of the cached Arrow tables: each buffer of each record batch ZSTD-compressed (the IPC
/// format's BodyCompression, read by pyarrow, polars, DuckDB's arrow extension, and apache-arrow for JavaScript
/// once a ZSTD codec is registered). Every reader of our own tables passes <see cref="Codecs"/>.
/// </summary>
public static class ArrowCompression
{
    /// <summary>
    /// The codecs (ZSTD, LZ4 frame) for reading and writing compressed IPC files: ZSTD through the system's libzstd
    /// where it loads (<see cref="NativeZstd"/>; the same frames as the managed port in a third of the CPU), else
    /// Apache.Arrow.Compression's.
    /// </summary>
    public static readonly ICompressionCodecFactory Codecs = new NativeFirstCodecFactory(new Apache.Arrow.Compression.CompressionCodecFactory());

    /// <summary>
    /// ZSTD level: 1 takes 10–15% less CPU to convert than 3 (zstd's default) for an allocations table 1–4% larger
    /// (on traced captures, 7.02 bytes a row instead of 6.77 and 4.51 instead of 4.35; 6.02 and 5.98 on the bench's
    /// generated 10M capture). Readers need not know it.
    /// </summary>
    public const int Level = 1;

    /// <summary>The writer options: ZSTD buffers at <see cref="Level"/>.</summary>
    public static IpcOptions WriteOptions => new()
    {
        CompressionCodec = CompressionCodecType.Zstd,
        CompressionCodecFactory = Codecs,
        CompressionLevel = Level,
    };

    /// <summary>ZSTD by libzstd when it loads; everything else (and ZSTD without it) by <paramref name="fallback"/>.</summary>
    private sealed class NativeFirstCodecFactory(ICompressionCodecFactory fallback) : ICompressionCodecFactory
    {
        public ICompressionCodec CreateCodec(CompressionCodecType type) => CreateCodec(type, null);

        public ICompressionCodec CreateCodec(CompressionCodecType type, int? compressionLevel) =>
            type == CompressionCodecType.Zstd && NativeZstd.TryCreate() is { } zstd
                ? new NativeZstdCodec(zstd, compressionLevel ?? Level)
                : fallback.CreateCodec(type, compressionLevel);
    }

    /// <summary>One ZSTD frame per buffer, as Apache.Arrow.Compression writes and reads them; one thread at a time (a codec per reader or writer).</summary>
    private sealed class NativeZstdCodec(NativeZstd zstd, int level) : ITryCompressionCodec
    {
        public int Decompress(ReadOnlyMemory<byte> source, Memory<byte> destination) =>
            zstd.TryDecompress(source.Span, destination.Span, out var written)
                ? written
                : throw new InvalidDataException($"a ZSTD-compressed Arrow buffer holds more than the {destination.Length} bytes its header gives");

        public bool TryCompress(ReadOnlyMemory<byte> source, Memory<byte> destination, out int bytesWritten) =>
            zstd.TryCompress(source.Span, destination.Span, level, out bytesWritten);

        public void Compress(ReadOnlyMemory<byte> source, Stream destination)
        {
            var buffer = ArrayPool<byte>.Shared.Rent(NativeZstd.CompressBound(source.Length));
            try
            {
                if (!zstd.TryCompress(source.Span, buffer, level, out var written))
                    throw new InvalidOperationException($"libzstd could not compress a {source.Length}-byte Arrow buffer into its bound of {buffer.Length} bytes");
                destination.Write(buffer, 0, written);
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }
        }

        public void Dispose() => zstd.Dispose();
    }
}
