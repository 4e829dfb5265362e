using MemNotebook.Recorder.Analysis;
using MemNotebook.Recorder.Arrow;
using MemNotebook.Recorder.Format;
using MemNotebook.Recorder.Tests.Capture;
using MemNotebook.Recorder.Tests.Cli;
using Microsoft.Data.Analysis;
using Xunit;
using LoadedCapture = MemNotebook.Capture;

namespace MemNotebook.Recorder.Tests.Arrow;

/// <summary>Captures whose live bytes are consistent, so every view has one right answer (1 tick = 1 ns).</summary>
internal static class ViewCaptures
{
    /// <summary>
    /// Thread 2: a Big (1000 B, in Load) and a Small (10, in Parse) at t=10,20; GC 1 starts at 100 with
    /// 1010 live and frees Small; a Small (10, Parse) at 200; GC 2 starts at 300 with 1010 live and frees
    /// Big; a Small (10, Parse) at 400. End at 1000 with 20 live. Peak: 1010 at t=100 (the first).
    /// </summary>
    public static TestCaptureWriter Peaks()
    {
        var w = Meta();
        w.Chunk(2).Alloc(10, 0, 1000, 1, 0x1000).Alloc(20, 1, 10, 2, 0x2000).Write();
        w.Chunk(1).GcStart(100, 1, 0, 1, 1010).GcEnd(110, 1).Free(2, 1).Write();
        w.Chunk(2).Alloc(200, 1, 10, 2, 0x3000).Write();
        w.Chunk(1).GcStart(300, 4, 0, 2, 1010).GcEnd(310, 2).Free(2, 0).Write();
        w.Chunk(2).Alloc(400, 1, 10, 2, 0x4000).Write();
        w.Chunk(0).Clock(1000, 1000).End(1000, 4, 2, 20).Write();
        return w;
    }

    /// <summary>
    /// Temporary semantics on two threads. Thread 2: s0 (alive), s1, s2, s3 at t=10..30; thread 3: u0 at
    /// 15. GC 1 (end 50) frees s1 (two other allocations on its thread after it: s2, s3), s3 (none after)
    /// and u0 (none after on thread 3, though s1..s3 of thread 2 came after it). s2 dies in GC 2
    /// (end 90) after s4 at 60: two others after it (s3, s4).
    /// </summary>
    public static TestCaptureWriter Temporaries()
    {
        var w = Meta();
        w.Chunk(2).Alloc(10, 1, 8, 2, 0x100).Alloc(20, 1, 8, 2, 0x200).Alloc(25, 1, 8, 2, 0x300).Alloc(30, 1, 8, 2, 0x400).Write();
        w.Chunk(3).Alloc(15, 1, 16, 1, 0x900).Write();
        w.Chunk(1).GcStart(40, 1, 0, 1, 48).GcEnd(50, 1).Free(2, 1, 3).Free(3, 0).Write();
        w.Chunk(2).Alloc(60, 1, 8, 2, 0x500).Write();
        w.Chunk(1).GcStart(80, 1, 0, 2, 24).GcEnd(90, 2).Free(2, 2).Write();
        w.Chunk(0).Clock(1000, 1000).End(1000, 6, 4, 16).Write();
        return w;
    }

    /// <summary>A workload: <paramref name="bigs"/> Big (1000 B) from Load, <paramref name="smalls"/> Small (10 B) from Parse.</summary>
    public static TestCaptureWriter Workload(int bigs, int smalls)
    {
        var w = Meta();
        var chunk = w.Chunk(2);
        ulong t = 10, address = 0x1000;
        for (var i = 0; i < bigs; i++, t += 10, address += 0x1000)
            chunk.Alloc(t, 0, 1000, 1, address);
        for (var i = 0; i < smalls; i++, t += 10, address += 0x1000)
            chunk.Alloc(t, 1, 10, 2, address);
        chunk.Write();
        w.Chunk(0).Clock(t + 10, t + 10).End(t + 10, (ulong)(bigs + smalls), 0, (ulong)(bigs * 1000 + smalls * 10)).Write();
        return w;
    }

