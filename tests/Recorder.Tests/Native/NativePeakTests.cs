using System.Text.Json;
using MemNotebook.Recorder.Analysis;
using MemNotebook.Recorder.Reports;
using MemNotebook.Recorder.Tests.Cli;
using Xunit;

namespace MemNotebook.Recorder.Tests.Native;

// The native high-water mark of NativePeakCapture (12,345 bytes at 20 ns, worked out by hand there), through
// every path that computes it and every output that shows it.
public class NativePeakTests : IDisposable
{
    private readonly CliHarness cli = new();

    public void Dispose() => cli.Dispose();

    [Fact]
    public void Native_peak_is_the_most_native_bytes_alive_at_once_in_time_order_across_threads_whichever_path_computes_it()
    {
        var path = cli.File("native.memnb", NativePeakCapture.Create().ToArray());
        var twoPass = CaptureStats.Compute(path);
        using var stream = File.OpenRead(path);
        var onePass = CaptureStats.Compute(stream, path);
        var capture = MemNotebook.Capture.Load(path);
        var fromTables = capture.Stats();
        foreach (var stats in new[] { twoPass, onePass, fromTables })
        {
            Assert.True(stats.Native);
            Assert.Equal(NativePeakCapture.NativePeakBytes, stats.NativePeakBytes);
            Assert.Equal(NativePeakCapture.NativePeakTimeNs, stats.NativePeakTimeNs);
            Assert.Equal(NativePeakCapture.ManagedPeakBytes, stats.PeakBytes);
            Assert.Equal(3, stats.LeakedAllocations);
            Assert.Equal(5_724, stats.LeakedBytes);
        }
        Assert.True(capture.HasNative);
        Assert.Equal(NativePeakCapture.NativePeakBytes, capture.NativePeakBytes);
        Assert.Equal(NativePeakCapture.NativePeakTimeNs, capture.NativePeakTimeNs);
        Assert.Equal(NativePeakCapture.ManagedPeakBytes, capture.PeakBytes);
        Assert.Equal(60, capture.PeakTimeNs);
        Assert.Contains("managed peak 24 B, native peak 12.1 KiB", capture.ToString());
        // The Arrow folder gives the same (a second Load reads the cached tables).
        Assert.Equal(NativePeakCapture.NativePeakBytes, MemNotebook.Capture.Load(capture.ArrowFolder).NativePeakBytes);
    }

    [Fact]
    public void Stats_text_and_json_say_what_each_peak_counts_with_the_native_peak_beside_the_managed_one()
    {
        var path = cli.File("native.memnb", NativePeakCapture.Create().ToArray());
        var text = CliHarness.Run("stats", path);
        Assert.Equal(0, text.ExitCode);
        Assert.Contains("\nManaged peak  24 B (24 bytes): managed objects alive at a GC start or at the end; native blocks not included\n", text.Out);
        Assert.Contains("\nNative peak   12.1 KiB (12,345 bytes) at 20 ns: native blocks alive at once: malloc & co. at the size asked for, "
            + "mmap regions at their length\n", text.Out);
        Assert.DoesNotContain("\nPeak ", text.Out);

        var result = CliHarness.Run("stats", "--json", path);
        Assert.Equal(0, result.ExitCode);
        using var json = JsonDocument.Parse(result.Out);
        var root = json.RootElement;
        Assert.True(root.GetProperty("native").GetBoolean());
        Assert.Equal(NativePeakCapture.NativePeakBytes, root.GetProperty("native_peak_bytes").GetInt64());
        Assert.Equal(NativePeakCapture.NativePeakTimeNs, root.GetProperty("native_peak_time_ns").GetInt64());
        Assert.Equal(NativePeakCapture.ManagedPeakBytes, root.GetProperty("peak_bytes").GetInt64());
    }

