using MemNotebook.Recorder.Format;
using Xunit;

namespace MemNotebook.Recorder.Tests.Capture;

public class NativeZstdTests
{
    private static byte[] Payload()
    {
        var random = new Random(3);
        var bytes = new byte[300_000];
        for (var i = 0; i < bytes.Length; i++)
            bytes[i] = (byte)(i % 97 < 60 ? i % 7 : random.Next(256));
        return bytes;
    }

    [Fact]
    public void Libzstd_decompresses_what_the_managed_port_compressed_to_the_same_bytes()
    {
        Assert.True(NativeZstd.Available, "libzstd.so.1 should load on the test machines");
        var raw = Payload();
        using var compressor = new ZstdSharp.Compressor(3);
        // Two frames back to back, as a payload may hold.
        var stored = compressor.Wrap(raw.AsSpan(0, 100_000)).ToArray().Concat(compressor.Wrap(raw.AsSpan(100_000)).ToArray()).ToArray();
        using var zstd = NativeZstd.TryCreate()!;
        var output = new byte[raw.Length];
        Assert.True(zstd.TryDecompress(stored, output, out var written));
        Assert.Equal(raw.Length, written);
        Assert.Equal(raw, output);
        using var managed = new ZstdSharp.Decompressor();
        Assert.Equal(raw, managed.Unwrap(stored).ToArray());
    }

    [Fact]
    public void Libzstd_reports_a_too_small_destination_and_refuses_garbage()
    {
        var raw = Payload();
        using var compressor = new ZstdSharp.Compressor(1);
        var stored = compressor.Wrap(raw).ToArray();
        using var zstd = NativeZstd.TryCreate()!;
        Assert.False(zstd.TryDecompress(stored, new byte[raw.Length - 1], out _));
        var error = Assert.Throws<InvalidDataException>(() => zstd.TryDecompress([0x28, 0xB5, 0x2F, 0xFD, 0xFF, 0xFF, 0xFF], new byte[10], out _));
        Assert.False(string.IsNullOrEmpty(error.Message));
    }
}
