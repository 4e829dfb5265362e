using System.Globalization;

namespace MemNotebook.Recorder.Analysis;

/// <summary>
/// How every report names the two peaks of a capture recorded with native allocations, so that the CLI, the
/// HTML pages and the notebook say the same thing. A capture without native allocations keeps its one "peak".
/// </summary>
public static class PeakWording
{
    public const string ManagedLabel = "Managed peak";
    public const string ManagedMeaning = "managed objects alive at a GC start or at the end; native blocks not included";
    public const string NativeLabel = "Native peak";
    public const string NativeMeaning = "native blocks alive at once: malloc & co. at the size asked for, mmap regions at their length";

    /// <summary>"30.3 MiB (31,772,672 bytes)".</summary>
    public static string Exact(long bytes) =>
        $"{ByteUnits.Format(bytes)} ({bytes.ToString("#,0", CultureInfo.InvariantCulture)} bytes)";

    /// <summary>"12.1 KiB (12,345 bytes) at 4.0 ms", or that no native block was alive.</summary>
    public static string Native(long bytes, long timeNs) =>
        bytes == 0 ? "0 bytes (no native block was alive)" : $"{Exact(bytes)} at {TimeUnits.Format(timeNs)}";
}
