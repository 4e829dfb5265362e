using System.Text.Json;
using MemNotebook.Recorder.Reports;
using MemNotebook.Recorder.Tests.Aggregated;
using MemNotebook.Recorder.Tests.Arrow;
using Xunit;
using LoadedCapture = MemNotebook.Capture;

namespace MemNotebook.Recorder.Tests.Reports;

public class FlameTreeTests
{
    private static (string Name, FlameNodeKind Kind, long Total, long Own, long Count)[] Flatten(FlameNode node, string indent = "")
    {
        var rows = new List<(string, FlameNodeKind, long, long, long)> { (indent + node.Name, node.Kind, node.TotalBytes, node.OwnBytes, node.Count) };
        foreach (var child in node.Children)
            rows.AddRange(Flatten(child, indent + "  "));
        return rows.ToArray();
    }

    private static LoadedCapture Load(ScratchFolder scratch) => LoadedCapture.Load(scratch.Write("r.memnb", ReportCaptures.Create()));

    [Fact]
    public void Peak_tree_holds_every_path_alive_at_the_peak_with_total_and_own_bytes()
    {
        using var scratch = new ScratchFolder();
        var tree = FlameTree.Build(Load(scratch), ReportSelection.Peak);
        Assert.Equal(new (string, FlameNodeKind, long, long, long)[]
        {
            ("all", FlameNodeKind.Root, 3136, 0, 6),
            ("  App.Main", FlameNodeKind.Managed, 3128, 24, 5),
            ("    App.Parse", FlameNodeKind.Managed, 2040, 40, 2),
            ("      native_helper", FlameNodeKind.Native, 2000, 0, 1),
            ("        App.Load", FlameNodeKind.Managed, 2000, 2000, 1),
            ("    " + ReportCaptures.LambdaShown, FlameNodeKind.Managed, 1064, 0, 2),
            ("      App.Load", FlameNodeKind.Managed, 1000, 1000, 1),
            ("      " + ReportCaptures.MarkupMethod, FlameNodeKind.Managed, 64, 64, 1),
            ("  [no stack]", FlameNodeKind.Unknown, 8, 8, 1),
        }, Flatten(tree.Root));
        Assert.Equal("alive at the peak", tree.Description);
    }

    [Theory]
    [InlineData(ReportMode.Peak, 1, 3136, 6)]
    [InlineData(ReportMode.Allocated, 1, 3152, 7)]
    [InlineData(ReportMode.Leaks, 1, 1088, 4)]
    [InlineData(ReportMode.Temporary, 1, 24, 1)]
    [InlineData(ReportMode.Temporary, 2, 64, 2)]
    public void Tree_totals_equal_the_bytes_and_count_of_the_view_in_every_mode(ReportMode mode, int threshold, long bytes, int count)
    {
        using var scratch = new ScratchFolder();
        var capture = Load(scratch);
        var selection = new ReportSelection(mode, threshold);
        var view = selection.ViewOf(capture);
        Assert.Equal((bytes, count), (view.Bytes, view.Count));
        foreach (var (inverted, split) in new[] { (false, false), (true, false), (false, true), (true, true) })
        {
            var tree = FlameTree.Build(capture, selection, inverted, split);
            Assert.Equal((bytes, (long)count), (tree.TotalBytes, tree.Count));
            Assert.Equal(bytes, tree.Root.Children.Sum(c => c.TotalBytes));
            // Every byte is some node's own bytes exactly once.
            Assert.Equal(bytes, Flatten(tree.Root).Sum(n => n.Own));
        }
    }

