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
        // The flame graph's totals from the stats pass select native blocks by their times as the tables do: at the peak
        // (60 ns) the object and malloc 300 are alive, malloc 1,000 and the mmap region were released before it.
        var stacks = AssertGatheredFlameGraphEqualsTables(path, LoadedCapture.IsSubmissionFrame, LoadedCapture.SubmissionScope);
        Assert.Equal((2L, 24L + 300), (stacks[StackSelection.AliveAtPeak].Count, stacks[StackSelection.AliveAtPeak].Bytes.Sum()));
        Assert.Equal((2L, 24L + 300), (stacks[StackSelection.Leaked].Count, stacks[StackSelection.Leaked].Bytes.Sum()));
        Assert.Equal(4L, stacks[StackSelection.All].Count);
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

    /// <summary>
    /// The flame graph of each selection with its totals gathered by the stats pass (<see cref="ScopedFlame"/>): no pass of
    /// their own, the same totals per stack as the pass of their own gives, and the page the tables give.
    /// </summary>
    /// <returns>Per selection, the streamed totals.</returns>
    private static Dictionary<StackSelection, SelectedStacks> AssertGatheredFlameGraphEqualsTables(string path, Func<string, bool> frame, string scope,
        long? maxCells = null)
    {
        var scoped = LoadedCapture.Load(path).Within(frame, scope);
        var memory = TimelineReport.Data(scoped);
        var result = new Dictionary<StackSelection, SelectedStacks>();
        foreach (var (mode, selected) in new[] { (ReportMode.Peak, StackSelection.AliveAtPeak), (ReportMode.Allocated, StackSelection.All), (ReportMode.Leaks, StackSelection.Leaked) })
        {
            var summary = ScopedPass.Compute(path, frame, scope, flame: new ScopedFlame(selected, FlameGraphPage.DefaultTimeBuckets))!;
            var fine = TimeBucketing.For(summary.DurationNs, FlameGraphPage.DefaultTimeBuckets);
            var gathered = ScopedPass.SelectStacks(summary, selected, fine.Buckets, fine.BucketNs);
            var ownPass = ScopedPass.SelectStacks(summary, selected, fine.Buckets, fine.BucketNs, fromStatsPass: false);
            Assert.True(gathered.FromStatsPass, $"{mode}: not gathered by the stats pass");
            Assert.False(ownPass.FromStatsPass);
            Assert.Equal(ownPass.Description, gathered.Description);
            Assert.Equal(ownPass.Counts, gathered.Counts);
            Assert.Equal(ownPass.Bytes, gathered.Bytes);
            var selection = new ReportSelection(mode);
            Assert.Equal(selection.ViewOf(scoped).Count, gathered.Count);
            foreach (var inverted in new[] { false, true })
            {
                var expected = FlameGraphPage.ToHtml(FlameTree.Build(selection.ViewOf(scoped), selection, inverted), "cells", memory: memory,
                    timeBuckets: FlameGraphPage.DefaultTimeBuckets);
                var actual = FlameGraphPage.ToHtml(FlameTree.Build(gathered, selection, inverted), "cells", memory: memory,
                    timeBuckets: FlameGraphPage.DefaultTimeBuckets);
                Assert.True(expected == actual, $"{mode}, inverted {inverted}: the page from the stats pass's totals differs");
            }
            result[selected] = gathered;
        }
        return result;
    }

    /// <summary>The totals per stack of <paramref name="stacks"/> by the innermost frame's name (one stack per frame here).</summary>
    private static (string Frame, long Count, long Bytes)[] ByFrame(SelectedStacks stacks, params (int Stack, string Frame)[] names) =>
        names.Select(n => (n.Frame, stacks.Counts[n.Stack], stacks.Bytes[n.Stack])).Where(t => t.Item2 != 0).ToArray();

    /// <summary>
    /// 1 tick = 1 ns. Stack 1: the cell's code; 2 … 6: Cell.A … Cell.E called by it; 7: the host, outside the cell.
    /// Stream 2: A 100 @10 (kept), B 200 @20 (dies in GC 1), host 5,000 @25 (kept), C 40 @30 (dies in GC 2).
    /// Stream 3, in a chunk after GC 1's although before it in time: E 300 @50 (kept); then E 60 @120 (kept), C 500 @130
    /// (dies in GC 2). Stream 2: A 70 @140 (kept). GC 2 starts at 200. Then A 10 @250 (kept), D 80 @260 (dies in GC 3),
    /// and after GC 3 (300) A 5 @400 (kept). The cell's live bytes: GC 1 (100) 640, GC 2 (200) 1,070, GC 3 (300) 620,
    /// end 545: the peak is GC 2's start. E changes after GC 1 (a peak until GC 2) and not after GC 2; A and D change after
    /// GC 2. Cell.A alone: 100, 170, 180, end 185: its peak is the end.
    /// </summary>
    private static MemNotebook.Recorder.Tests.Capture.TestCaptureWriter PeakBeforeTheEnd()
    {
        var w = new MemNotebook.Recorder.Tests.Capture.TestCaptureWriter();
        w.Chunk(0).Clock(0, 0).Type(0, 1, "App.Thing")
            .StackNode(1, 0, 0x10).StackNode(2, 1, 0x20).StackNode(3, 1, 0x30).StackNode(4, 1, 0x40).StackNode(5, 1, 0x50)
            .StackNode(6, 1, 0x60).StackNode(7, 0, 0x70)
            .Frame(0x10, 0, "Submission#1.<Initialize>", "").Frame(0x20, 0, "Cell.A", "").Frame(0x30, 0, "Cell.B", "")
            .Frame(0x40, 0, "Cell.C", "").Frame(0x50, 0, "Cell.D", "").Frame(0x60, 0, "Cell.E", "").Frame(0x70, 0, "Host.Run", "Host.dll")
            .Thread(2, 100, 1).Thread(3, 101, 2).Write();
        w.Chunk(2).Alloc(10, 0, 100, 2, 0x1000).Alloc(20, 0, 200, 3, 0x2000).Alloc(25, 0, 5000, 7, 0x3000).Alloc(30, 0, 40, 4, 0x5000).Write();
        w.Chunk(1).GcStart(100, 1, 0, 1, 5640).GcEnd(110, 1).Free(2, 1).Write();
        w.Chunk(3).Alloc(50, 0, 300, 6, 0x10000).Alloc(120, 0, 60, 6, 0x11000).Alloc(130, 0, 500, 4, 0x12000).Write();
        w.Chunk(2).Alloc(140, 0, 70, 2, 0x6000).Write();
        w.Chunk(1).GcStart(200, 1, 0, 2, 6070).GcEnd(210, 2).Free(2, 3).Free(3, 2).Write();
        w.Chunk(2).Alloc(250, 0, 10, 2, 0x7000).Alloc(260, 0, 80, 5, 0x8000).Write();
        w.Chunk(1).GcStart(300, 1, 0, 3, 5620).GcEnd(310, 3).Free(2, 6).Write();
        w.Chunk(2).Alloc(400, 0, 5, 2, 0x9000).Write();
        w.Chunk(0).Clock(1000, 1000).End(1000, 11, 4, 5545).Write();
        return w;
    }

    private static readonly (int Stack, string Frame)[] CellFunctions = [(2, "A"), (3, "B"), (4, "C"), (5, "D"), (6, "E"), (7, "host")];

    [Fact]
    public void The_stats_pass_gathers_the_totals_of_a_peak_before_the_end_whatever_the_chunk_order()
    {
        using var scratch = new ScratchFolder();
        var path = scratch.Write("peak-before-end.memnb", PeakBeforeTheEnd());
        var summary = AssertStreamedEqualsTables(path, LoadedCapture.IsSubmissionFrame, LoadedCapture.SubmissionScope);
        Assert.Equal((1070L, 200L, false), (summary.Stats.PeakBytes, summary.PeakTimeNs, summary.PeakIsAtEnd));
        var stacks = AssertGatheredFlameGraphEqualsTables(path, LoadedCapture.IsSubmissionFrame, LoadedCapture.SubmissionScope);
        Assert.Equal([("A", 2L, 170L), ("C", 2L, 540L), ("E", 2L, 360L)], ByFrame(stacks[StackSelection.AliveAtPeak], CellFunctions));
        Assert.Equal([("A", 4L, 185L), ("E", 2L, 360L)], ByFrame(stacks[StackSelection.Leaked], CellFunctions));
        Assert.Equal([("A", 4L, 185L), ("B", 1L, 200L), ("C", 2L, 540L), ("D", 1L, 80L), ("E", 2L, 360L)], ByFrame(stacks[StackSelection.All], CellFunctions));
        Assert.Equal($"{LoadedCapture.SubmissionScope}, alive at the peak (200 ns)", stacks[StackSelection.AliveAtPeak].Description);
        // With END, the duration is known before the allocations: the time buckets come with the totals, the peak's too
        // (its GC start a candidate).
        Assert.True(stacks[StackSelection.All].HasStackBuckets);
        Assert.True(stacks[StackSelection.Leaked].HasStackBuckets);
        Assert.True(stacks[StackSelection.AliveAtPeak].HasStackBuckets);
    }

    [Fact]
    public void A_pruned_streamed_flame_graph_charges_each_stack_to_the_node_the_tables_charge_it_to()
    {
        // The tree of streamed totals keeps, per stack, the node its path ends at, through the pruning (a removed frame's
        // allocations go to the "[N smaller frames]" node under its nearest kept caller), instead of walking each path
        // again for the time buckets: the pages at every size the pruning can leave equal the table-built ones.
        using var scratch = new ScratchFolder();
        var path = scratch.Write("peak-before-end.memnb", PeakBeforeTheEnd());
        var scoped = LoadedCapture.Load(path).WithinSubmissions();
        var memory = TimelineReport.Data(scoped);
        foreach (var (mode, selected) in new[] { (ReportMode.Peak, StackSelection.AliveAtPeak), (ReportMode.Allocated, StackSelection.All), (ReportMode.Leaks, StackSelection.Leaked) })
        {
            var summary = ScopedPass.Compute(path, LoadedCapture.IsSubmissionFrame, LoadedCapture.SubmissionScope,
                flame: new ScopedFlame(selected, FlameGraphPage.DefaultTimeBuckets))!;
            var fine = TimeBucketing.For(summary.DurationNs, FlameGraphPage.DefaultTimeBuckets);
            var selection = new ReportSelection(mode);
            foreach (var inverted in new[] { false, true })
            {
                var streamed = FlameTree.Build(ScopedPass.SelectStacks(summary, selected, fine.Buckets, fine.BucketNs), selection, inverted);
                var fromTables = FlameTree.Build(selection.ViewOf(scoped), selection, inverted);
                Assert.Equal(fromTables.NodeCount, streamed.NodeCount);
                var merged = 0;
                for (var maxNodes = 2; maxNodes <= streamed.NodeCount; maxNodes++)
                {
                    var pruned = streamed.Prune(maxNodes, keepTime: false);
                    merged = Math.Max(merged, pruned.MergedFrames);
                    // Every stack with selected allocations is charged to a node of the pruned tree, and the owners' own
                    // allocations are all the tree's.
                    var owners = pruned.OwnerOfStack!.Where(o => o is not null).Distinct().ToList();
                    Assert.Equal(pruned.Count, owners.Sum(o => o!.OwnCount));
                    var expected = FlameGraphPage.ToHtml(fromTables, "cells", maxNodes, memory, FlameGraphPage.DefaultTimeBuckets);
                    var actual = FlameGraphPage.ToHtml(streamed, "cells", maxNodes, memory, FlameGraphPage.DefaultTimeBuckets);
                    Assert.True(expected == actual, $"{mode}, inverted {inverted}, at most {maxNodes} nodes: the streamed page differs");
                }
                Assert.True(merged > 0, $"{mode}, inverted {inverted}: no pruning merged a frame");
            }
        }
    }

    /// <summary>
    /// 1 tick = 1 ns, no GC. Stack nodes (frame): 1 Host.Run; 2 Submission#1.&lt;Initialize&gt; (an entry stub) under 1; 3 Cell.A
    /// under 2; 4 Cell.A at another address under 2; 5 and 6 Cell.B (one address) under 3 and 4; 7 Host.Main; 8 Host.Other
    /// under 7; 9 Cell.A under 8; 10 Host.Helper under 5; 11 Cell.C under 10; 12 Submission#1.&lt;Factory&gt; (an entry stub)
    /// under 3; 13 Cell.D under 12. One allocation on each of 3 … 13 but 7 and 8 (stack n: n bytes; 12 twice), 10 ns apart.
    /// </summary>
    private static MemNotebook.Recorder.Tests.Capture.TestCaptureWriter SharedPaths()
    {
        var w = new MemNotebook.Recorder.Tests.Capture.TestCaptureWriter();
        w.Chunk(0).Clock(0, 0).Type(0, 1, "App.Thing")
            .StackNode(1, 0, 0x70).StackNode(2, 1, 0x10).StackNode(3, 2, 0x20).StackNode(4, 2, 0x21).StackNode(5, 3, 0x30)
            .StackNode(6, 4, 0x30).StackNode(7, 0, 0x80).StackNode(8, 7, 0x90).StackNode(9, 8, 0x20).StackNode(10, 5, 0xA0)
            .StackNode(11, 10, 0x40).StackNode(12, 3, 0x11).StackNode(13, 12, 0x50)
            .Frame(0x70, 0, "Host.Run", "Host.dll").Frame(0x10, 0, "Submission#1.<Initialize>", "").Frame(0x11, 0, "Submission#1.<Factory>", "")
            .Frame(0x20, 0, "Cell.A", "").Frame(0x21, 0, "Cell.A", "").Frame(0x30, 0, "Cell.B", "").Frame(0x40, 0, "Cell.C", "")
            .Frame(0x50, 0, "Cell.D", "").Frame(0x80, 0, "Host.Main", "Host.dll").Frame(0x90, 0, "Host.Other", "Host.dll")
            .Frame(0xA0, 0, "Host.Helper", "Host.dll")
            .Thread(2, 100, 1).Write();
        var chunk = w.Chunk(2);
        ulong address = 0x1000, ticks = 0;
        foreach (var stack in new[] { 13, 12, 11, 10, 9, 6, 5, 4, 3, 12 })
        {
            chunk.Alloc(ticks += 10, 0, (ulong)stack, stack, address);
            address += 0x100;
        }
        chunk.Write();
        w.Chunk(0).Clock(1000, 1000).End(1000, 10, 0, 103).Write();
        return w;
    }

    [Fact]
    public void A_streamed_tree_makes_each_stack_nodes_path_once_and_equals_the_tree_of_every_stacks_own_path()
    {
        // The tree of streamed totals is made per stack node, not per stack: stack nodes whose paths are the same (another
        // address of a function, a caller outside the scope that the path is cut at) share its nodes, an entry stub is left
        // out of the paths through it and kept at the end of its own, and the scope's outermost frame starts the path.
        using var scratch = new ScratchFolder();
        var path = scratch.Write("shared-paths.memnb", SharedPaths());
        static bool InCell(string frame) => frame.StartsWith("Cell.", StringComparison.Ordinal);
        var scoped = LoadedCapture.Load(path).Within(InCell, "cells");
        var memory = TimelineReport.Data(scoped);
        var summary = ScopedPass.Compute(path, InCell, "cells", flame: new ScopedFlame(StackSelection.All, FlameGraphPage.DefaultTimeBuckets))!;
        var fine = TimeBucketing.For(summary.DurationNs, FlameGraphPage.DefaultTimeBuckets);
        var stacks = ScopedPass.SelectStacks(summary, StackSelection.All, fine.Buckets, fine.BucketNs);
        var selection = new ReportSelection(ReportMode.Allocated);
        var tree = FlameTree.Build(stacks, selection);
        static IEnumerable<string> Paths(FlameNode node, string above) =>
            node.Children.SelectMany(c => Paths(c, $"{above}/{c.Name}"))
                .Prepend($"{above} {node.Count} {node.TotalBytes} {node.OwnBytes}");
        Assert.Equal([
            " 10 85 0",
            "/Cell.A 10 85 16",
            "/Cell.A/Cell.B 4 32 11",
            "/Cell.A/Cell.B/Host.Helper 2 21 10",
            "/Cell.A/Cell.B/Host.Helper/Cell.C 1 11 11",
            "/Cell.A/cell 1 › Factory 2 24 24",
            "/Cell.A/Cell.D 1 13 13",
        ], Paths(tree.Root, ""));
        foreach (var inverted in new[] { false, true })
        {
            var streamed = FlameTree.Build(stacks, selection, inverted);
            var fromTables = FlameTree.Build(selection.ViewOf(scoped), selection, inverted);
            Assert.Equal(fromTables.NodeCount, streamed.NodeCount);
            Assert.Equal(FlameJson.ToJson(fromTables), FlameJson.ToJson(streamed));
            for (var maxNodes = 2; maxNodes <= streamed.NodeCount; maxNodes++)
            {
                var expected = FlameGraphPage.ToHtml(fromTables, "cells", maxNodes, memory, FlameGraphPage.DefaultTimeBuckets);
                var actual = FlameGraphPage.ToHtml(streamed, "cells", maxNodes, memory, FlameGraphPage.DefaultTimeBuckets);
                Assert.True(expected == actual, $"inverted {inverted}, at most {maxNodes} nodes: the streamed page differs");
                // The time buckets widened alike from the streamed (bucket-major) table and the tables' (owner-major) one.
                foreach (var maxEntries in new[] { long.MaxValue, 5, 2, 1 })
                {
                    var fromRows = FlameJson.ToJson(fromTables.Prune(maxNodes).WithTimeBuckets(FlameGraphPage.DefaultTimeBuckets, maxEntries));
                    Assert.Equal(fromRows, FlameJson.ToJson(streamed.Prune(maxNodes).WithTimeBuckets(FlameGraphPage.DefaultTimeBuckets, maxEntries)));
                    Assert.Equal(fromRows, FlameJson.ToJson(streamed.Prune(maxNodes).WithTimeBuckets(FlameGraphPage.DefaultTimeBuckets, maxEntries, maxDenseCells: 0)));
                }
            }
        }
    }

    [Fact]
    public void The_stats_pass_gathers_the_peak_totals_at_the_end_as_the_leaks_and_at_the_first_of_equal_gc_starts()
    {
        using var scratch = new ScratchFolder();
        var path = scratch.Write("peak-before-end.memnb", PeakBeforeTheEnd());
        var a = AssertGatheredFlameGraphEqualsTables(path, f => f == "Cell.A", "Cell.A");
        Assert.Equal([("A", 4L, 185L)], ByFrame(a[StackSelection.AliveAtPeak], CellFunctions));
        Assert.Equal("Cell.A, leaked (alive at the end)", a[StackSelection.AliveAtPeak].Description);
        Assert.True(a[StackSelection.AliveAtPeak].HasStackBuckets);
        // The report capture under App.Load: Big 1000 (stack 3, kept) and Big 2000 (stack 6, freed in GC 2): 3,000 bytes
        // alive at both GC starts, the peak the first (100 ns), both objects in it.
        var report = scratch.Write("r.memnb", ReportCaptures.Create());
        var load = AssertGatheredFlameGraphEqualsTables(report, f => f == "App.Load", "under App.Load");
        Assert.Equal([(3, 1L, 1000L), (6, 1L, 2000L)], new[] { 3, 6 }.Select(s => (s, load[StackSelection.AliveAtPeak].Counts[s], load[StackSelection.AliveAtPeak].Bytes[s])));
        Assert.Equal("under App.Load, alive at the peak (100 ns)", load[StackSelection.AliveAtPeak].Description);
        Assert.Equal(1, load[StackSelection.Leaked].Count);
    }

    [Fact]
    public void Past_their_cell_budget_the_rows_are_dropped_and_the_selection_takes_its_own_pass()
    {
        // (The leaks' rows of buckets and the peak's share 8 cells: 4 each.)
        var totals = new ScopedStackTotals(stacks: 8, gcStarts: 2, peakRows: true, StackSelection.Leaked, buckets: 2, bucketNs: 20, maxCells: 8, maxPeakCells: 4);
        // Two stacks' rows of two GC starts fit in 4 cells, a third does not. Stack 1 is never freed, stack 2 dies after GC start 0.
        totals.Add(1, 10, -1, 8, 0, 0);
        totals.Add(2, 10, 150, 8, 0, 1);
        Assert.True(totals.HasPeakRows);
        Assert.Equal([0L, 1, 1, 0, 0, 0, 0, 0], totals.AliveAt(0)!.Value.Counts);
        Assert.Equal([0L, 8, 8, 0, 0, 0, 0, 0], totals.AliveAt(0)!.Value.Bytes);
        Assert.Equal([0L, 1, 0, 0, 0, 0, 0, 0], totals.AliveAt(1)!.Value.Counts);
        Assert.Equal([0L, 8, 0, 0, 0, 0, 0, 0], totals.AliveAt(1)!.Value.Bytes);
        totals.Add(3, 10, -1, 8, 0, 0);
        Assert.False(totals.HasPeakRows);
        Assert.Null(totals.AliveAt(0));
        // The leaks of stacks 1 and 3 are kept in rows of 2 buckets; a third leaking stack does not fit.
        Assert.Equal([-1, 0, -1, 1, -1, -1, -1, -1], totals.BucketsOf(StackSelection.Leaked, 2, 20)!.Value.RowOfStack);
        Assert.Null(totals.BucketsOf(StackSelection.Leaked, 2, 10));
        totals.Add(4, 35, -1, 8, 0, 0);
        Assert.Null(totals.BucketsOf(StackSelection.Leaked, 2, 20));
        Assert.Equal([0L, 1, 0, 1, 1, 0, 0, 0], totals.Leaked.Counts);
        // Only the selection asked for (and the leaks) come from the stats pass: all is read from the capture again.
        using var scratch = new ScratchFolder();
        var path = scratch.Write("r.memnb", ReportCaptures.Create());
        var summary = ScopedPass.Compute(path, f => f == "App.Load", "under App.Load", flame: new ScopedFlame(StackSelection.AliveAtPeak, 256))!;
        Assert.True(ScopedPass.SelectStacks(summary, StackSelection.AliveAtPeak, 256, 4).FromStatsPass);
        Assert.True(ScopedPass.SelectStacks(summary, StackSelection.Leaked, 256, 4).FromStatsPass);
        Assert.False(ScopedPass.SelectStacks(summary, StackSelection.All, 256, 4).FromStatsPass);
    }

    [Fact]
    public void The_peak_candidates_are_the_gc_starts_with_the_most_live_bytes_and_only_they_are_counted()
    {
        // Seven GC starts, the third at the second's time (never a bin of its own): the two highest of the other six, the
        // earlier of equals; two distinct GC starts are both candidates.
        Assert.Equal([1, 4], ScopedStackTotals.Candidates([10, 20, 20, 30, 40, 50, 60], [5, 9, 9, 1, 9, 7, 8]));
        Assert.Equal([5, 6], ScopedStackTotals.Candidates([10, 20, 20, 30, 40, 50, 60], [5, 9, 9, 1, 2, 10, 11]));
        Assert.Equal([0, 1], ScopedStackTotals.Candidates([10, 20, 20], [5, 9, 9]));
        // Candidates 1 and 3 of five GC starts: an object from bin 0 dying in bin 2 is alive at candidate 1 only; one
        // allocated in bin 2 and kept, at candidate 3 only; one allocated and dead between them (bins 2 → 3), at none.
        // With two time buckets of 100 ns, each candidate's buckets too: the first object in bucket 0 at candidate 1, the
        // second in bucket 1 at candidate 3.
        var totals = new ScopedStackTotals(stacks: 4, gcStarts: 5, peakRows: true, null, buckets: 2, bucketNs: 100, candidates: [1, 3]);
        totals.Add(1, 5, 150, 10, 0, 2);
        totals.Add(2, 150, -1, 20, 2, 0);
        totals.Add(3, 150, 250, 40, 2, 3);
        Assert.Equal([0L, 10, 0, 0], totals.AliveAt(1)!.Value.Bytes);
        Assert.Equal([0L, 0, 20, 0], totals.AliveAt(3)!.Value.Bytes);
        Assert.Null(totals.AliveAt(2));
        var atFirst = totals.BucketsOf(StackSelection.AliveAtPeak, 2, 100, gcStart: 1)!.Value;
        Assert.Equal([-1, 0, 1, -1], atFirst.RowOfStack);
        Assert.Equal([1L, 0, 0, 0], atFirst.Counts);
        Assert.Equal([10L, 0, 0, 0], atFirst.Bytes);
        var atSecond = totals.BucketsOf(StackSelection.AliveAtPeak, 2, 100, gcStart: 3)!.Value;
        Assert.Equal([0L, 0, 0, 1], atSecond.Counts);
        Assert.Equal([0L, 0, 0, 20], atSecond.Bytes);
        Assert.Null(totals.BucketsOf(StackSelection.AliveAtPeak, 2, 100, gcStart: 2));
        Assert.Null(totals.BucketsOf(StackSelection.AliveAtPeak, 4, 100, gcStart: 1));
        Assert.Throws<ArgumentException>(() => new ScopedStackTotals(4, 5, true, null, 0, 0, candidates: [3, 1]));
        Assert.Throws<ArgumentException>(() => new ScopedStackTotals(4, 5, true, null, 0, 0, candidates: [0, 1, 2]));
    }

    [Fact]
    public void A_scope_peak_that_is_not_a_candidate_takes_a_pass_of_its_own_with_the_same_totals()
    {
        // 1 tick = 1 ns. GC k (1 … 5) starts at 100 k and ends 10 ns later. Before GC 1 the cell's code allocates 1,000
        // bytes that GC 1 frees; before each later GC, 10 bytes that the next GC frees. The host (outside the cell) keeps
        // 10,000 × k bytes allocated before GC k: the whole capture's two highest GC starts are 4 and 5, the cell's peak is
        // GC 1's start, not one of them.
        var w = new MemNotebook.Recorder.Tests.Capture.TestCaptureWriter();
        w.Chunk(0).Clock(0, 0).Type(0, 1, "App.Thing")
            .StackNode(1, 0, 0x10).StackNode(2, 1, 0x20).StackNode(3, 0, 0x70)
            .Frame(0x10, 0, "Submission#1.<Initialize>", "").Frame(0x20, 0, "Cell.A", "").Frame(0x70, 0, "Host.Run", "Host.dll")
            .Thread(2, 100, 1).Write();
        ulong sequence = 0, address = 0x1000, hostLive = 0;
        for (var k = 1UL; k <= 5; k++)
        {
            var cellBytes = k == 1 ? 1000UL : 10;
            w.Chunk(2).Alloc(100 * k - 50, 0, cellBytes, 2, address).Alloc(100 * k - 40, 0, 10_000 * k, 3, address + 0x1000).Write();
            address += 0x10_0000;
            hostLive += 10_000 * k;
            w.Chunk(1).GcStart(100 * k, 1, 0, k, hostLive + cellBytes).GcEnd(100 * k + 10, k).Free(2, sequence).Write();
            sequence += 2;
        }
        w.Chunk(0).Clock(1000, 1000).End(1000, 10, 5, hostLive).Write();
        using var scratch = new ScratchFolder();
        var path = scratch.Write("peak-not-candidate.memnb", w);
        var summary = AssertStreamedEqualsTables(path, LoadedCapture.IsSubmissionFrame, LoadedCapture.SubmissionScope);
        Assert.Equal((1000L, 100L, false), (summary.Stats.PeakBytes, summary.PeakTimeNs, summary.PeakIsAtEnd));
        var gathered = ScopedPass.Compute(path, LoadedCapture.IsSubmissionFrame, LoadedCapture.SubmissionScope,
            flame: new ScopedFlame(StackSelection.AliveAtPeak, FlameGraphPage.DefaultTimeBuckets))!;
        var fine = TimeBucketing.For(gathered.DurationNs, FlameGraphPage.DefaultTimeBuckets);
        var stacks = ScopedPass.SelectStacks(gathered, StackSelection.AliveAtPeak, fine.Buckets, fine.BucketNs);
        Assert.False(stacks.FromStatsPass);
        Assert.Equal((1, 1000L), (stacks.Count, stacks.Bytes[2]));
        // Scoped to the host instead (its peak is GC 5's start, a candidate), the stats pass gives it.
        var host = ScopedPass.Compute(path, f => f == "Host.Run", "host", flame: new ScopedFlame(StackSelection.AliveAtPeak, FlameGraphPage.DefaultTimeBuckets))!;
        var hostStacks = ScopedPass.SelectStacks(host, StackSelection.AliveAtPeak, fine.Buckets, fine.BucketNs);
        Assert.True(hostStacks.FromStatsPass);
        Assert.Equal((5, 150_000L), (hostStacks.Count, hostStacks.Bytes[3]));
        AssertGatheredFlameGraphEqualsTables(path, f => f == "Host.Run", "host");
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
        // Grow's arrays of cell 2 (1 … 500 ints) and of cell 3 (1000 ints), charged to the function of cell 2.
        Assert.Contains(all.Stats.TopFunctions, f => f.Function == "cell 2 › Grow" && f.Count == 501);
        // The cells' code makes no other Int32[]. The runtime may make one of its own while a cell's entry stub <Factory>
        // runs (a table of its own growing: a 48 KiB array charged to `cell 1 › Factory` under load); the cells' code never
        // runs in that stub (it runs in <Initialize>'s state machine), so such arrays are told apart by their frame.
        var functions = LoadedCapture.Load(capture).WithinSubmissions().All.ByFunctionAndType();
        var intFunctions = Enumerable.Range(0, (int)functions.Rows.Count)
            .Where(r => (string)functions["type"][r] == "System.Int32[]")
            .Select(r => ((string)functions["function"][r], (long)functions["count"][r]))
            .ToArray();
        Assert.Contains(("cell 2 › Grow", 501L), intFunctions);
        var runtimes = intFunctions.Where(f => f.Item1 != "cell 2 › Grow").ToArray();
        Assert.All(runtimes, f => Assert.Matches(@"^cell \d+ › Factory$", f.Item1));
        Assert.Equal(501L + runtimes.Sum(f => f.Item2), ints.Count);
        // The peak of the cells' code: before cell 2's GC, with its arrays alive.
        Assert.False(all.PeakIsAtEnd);
        AssertStreamedFlameGraphEqualsTables(capture);
        // The same from the totals the stats pass gathers, the peak's included (a GC start, not the end).
        var gathered = AssertGatheredFlameGraphEqualsTables(capture, LoadedCapture.IsSubmissionFrame, LoadedCapture.SubmissionScope);
        Assert.StartsWith($"{LoadedCapture.SubmissionScope}, alive at the peak (", gathered[StackSelection.AliveAtPeak].Description);
        for (var n = 1; n <= 3; n++)
        {
            var number = n;
            var one = AssertStreamedEqualsTables(capture, f => LoadedCapture.SubmissionOf(f) == number, $"cell {number}");
            Assert.True(one.Stats.TotalAllocations > 0, $"cell {number}");
        }
    }
}
