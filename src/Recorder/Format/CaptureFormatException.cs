namespace MemNotebook.Recorder.Format;

/// <summary>
/// A capture file that breaks the format (docs/capture-format.md). <see cref="Offset"/> is the file
/// offset of the chunk (or header field) at fault; <see cref="Tag"/> the record tag when one was being read.
/// </summary>
public sealed class CaptureFormatException : Exception
{
    public CaptureFormatException(string path, long offset, string problem, byte? tag = null, Exception? inner = null)
        : base(Compose(path, offset, problem, tag), inner)
    {
        Path = path;
        Offset = offset;
        Problem = problem;
        Tag = tag;
    }

    /// <summary>The capture's path as the caller named it.</summary>
    public string Path { get; }

    /// <summary>File offset of the chunk or header field that is wrong.</summary>
    public long Offset { get; }

    /// <summary>What was wrong, without the path and offset.</summary>
    public string Problem { get; }

    /// <summary>The tag of the record being decoded, if any.</summary>
    public byte? Tag { get; }

    /// <summary>
    /// Found by a read that skipped the thread chunks (a first pass): a FREE beyond what they can hold. A full
    /// read fails at that FREE at the latest, with the exact count of allocations in its message.
    /// </summary>
    internal bool BeyondSkippedChunks { get; init; }

    private static string Compose(string path, long offset, string problem, byte? tag)
    {
        // "capture.memnb: truncated chunk at offset 4096: payload needs 812 bytes, 20 remain"
        var split = problem.IndexOf(": ", StringComparison.Ordinal);
        var head = split < 0 ? problem : problem[..split];
        var detail = split < 0 ? null : problem[(split + 2)..];
        var record = tag is byte t ? $" in {CaptureFormat.TagName(t)} record (tag 0x{t:X2})" : "";
        return detail is null
            ? $"{path}: {head} at offset {offset}{record}"
            : $"{path}: {head} at offset {offset}{record}: {detail}";
    }
}