    private static TestCaptureWriter Meta()
    {
        var w = new TestCaptureWriter();
        w.Chunk(0).Clock(0, 0).Type(0, 1, "App.Big").Type(1, 2, "App.Small")
            .StackNode(1, 0, 0x10).StackNode(2, 1, 0x20)
            .Frame(0x10, 0, "App.Load").Frame(0x20, 0, "App.Parse")
            .Thread(2, 100, 1).Thread(3, 101, 2).ThreadName(101, "worker").Write();
        return w;
    }
}

public class CaptureViewTests
{
    private static LoadedCapture Load(ScratchFolder scratch, TestCaptureWriter w, string name = "c.memnb") =>
        LoadedCapture.Load(scratch.Write(name, w));

    private static object?[] Column(DataFrame frame, string name) => frame[name].Cast<object?>().ToArray();

    [Fact]
    public void Peak_is_the_first_gc_start_with_the_most_live_bytes_and_holds_exactly_what_was_alive_then()
    {
        using var scratch = new ScratchFolder();
        var capture = Load(scratch, ViewCaptures.Peaks());
        Assert.Equal(1010, capture.PeakBytes);
        Assert.Equal(100, capture.PeakTimeNs);
        Assert.False(capture.PeakIsAtEnd);
        var peak = capture.Peak();
        Assert.Equal(new[] { 0, 1 }, peak.Rows);
        Assert.Equal(1010, peak.Bytes);
        // The one line of the README.
        var top = capture.Peak().TopFunctions(1);
        Assert.Equal(new object?[] { "App.Load" }, Column(top, "function"));
        Assert.Equal(new object?[] { 1000L }, Column(top, "bytes"));
        Assert.Equal(new object?[] { "App.Big", "App.Small" }, Column(peak.TopTypes(), "type"));
    }

    [Fact]
    public void When_live_bytes_are_highest_at_the_end_the_peak_is_the_leaks()
    {
        using var scratch = new ScratchFolder();
        var capture = Load(scratch, ViewCaptures.Workload(2, 3));
        Assert.True(capture.PeakIsAtEnd);
        Assert.Equal(2030, capture.PeakBytes);
        Assert.Equal(capture.Leaks().Rows, capture.Peak().Rows);
        Assert.Equal(5, capture.Peak().Count);
    }

    [Fact]
    public void Leaks_are_exactly_the_objects_never_freed()
    {
        using var scratch = new ScratchFolder();
        var capture = Load(scratch, ViewCaptures.Peaks());
        Assert.Equal(new[] { 2, 3 }, capture.Leaks().Rows);
        Assert.Equal(20, capture.Leaks().Bytes);
        Assert.Equal(capture.Metadata.EndLiveBytes, capture.Leaks().Bytes);
        Assert.Equal(new object?[] { 2L, 3L }, Column(capture.Leaks().Allocations, "id"));
    }

    [Fact]
    public void Temporary_counts_other_allocations_of_the_same_thread_before_the_object_died()
    {
        using var scratch = new ScratchFolder();
        var capture = Load(scratch, ViewCaptures.Temporaries());
        // Rows: 0 s0, 1 s1, 2 s2, 3 s3 (thread 2), 4 u0 (thread 3), 5 s4 (thread 2).
        Assert.Equal(new[] { 3, 4 }, capture.Temporary().Rows);
        Assert.Equal(new[] { 3, 4 }, capture.Temporary(threshold: 2).Rows);
        Assert.Equal(new[] { 1, 2, 3, 4 }, capture.Temporary(threshold: 3).Rows);
        Assert.Equal(new[] { 1, 2, 3, 4 }, capture.Temporary(threshold: 100).Rows);
        Assert.Throws<ArgumentOutOfRangeException>(() => capture.Temporary(0));
    }

    [Fact]
    public void Between_takes_allocations_from_its_start_inclusive_to_its_end_exclusive()
    {
        using var scratch = new ScratchFolder();
        var capture = Load(scratch, ViewCaptures.Peaks());
        Assert.Equal(new[] { 0, 1 }, capture.Between(10, 200).Rows);
        Assert.Equal(new[] { 1, 2 }, capture.Between(11, 201).Rows);
        Assert.Empty(capture.Between(21, 200).Rows);
        Assert.Equal(new[] { 0, 1, 2, 3 }, capture.Between(long.MinValue, long.MaxValue).Rows);
        // Views compose: of what was allocated before the first GC, Small died and Big lived on until GC 2.
        Assert.Empty(capture.Between(0, 100).Leaks().Rows);
        Assert.Equal(new[] { 0 }, capture.Between(0, 100).AliveAt(200).Rows);
    }

