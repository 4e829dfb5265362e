using MemNotebook.Recorder.Analysis;
using MemNotebook.Recorder.Reports;
using MemNotebook.Recorder.Tests.Arrow;
using MemNotebook.Recorder.Tests.Profiler;
using MemNotebook.Recorder.Tests.Reports;
using Xunit;
using LoadedCapture = MemNotebook.Capture;

namespace MemNotebook.Recorder.Tests.Analysis;

/// <summary>
/// ScopedPass streams a scoped capture's numbers from the capture file: they must equal what the loaded capture, scoped
/// the same way by Capture.Within, gives from its tables — stats, peak and timeline — on synthetic and traced captures.
/// </summary>
public class ScopedPassTests
{
    /// <summary>The streamed summary of <paramref name="path"/> against the table-built scoped capture, field by field.</summary>
    private static ScopedSummary AssertStreamedEqualsTables(string path, Func<string, bool> frame, string scope)
    {
        var summary = ScopedPass.Compute(path, frame, scope);
        Assert.NotNull(summary);
        var scoped = LoadedCapture.Load(path).Within(frame, scope);
        Assert.Equal(StatsJson.ToJson(scoped.Stats()), StatsJson.ToJson(summary!.Stats));
        Assert.Equal((scoped.PeakBytes, scoped.PeakTimeNs, scoped.PeakIsAtEnd), (summary.Stats.PeakBytes, summary.PeakTimeNs, summary.PeakIsAtEnd));
        Assert.Equal((scoped.NativePeakBytes, scoped.NativePeakTimeNs), (summary.Stats.NativePeakBytes, summary.Stats.NativePeakTimeNs));
        Assert.Equal(scoped.DurationNs, summary.DurationNs);
        Assert.Equal(scoped.Unscoped.All.Count, summary.CaptureAllocations);
        var fromTables = TimelineReport.Data(scoped);
        var streamed = TimelineReport.Data(summary);
        Assert.Equal((fromTables.Source, fromTables.DurationMs), (streamed.Source, streamed.DurationMs));
        Assert.Equal(fromTables.Series.Select(s => (s.Key, s.Name, s.Stack)), streamed.Series.Select(s => (s.Key, s.Name, s.Stack)));
        for (var i = 0; i < fromTables.Series.Count; i++)
        {
            Assert.Equal(fromTables.Series[i].TimesMs, streamed.Series[i].TimesMs);
            Assert.Equal(fromTables.Series[i].Bytes, streamed.Series[i].Bytes);
        }
        Assert.Equal(fromTables.Gcs, streamed.Gcs);
        Assert.Equal(TimelineReport.ToJson(fromTables), TimelineReport.ToJson(streamed));
        return summary;
    }

    [Fact]
    public void The_streamed_scope_of_the_report_capture_equals_the_scoped_tables()
    {
        using var scratch = new ScratchFolder();
        var path = scratch.Write("r.memnb", ReportCaptures.Create(snapshots: true));
        var parse = AssertStreamedEqualsTables(path, f => f == "App.Parse", "under App.Parse");
        // Stack 4 (String 40, t=25) and stack 6 (Big 2000 through native_helper, t=15): both alive at GC 1 (t=100).
        Assert.Equal((2L, 2040L, 0L), (parse.Stats.TotalAllocations, parse.Stats.TotalBytes, parse.Stats.LeakedAllocations));
        Assert.Equal((2040L, 100L, false), (parse.Stats.PeakBytes, parse.PeakTimeNs, parse.PeakIsAtEnd));
        Assert.Equal(["App.Big", "System.String"], parse.Stats.ByType.Select(t => t.Type));
        Assert.Equal([("App.Load", 1L, 2000L), ("App.Parse", 1L, 40L)], parse.Stats.TopFunctions.Select(f => (f.Function, f.Count, f.Bytes)));
        Assert.Equal([2040L, 0L], parse.ScopeLiveAtSnapshots);
        Assert.Equal(7, parse.CaptureAllocations);
        // A scope no frame matches, and one holding every stack but the empty one.
        var none = AssertStreamedEqualsTables(path, f => f == "App.Nothing", "nothing");
        Assert.Equal((0L, 0L), (none.Stats.TotalAllocations, none.Stats.PeakBytes));
        var main = AssertStreamedEqualsTables(path, f => f == "App.Main", "under App.Main");
        Assert.Equal((6L, 3144L), (main.Stats.TotalAllocations, main.Stats.TotalBytes));
        // A frame named in markup is matched by its name as shown, and kept as it is (escaped by the reports).
        var markup = AssertStreamedEqualsTables(path, f => f.Contains("<script>", StringComparison.Ordinal), "markup");
        Assert.Equal((1L, 64L), (markup.Stats.TotalAllocations, markup.Stats.TotalBytes));
    }

