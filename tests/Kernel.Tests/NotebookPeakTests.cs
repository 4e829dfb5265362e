using MemNotebook.Recorder.Tests.Native;

namespace MemNotebook.Kernel.Tests;

/// <summary>
/// A capture with native allocations shows its two peaks under a cell, each saying what it counts, with the numbers
/// of <c>memnb stats</c> (NativePeakCapture: managed peak 24 bytes, native peak 12,345 bytes at 20 ns).
/// </summary>
public sealed class NotebookPeakTests
{
    [Fact]
    public void The_stats_block_and_the_capture_show_the_managed_and_the_native_peak_of_a_native_capture()
    {
        var folder = Directory.CreateTempSubdirectory("memnb-native-peak-").FullName;
        try
        {
            var path = Path.Combine(folder, "native.memnb");
            File.WriteAllBytes(path, NativePeakCapture.Create().ToArray());
            var capture = Capture.Load(path);
            var stats = NotebookRenderer.StatsHtml(capture);
            Assert.Contains(">managed peak</th><td style=\"text-align:left\">24 B (24 bytes): managed objects alive at a GC start or at the end; native blocks not included<", stats);
            Assert.Contains(">native peak</th><td style=\"text-align:left\">12.1 KiB (12,345 bytes) at 20 ns: native blocks alive at once: malloc &amp; co. at the size asked for, mmap regions at their length<", stats);
            Assert.DoesNotContain("peak alive", stats);
            var summary = NotebookRenderer.CaptureHtml(capture);
            Assert.Contains(">native peak</th><td style=\"text-align:left\">12.1 KiB (12,345 bytes) at 20 ns<", summary);
            Assert.Contains(">managed peak</th>", summary);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }
}