    [Fact]
    public void Diff_of_two_known_workloads_is_the_growth_by_function_and_type()
    {
        using var scratch = new ScratchFolder();
        var before = Load(scratch, ViewCaptures.Workload(2, 5), "before.memnb");
        var after = Load(scratch, ViewCaptures.Workload(3, 1), "after.memnb");
        var diff = before.Diff(after);
        Assert.Equal(new object?[] { "App.Load", "App.Parse" }, Column(diff, "function"));
        Assert.Equal(new object?[] { "App.Big", "App.Small" }, Column(diff, "type"));
        Assert.Equal(new object?[] { 2L, 5L }, Column(diff, "count_before"));
        Assert.Equal(new object?[] { 2000L, 50L }, Column(diff, "bytes_before"));
        Assert.Equal(new object?[] { 3L, 1L }, Column(diff, "count_after"));
        Assert.Equal(new object?[] { 3000L, 10L }, Column(diff, "bytes_after"));
        Assert.Equal(new object?[] { 1L, -4L }, Column(diff, "count_delta"));
        Assert.Equal(new object?[] { 1000L, -40L }, Column(diff, "bytes_delta"));
        Assert.Equal(0, before.Diff(before).Rows.Count);
    }

    [Fact]
    public void Rankings_by_count_inclusive_functions_threads_and_size_buckets()
    {
        using var scratch = new ScratchFolder();
        var capture = Load(scratch, ViewCaptures.Temporaries());
        var byCount = capture.TopFunctions(5, Measure.Count);
        Assert.Equal(new object?[] { "App.Parse", "App.Load" }, Column(byCount, "function"));
        Assert.Equal(new object?[] { 5L, 1L }, Column(byCount, "count"));
        // Parse is called from Load: inclusively Load has every allocation.
        var inclusive = capture.TopFunctions(5, Measure.Bytes, Attribution.Inclusive);
        Assert.Equal(new object?[] { "App.Load", "App.Parse" }, Column(inclusive, "function"));
        Assert.Equal(new object?[] { 56L, 40L }, Column(inclusive, "bytes"));
        var threads = capture.ByThread();
        Assert.Equal(new object?[] { 2, 3 }, Column(threads, "thread_stream"));
        Assert.Equal(new object?[] { 100L, 101L }, Column(threads, "os_thread_id"));
        Assert.Equal(new object?[] { null, "worker" }, Column(threads, "name"));
        Assert.Equal(new object?[] { 40L, 16L }, Column(threads, "bytes"));
        var sizes = capture.SizeHistogram();
        Assert.Equal(new object?[] { 8L, 16L }, Column(sizes, "min_size"));
        Assert.Equal(new object?[] { 15L, 31L }, Column(sizes, "max_size"));
        Assert.Equal(new object?[] { 5L, 1L }, Column(sizes, "count"));
    }

    [Fact]
    public void Stats_dataframes_and_memnb_stats_json_agree_on_synthetic_captures()
    {
        using var scratch = new ScratchFolder();
        foreach (var (name, writer) in new[] { ("stats", StatsCapture.Create()), ("noend", StatsCapture.Create(withEnd: false)),
                     ("small", Captures.Small()), ("peaks", ViewCaptures.Peaks()), ("big", BigCapture.Create()) })
        {
            var path = scratch.Write(name + ".memnb", writer);
            AssertAgree(path);
        }
    }

    /// <summary>The streaming stats, the stats computed from the DataFrames and <c>memnb stats --json</c> are the same JSON.</summary>
    internal static void AssertAgree(string path)
    {
        var streamed = StatsJson.ToJson(CaptureStats.Compute(path));
        var capture = LoadedCapture.Load(path);
        var fromTables = StatsJson.ToJson(capture.Stats());
        Assert.Equal(streamed, fromTables);
        var cli = CliHarness.Run("stats", "--json", path);
        Assert.Equal(0, cli.ExitCode);
        Assert.Equal(streamed, cli.Out.TrimEnd('\n'));
        // And the DataFrames themselves: totals from the allocations table.
        var stats = CaptureStats.Compute(path);
        var sizes = (Int64DataFrameColumn)capture.Allocations["size"];
        Assert.Equal(stats.TotalBytes, sizes.Sum());
        Assert.Equal(stats.LeakedAllocations, capture.Allocations["freed_at_ns"].NullCount);
    }