    [Fact]
    public void The_streamed_scope_of_a_native_cell_equals_the_scoped_tables_with_its_own_native_peak()
    {
        // 1 tick = 1 ns from tick 10. Stack 1: the cell's code; 2: malloc_wrapper called by it; 3: the host, outside.
        // In the cell: managed 24 (t=1, alive), malloc 1,000 (t=10, freed at t=25), mmap 8,192 (t=15, unmapped at 35),
        // malloc 300 (t=30, alive). Outside: malloc 5,000 (t=12, alive). The cell's native peak: 9,192 at 15 ns.
        var w = new MemNotebook.Recorder.Tests.Capture.TestCaptureWriter(flags: MemNotebook.Recorder.Format.CaptureFormat.FlagNative);
        w.Chunk(0).Clock(10, 100).Type(0, 1, "System.Object")
            .StackNode(1, 0, 0x10).StackNode(2, 1, 0x20).StackNode(3, 0, 0x30)
            .Frame(0x10, 0, "Submission#1.<Initialize>", "").Frame(0x20, 1, "malloc_wrapper", "libw.so").Frame(0x30, 0, "Host.Run", "Host.dll")
            .Thread(2, 99, 1).Write();
        w.Chunk(2)
            .Alloc(11, 0, 24, 1, 0x1000)
            .NativeAlloc(20, 1, 1000, 2, 0xA000)
            .NativeAlloc(22, 1, 5000, 3, 0xB000)
            .NativeAlloc(25, 9, 8192, 2, 0x10_0000)
            .NativeFree(35, 1, 0xA000)
            .NativeAlloc(40, 1, 300, 2, 0xC000)
            .NativeFree(45, 2, 0x10_0000, 8192)
            .Write();
        w.Chunk(1).GcStart(70, 0b1, 0, 1, 24).GcEnd(75, 1).Write();
        w.Chunk(0).Clock(78, 168).End(80, 1, 0, 24).Write();
        using var scratch = new ScratchFolder();
        var path = scratch.Write("native-cell.memnb", w);
        var cell = AssertStreamedEqualsTables(path, LoadedCapture.IsSubmissionFrame, LoadedCapture.SubmissionScope);
        Assert.Equal((4L, 24L + 1000 + 8192 + 300), (cell.Stats.TotalAllocations, cell.Stats.TotalBytes));
        Assert.Equal((9192L, 15L), (cell.Stats.NativePeakBytes, cell.Stats.NativePeakTimeNs));
        Assert.Equal((24L, 60L, false), (cell.Stats.PeakBytes, cell.PeakTimeNs, cell.PeakIsAtEnd));
    }

    [Fact]
    public void The_streamed_scope_of_a_traced_script_cell_equals_the_scoped_tables()
    {
        var capture = TracedTarget.TempCapture("scoped-cell.memnb");
        var run = TracedTarget.Start("script", capture);
        Assert.True(run.ExitCode == 0, run.Stderr);
        var cell = AssertStreamedEqualsTables(capture, LoadedCapture.IsSubmissionFrame, LoadedCapture.SubmissionScope);
        // The cell's 200 iterations: byte[100] (128 bytes), int[i + 1], a StringBuilder, a List and three strings each; the
        // runtime's own work under the cell's code (an assembly name's key token, byte[8]) is in the scope as well.
        var bytes = cell.Stats.ByType.Single(t => t.Type == "System.Byte[]");
        Assert.Equal((201L, 200L * 128 + 32), (bytes.Count, bytes.Bytes));
        var ofCell = LoadedCapture.Load(capture).WithinSubmissions().All.OfType("System.Byte[]").LargerThan(100);
        Assert.Equal((200, 200L * 128), (ofCell.Count, ofCell.Bytes));
        Assert.Equal(200L, cell.Stats.ByType.Single(t => t.Type == "System.Int32[]").Count);
        Assert.Contains(cell.Stats.TopFunctions, f => f.Function == "cell 1 › Grow" && f.Count == 200);
        // The whole capture also holds Roslyn's and the runtime's own work, out of the scope.
        Assert.True(cell.CaptureAllocations > cell.Stats.TotalAllocations, $"{cell.CaptureAllocations} vs {cell.Stats.TotalAllocations}");
    }