    [Theory]
    [InlineData(ReportMode.Allocated, 8248, 9)]
    [InlineData(ReportMode.Peak, 7118, 0)]
    [InlineData(ReportMode.Leaks, 118, 4)]
    public void Tree_and_summary_of_the_aggregated_workload_add_up_to_its_known_numbers(ReportMode mode, long bytes, int count)
    {
        using var scratch = new ScratchFolder();
        var capture = LoadedCapture.Load(scratch.Write("w.memnb", AggregatedWorkload.Create(aggregated: false)));
        var selection = new ReportSelection(mode);
        var tree = FlameTree.Build(capture, selection);
        Assert.Equal(bytes, tree.TotalBytes);
        if (count > 0)
            Assert.Equal(count, tree.Count);
        var summary = SummaryReport.Build(capture, selection, int.MaxValue);
        Assert.Equal(bytes, summary.Rows.Sum(r => r.OwnBytes));
        // Own bytes are the attribution of the stats and the aggregates table.
        var measure = mode switch { ReportMode.Peak => "peak_bytes", ReportMode.Leaks => "leaked_bytes", _ => "bytes" };
        var aggregates = capture.Aggregates;
        var expected = new Dictionary<string, long>();
        for (long i = 0; i < aggregates.Rows.Count; i++)
        {
            var function = (string)aggregates["function"][i];
            expected[function] = expected.GetValueOrDefault(function) + (long)aggregates[measure][i];
        }
        Assert.Equal(expected.Where(kv => kv.Value > 0).OrderBy(kv => kv.Key, StringComparer.Ordinal),
            summary.Rows.Where(r => r.OwnBytes > 0).Select(r => KeyValuePair.Create(r.Function, r.OwnBytes)).OrderBy(kv => kv.Key, StringComparer.Ordinal));
    }

    [Fact]
    public void Inverted_tree_puts_allocating_frames_on_top_and_their_callers_below()
    {
        using var scratch = new ScratchFolder();
        var tree = FlameTree.Build(Load(scratch), ReportSelection.Peak, inverted: true);
        Assert.Equal(new (string, FlameNodeKind, long, long, long)[]
        {
            ("all", FlameNodeKind.Root, 3136, 0, 6),
            ("  App.Load", FlameNodeKind.Managed, 3000, 0, 2),
            ("    native_helper", FlameNodeKind.Native, 2000, 0, 1),
            ("      App.Parse", FlameNodeKind.Managed, 2000, 0, 1),
            ("        App.Main", FlameNodeKind.Managed, 2000, 2000, 1),
            ("    " + ReportCaptures.LambdaShown, FlameNodeKind.Managed, 1000, 0, 1),
            ("      App.Main", FlameNodeKind.Managed, 1000, 1000, 1),
            ("  " + ReportCaptures.MarkupMethod, FlameNodeKind.Managed, 64, 0, 1),
            ("    " + ReportCaptures.LambdaShown, FlameNodeKind.Managed, 64, 0, 1),
            ("      App.Main", FlameNodeKind.Managed, 64, 64, 1),
            ("  App.Parse", FlameNodeKind.Managed, 40, 0, 1),
            ("    App.Main", FlameNodeKind.Managed, 40, 40, 1),
            ("  App.Main", FlameNodeKind.Managed, 24, 24, 1),
            ("  [no stack]", FlameNodeKind.Unknown, 8, 8, 1),
        }, Flatten(tree.Root));
    }

    [Fact]
    public void Split_tree_has_one_subtree_per_thread_biggest_first()
    {
        using var scratch = new ScratchFolder();
        var tree = FlameTree.Build(Load(scratch), new ReportSelection(ReportMode.Allocated), splitThreads: true);
        var threads = tree.Root.Children.Select(c => (c.Name, c.Kind, c.TotalBytes, c.Count)).ToArray();
        Assert.Equal(new[]
        {
            ("thread 101", FlameNodeKind.Thread, 2048L, 3L),
            ("thread 100 (main)", FlameNodeKind.Thread, 1104L, 4L),
        }, threads);
        var main = tree.Root.Child("thread 100 (main)")!.Child("App.Main")!;
        Assert.Equal((1104, 40), (main.TotalBytes, main.OwnBytes));
        Assert.Equal([ReportCaptures.LambdaShown], main.Children.Select(c => c.Name));
        Assert.Equal(["App.Main", "[no stack]"], tree.Root.Child("thread 101")!.Children.Select(c => c.Name));
    }