    [Fact]
    public void Summary_of_the_peak_names_the_managed_peak_and_shows_the_native_one()
    {
        var path = cli.File("native.memnb", NativePeakCapture.Create().ToArray());
        var result = CliHarness.Run("summary", path);
        Assert.Equal(0, result.ExitCode);
        // At the managed peak (the GC start at 60 ns) the object, E and F were alive (D was freed at 50 ns).
        Assert.StartsWith("Functions, alive at the managed peak: 5.6 KiB in 3 allocations\n"
            + "Managed peak: 24 B (24 bytes) at 60 ns: managed objects alive at a GC start or at the end; native blocks not included\n"
            + "Native peak: 12.1 KiB (12,345 bytes) at 20 ns: native blocks alive at once: malloc & co. at the size asked for, mmap regions at their length\n\n",
            result.Out);
        var html = CliHarness.Run("summary", "-o", cli.PathOf("summary.html"), path);
        Assert.Equal(0, html.ExitCode);
        Assert.Contains("Native peak: 12.1 KiB (12,345 bytes) at 20 ns", File.ReadAllText(cli.PathOf("summary.html")));
        var stats = ReportHtml.Stats(StatsReport.Build(MemNotebook.Capture.Load(path), 10), path);
        Assert.Contains("<span title=\"12345 bytes\">12.1 KiB</span> at 20 ns", stats);
    }

    [Fact]
    public void Without_END_the_managed_peak_counts_managed_objects_only()
    {
        var path = cli.File("killed.memnb", NativePeakCapture.Create(withEnd: false).ToArray());
        using var stream = File.OpenRead(path);
        foreach (var stats in new[] { CaptureStats.Compute(path), CaptureStats.Compute(stream, path), MemNotebook.Capture.Load(path).Stats() })
        {
            Assert.False(stats.Complete);
            Assert.Equal(NativePeakCapture.ManagedPeakBytes, stats.PeakBytes);
            Assert.Equal(NativePeakCapture.NativePeakBytes, stats.NativePeakBytes);
        }
    }

    [Fact]
    public void A_capture_without_native_allocations_has_one_peak_and_no_native_fields()
    {
        var path = cli.File("managed.memnb", Capture.StatsCapture.Create().ToArray());
        var text = CliHarness.Run("stats", path);
        Assert.Contains("\nPeak         5.1 KiB\n", text.Out);
        Assert.DoesNotContain("Native peak", text.Out);
        using var json = JsonDocument.Parse(CliHarness.Run("stats", "--json", path).Out);
        Assert.False(json.RootElement.TryGetProperty("native_peak_bytes", out _));
        Assert.False(json.RootElement.TryGetProperty("native", out _));
        var capture = MemNotebook.Capture.Load(path);
        Assert.False(capture.HasNative);
        Assert.Equal(0, capture.NativePeakBytes);
        Assert.StartsWith("Functions, alive at the peak: ", CliHarness.Run("summary", path).Out);
    }

    [Fact]
    public void A_traced_native_block_kept_alive_is_within_the_native_peak_and_not_the_managed_one()
    {
        var path = Profiler.TracedTarget.TempCapture("native-peak.memnb");
        var run = NativeTarget.Start("native-peak", path);
        var block = run.Facts.GetProperty("block").GetInt64();
        var capture = MemNotebook.Capture.Load(path);
        Assert.True(capture.HasNative);
        Assert.True(capture.NativePeakBytes >= block, $"native peak {capture.NativePeakBytes} < {block}");
        Assert.True(capture.PeakBytes < block, $"managed peak {capture.PeakBytes}");
        // The streaming stats reader finds the same peak as the tables.
        var streamed = CaptureStats.Compute(path);
        Assert.Equal(capture.NativePeakBytes, streamed.NativePeakBytes);
        Assert.Equal(capture.NativePeakTimeNs, streamed.NativePeakTimeNs);
        var text = CliHarness.Run("stats", path).Out;
        Assert.Contains($"\nManaged peak  {PeakWording.Exact(capture.PeakBytes)}: managed objects alive at a GC start or at the end; native blocks not included\n", text);
        Assert.Contains($"\nNative peak   {PeakWording.Native(capture.NativePeakBytes, capture.NativePeakTimeNs)}: native blocks alive at once", text);
        using var json = JsonDocument.Parse(CliHarness.Run("stats", "--json", path).Out);
        Assert.Equal(capture.NativePeakBytes, json.RootElement.GetProperty("native_peak_bytes").GetInt64());
    }

    [Fact]
    public void Releases_count_before_allocations_at_the_same_time()
    {
        var finder = new NativePeakFinder();
        finder.Allocated(10, 100);
        finder.Released(20, 100);
        finder.Allocated(20, 60);
        finder.Allocated(30, 50);
        Assert.Equal(new NativePeak(110, 30), finder.Find());
    }
}