    /// <summary>The flame graph page of a streamed selection, its time buckets counted by the totals pass or by a pass of their own.</summary>
    private static void AssertStreamedFlameGraphEqualsTables(string path)
    {
        var summary = ScopedPass.Compute(path, LoadedCapture.IsSubmissionFrame, LoadedCapture.SubmissionScope)!;
        var scoped = LoadedCapture.Load(path).WithinSubmissions();
        var memory = TimelineReport.Data(scoped);
        var fine = TimeBucketing.For(summary.DurationNs, FlameGraphPage.DefaultTimeBuckets);
        foreach (var (mode, selected) in new[] { (ReportMode.Peak, StackSelection.AliveAtPeak), (ReportMode.Allocated, StackSelection.All), (ReportMode.Leaks, StackSelection.Leaked) })
        {
            var selection = new ReportSelection(mode);
            foreach (var inverted in new[] { false, true })
            {
                var expected = FlameGraphPage.ToHtml(FlameTree.Build(selection.ViewOf(scoped), selection, inverted), "cells", memory: memory,
                    timeBuckets: FlameGraphPage.DefaultTimeBuckets);
                foreach (var maxStackCells in new[] { ScopedPass.MaxStackCells, 0 })
                {
                    var stacks = ScopedPass.SelectStacks(summary, selected, fine.Buckets, fine.BucketNs, maxStackCells: maxStackCells);
                    Assert.True(selection.ViewOf(scoped).Count == stacks.Count, $"{mode}, inverted {inverted}, cells {maxStackCells}: {selection.ViewOf(scoped).Count} selected from the tables, {stacks.Count} streamed");
                    var actual = FlameGraphPage.ToHtml(FlameTree.Build(stacks, selection, inverted), "cells", memory: memory,
                        timeBuckets: FlameGraphPage.DefaultTimeBuckets);
                    Assert.True(expected == actual, $"{mode}, inverted {inverted}, cells {maxStackCells}: the streamed page differs");
                }
            }
        }
    }

    [Fact]
    public void The_streamed_scopes_of_a_capture_of_three_cells_equal_the_scoped_tables()
    {
        var capture = TracedTarget.TempCapture("scoped-cells.memnb");
        var run = TracedTarget.Start("script-cells", capture);
        Assert.True(run.ExitCode == 0, run.Stderr);
        Assert.Equal(300 + 250 + 1000, run.Facts.GetProperty("result").GetInt32());
        var all = AssertStreamedEqualsTables(capture, LoadedCapture.IsSubmissionFrame, LoadedCapture.SubmissionScope);
        // Cell 1's 300 byte[64] (88 bytes each) and cell 3's strings are kept; cell 2's 500 arrays died in its GC.
        // (and, as in every first cell, the byte[8] key token of an assembly name the runtime makes under the cell's code).
        var bytes = all.Stats.ByType.Single(t => t.Type == "System.Byte[]");
        Assert.Equal((301L, 300L * 88 + 32, 301L), (bytes.Count, bytes.Bytes, bytes.LeakedCount));
        var ints = all.Stats.ByType.Single(t => t.Type == "System.Int32[]");
        Assert.Equal(501L, ints.Count);
        // Grow's arrays of cell 2 (1 … 500 ints) and of cell 3 (1000 ints), charged to the function of cell 2.
        Assert.Contains(all.Stats.TopFunctions, f => f.Function == "cell 2 › Grow" && f.Count == 501);
        // The peak of the cells' code: before cell 2's GC, with its arrays alive.
        Assert.False(all.PeakIsAtEnd);
        AssertStreamedFlameGraphEqualsTables(capture);
        for (var n = 1; n <= 3; n++)
        {
            var number = n;
            var one = AssertStreamedEqualsTables(capture, f => LoadedCapture.SubmissionOf(f) == number, $"cell {number}");
            Assert.True(one.Stats.TotalAllocations > 0, $"cell {number}");
        }
    }
}