    [Fact]
    public void A_converted_capture_is_reused_until_the_capture_changes()
    {
        using var scratch = new ScratchFolder();
        var path = scratch.Write("c.memnb", ViewCaptures.Peaks());
        var first = ArrowConverter.EnsureConverted(path);
        Assert.False(first.FromCache);
        Assert.Equal(path + ".arrow", first.Folder);
        Assert.True(ArrowConverter.EnsureConverted(path).FromCache);
        File.WriteAllBytes(path, ViewCaptures.Workload(1, 1).ToArray());
        File.SetLastWriteTimeUtc(path, DateTime.UtcNow.AddSeconds(5));
        var rebuilt = ArrowConverter.EnsureConverted(path);
        Assert.False(rebuilt.FromCache);
        Assert.Equal(2, LoadedCapture.Load(path).All.Count);
        Assert.Equal(2, LoadedCapture.Load(rebuilt.Folder).All.Count);
    }

    [Fact]
    public void Conversion_reports_progress_up_to_one()
    {
        using var scratch = new ScratchFolder();
        var path = scratch.Write("big.memnb", BigCapture.Create());
        var reports = new List<double>();
        ArrowConverter.Convert(path, Path.Combine(scratch.Root, "out"), new SynchronousProgress(reports.Add));
        Assert.True(reports.Count > 2);
        Assert.Equal(reports.Order(), reports);
        Assert.Equal(1.0, reports[^1]);
    }

    private sealed class SynchronousProgress(Action<double> report) : IProgress<double>
    {
        public void Report(double value) => report(value);
    }

    [Fact]
    public void A_corrupt_capture_fails_with_an_error_naming_the_file()
    {
        using var scratch = new ScratchFolder();
        var bytes = ViewCaptures.Peaks().ToArray();
        bytes[40] ^= 0xFF; // inside the first chunk header
        var path = scratch.Write("corrupt.memnb", bytes);
        var error = Assert.Throws<CaptureFormatException>(() => LoadedCapture.Load(path));
        Assert.Contains("corrupt.memnb", error.Message);
        Assert.False(Directory.Exists(path + ".arrow"));
        var missing = Assert.Throws<FileNotFoundException>(() => LoadedCapture.Load(Path.Combine(scratch.Root, "none.memnb")));
        Assert.Contains("none.memnb", missing.Message);
    }

    [Fact]
    public void A_truncated_capture_loads_what_it_holds_and_says_so()
    {
        using var scratch = new ScratchFolder();
        var writer = ViewCaptures.Peaks();
        var bytes = writer.ToArray();
        // Cut inside the last chunk (the END), after the last allocation chunk.
        var cut = bytes.AsSpan(0, (int)writer.Boundaries[^1] - 3).ToArray();
        var capture = LoadedCapture.Load(scratch.Write("cut.memnb", cut));
        Assert.True(capture.Truncated);
        Assert.False(capture.Complete);
        Assert.Equal(4, capture.All.Count);
        Assert.Equal(CaptureStats.Compute(Path.Combine(scratch.Root, "cut.memnb")).PeakBytes, capture.PeakBytes);
    }

    [Fact]
    public void A_damaged_arrow_folder_fails_with_an_error_naming_the_table_file()
    {
        using var scratch = new ScratchFolder();
        var folder = ArrowConverter.Convert(scratch.Write("c.memnb", ViewCaptures.Peaks()), Path.Combine(scratch.Root, "out")).Folder;
        var table = ArrowLayout.TablePath(folder, ArrowLayout.Allocations);
        var bytes = File.ReadAllBytes(table);
        File.WriteAllBytes(table, bytes.AsSpan(0, bytes.Length / 2).ToArray());
        var error = Assert.Throws<InvalidDataException>(() => LoadedCapture.Load(folder));
        Assert.Contains("allocations.arrow", error.Message);
        File.Delete(table);
        error = Assert.Throws<InvalidDataException>(() => LoadedCapture.Load(folder));
        Assert.Contains("allocations.arrow", error.Message);
        File.Delete(Path.Combine(folder, ArrowLayout.MetadataFile));
        error = Assert.Throws<InvalidDataException>(() => LoadedCapture.Load(folder));
        Assert.Contains(folder, error.Message);
    }
}