    [Fact]
    public void Json_escapes_every_name_for_a_script_block_and_round_trips_the_numbers()
    {
        using var scratch = new ScratchFolder();
        var tree = FlameTree.Build(Load(scratch), ReportSelection.Peak);
        var json = FlameJson.ToJson(tree);
        foreach (var unsafeText in new[] { "<", ">", "&", "</script", "<!--", "\u2028", "\u2029", "'" })
            Assert.DoesNotContain(unsafeText, json);
        Assert.Contains(@"\u003C/script\u003E\u003Cscript\u003Ealert(1)\u003C/script\u003E.Run\u003C!--\u2028\u2029--\u003E", json);
        Assert.Contains(@"lambda in App.Program.Main", json);

        using var parsed = JsonDocument.Parse(json);
        var root = parsed.RootElement;
        Assert.Equal("peak", root.GetProperty("mode").GetString());
        Assert.Equal(3136, root.GetProperty("total_bytes").GetInt64());
        var main = root.GetProperty("root").GetProperty("children")[0];
        Assert.Equal(("App.Main", "managed", 3128L, 24L, 5L),
            (main.GetProperty("name").GetString(), main.GetProperty("kind").GetString(), main.GetProperty("total").GetInt64(),
                main.GetProperty("own").GetInt64(), main.GetProperty("count").GetInt64()));
        var lambda = main.GetProperty("children")[1];
        Assert.Equal(ReportCaptures.LambdaShown, lambda.GetProperty("name").GetString());
        Assert.Equal(ReportCaptures.MarkupMethod, lambda.GetProperty("children")[1].GetProperty("name").GetString());
        Assert.False(lambda.GetProperty("children")[1].TryGetProperty("children", out _));
    }

    [Fact]
    public void Json_holds_the_deepest_stack_a_capture_can_record_split_by_thread()
    {
        var w = new MemNotebook.Recorder.Tests.Capture.TestCaptureWriter();
        var meta = w.Chunk(0).Clock(0, 0).Type(0, 1, "App.Node").Thread(2, 100, 1);
        var depth = MemNotebook.Recorder.Format.CaptureFormat.MaxStackDepth;
        for (var id = 1; id <= depth; id++)
            meta.StackNode((ulong)id, (ulong)id - 1, 0x1000 + (ulong)id).Frame(0x1000 + (ulong)id, 0, $"App.Recurse{id}");
        meta.Write();
        w.Chunk(2).Alloc(10, 0, 24, depth, 0x100).Write();
        w.Chunk(0).Clock(100, 100).End(100, 1, 0, 24).Write();
        using var scratch = new ScratchFolder();
        var tree = FlameTree.Build(LoadedCapture.Load(scratch.Write("deep.memnb", w)), new ReportSelection(ReportMode.Allocated), splitThreads: true);
        using var parsed = JsonDocument.Parse(FlameJson.ToJson(tree), new JsonDocumentOptions { MaxDepth = 4 * depth });
        var node = parsed.RootElement.GetProperty("root").GetProperty("children")[0];
        Assert.Equal("thread 100", node.GetProperty("name").GetString());
        var frames = 0;
        while (node.TryGetProperty("children", out var children))
        {
            node = children[0];
            frames++;
            Assert.Equal(24, node.GetProperty("total").GetInt64());
        }
        Assert.Equal(depth, frames);
        Assert.Equal(($"App.Recurse{depth}", 24L), (node.GetProperty("name").GetString(), node.GetProperty("own").GetInt64()));
    }

    [Fact]
    public void Json_of_a_temporary_tree_names_its_threshold()
    {
        using var scratch = new ScratchFolder();
        var json = FlameJson.ToJson(FlameTree.Build(Load(scratch), new ReportSelection(ReportMode.Temporary, 2)));
        using var parsed = JsonDocument.Parse(json);
        Assert.Equal("temporary", parsed.RootElement.GetProperty("mode").GetString());
        Assert.Equal(2, parsed.RootElement.GetProperty("temporary_threshold").GetInt32());
        Assert.Equal(64, parsed.RootElement.GetProperty("root").GetProperty("total").GetInt64());
    }
}
