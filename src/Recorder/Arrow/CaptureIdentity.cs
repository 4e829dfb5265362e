using System.Security.Cryptography;
using System.Text.Json.Serialization;

namespace MemNotebook.Recorder.Arrow;

/// <summary>
/// Which capture file an Arrow folder was made from: its size, its modification time and a SHA-256 of its first
/// and last 64 KiB (the header, the END record and the chunks before it). A cached folder is used only for the
/// capture whose identity it records: a stale one, or one someone else put there, is rebuilt.
/// </summary>
public sealed record CaptureIdentity(
    [property: JsonPropertyName("size")] long Size,
    [property: JsonPropertyName("modified_ns")] long ModifiedNs,
    [property: JsonPropertyName("head_tail_sha256")] string HeadTailSha256)
{
    private const int Span = 64 * 1024;

    public static CaptureIdentity Of(string capturePath)
    {
        using var file = new FileStream(capturePath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 1);
        var size = file.Length;
        var modified = File.GetLastWriteTimeUtc(capturePath);
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var buffer = new byte[Span];
        sha.AppendData(BitConverter.GetBytes(size));
        Append(file, 0, (int)Math.Min(size, Span), buffer, sha);
        var tail = Math.Max(Math.Min(size, Span), size - Span);
        Append(file, tail, (int)(size - tail), buffer, sha);
        return new CaptureIdentity(size, (modified - DateTime.UnixEpoch).Ticks * 100, System.Convert.ToHexString(sha.GetHashAndReset()));
    }

    private static void Append(FileStream file, long offset, int count, byte[] buffer, IncrementalHash sha)
    {
        file.Position = offset;
        file.ReadExactly(buffer, 0, count);
        sha.AppendData(buffer, 0, count);
    }
}
