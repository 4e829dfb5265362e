using MemNotebook.Recorder.Reports;
using MemNotebook.Recorder.Tests.Aggregated;
using MemNotebook.Recorder.Tests.Arrow;
using MemNotebook.Recorder.Tests.Cli;
using Xunit;
using LoadedCapture = MemNotebook.Capture;

namespace MemNotebook.Recorder.Tests.Reports;

/// <summary>
/// Reports of an aggregated capture come from its totals per (stack, type) and equal those of the full capture of
/// the same run (AggregatedWorkload) for all allocations, the peak and the leaks; the rest is refused by name.
/// </summary>
public class AggregatedReportTests : IDisposable
{
    private readonly ScratchFolder scratch = new();

    public void Dispose() => scratch.Dispose();

    private (LoadedCapture Full, LoadedCapture Aggregated) Load() => (
        LoadedCapture.Load(scratch.Write("full.memnb", AggregatedWorkload.Create(aggregated: false))),
        LoadedCapture.Load(scratch.Write("agg.memnb", AggregatedWorkload.Create(aggregated: true))));

    public static TheoryData<ReportMode, bool> Modes() => new()
    {
        { ReportMode.Allocated, false }, { ReportMode.Allocated, true }, { ReportMode.Peak, false }, { ReportMode.Peak, true },
        { ReportMode.Leaks, false }, { ReportMode.Leaks, true },
    };

    private static string Shape(FlameNode node, string indent = "") =>
        $"{indent}{node.Kind} {node.Name} total={node.TotalBytes} count={node.Count} own={node.OwnBytes} own_count={node.OwnCount}\n" +
        string.Concat(node.Children.Select(c => Shape(c, indent + "  ")));

    [Theory]
    [MemberData(nameof(Modes))]
    public void Tree_from_aggregates_equals_the_tree_of_the_full_capture(ReportMode mode, bool inverted)
    {
        var (full, aggregated) = Load();
        var selection = new ReportSelection(mode);
        var expected = FlameTree.Build(full, selection, inverted);
        var actual = FlameTree.Build(aggregated, selection, inverted);
        Assert.Equal(Shape(expected.Root), Shape(actual.Root));
        Assert.Equal(mode switch { ReportMode.Allocated => 8248, ReportMode.Peak => 7118, _ => 118 }, actual.TotalBytes);
        Assert.Equal(selection.Title + " (from the aggregated capture's totals)", actual.Description);
        Assert.Null(actual.Time);
    }

    [Theory]
    [MemberData(nameof(Modes))]
    public void Summary_from_aggregates_equals_the_summary_of_the_full_capture(ReportMode mode, bool _)
    {
        var (full, aggregated) = Load();
        var selection = new ReportSelection(mode);
        var expected = SummaryReport.Build(full, selection, 100);
        var actual = SummaryReport.Build(aggregated, selection, 100);
        Assert.Equal(expected.Rows, actual.Rows);
        Assert.Equal((expected.Bytes, expected.Count, expected.Functions), (actual.Bytes, actual.Count, actual.Functions));
    }

    [Fact]
    public void Flame_graph_page_of_an_aggregated_capture_has_no_time_chart_and_the_exact_totals()
    {
        var (full, aggregated) = Load();
        var writer = new StringWriter();
        FlameGraphPage.Write(aggregated, ReportSelection.Peak, new FlameGraphOptions(Source: "agg.memnb"), writer);
        var json = FlameGraphPageTests.EmbeddedJson(writer.ToString());
        Assert.Equal(FlameJson.ToJson(FlameTree.Build(aggregated, ReportSelection.Peak)), json);
        using var document = System.Text.Json.JsonDocument.Parse(json);
        Assert.False(document.RootElement.TryGetProperty("time", out _));
        Assert.Equal(full.Peak().Bytes, document.RootElement.GetProperty("total_bytes").GetInt64());
    }

    [Fact]
    public void What_needs_single_allocations_is_refused_naming_it()
    {
        var (_, aggregated) = Load();
        var temporary = Assert.Throws<NotSupportedException>(() => FlameTree.Build(aggregated, new ReportSelection(ReportMode.Temporary)));
        Assert.StartsWith($"{aggregated.Path}: the tree of temporary allocations (--temporary) needs a full capture, but this one was recorded with --aggregate", temporary.Message);
        Assert.Contains("summary, tree and flamegraph show all allocations (--all), the peak (the default) and the leaks (--leaks)", temporary.Message);
        var summary = Assert.Throws<NotSupportedException>(() => SummaryReport.Build(aggregated, new ReportSelection(ReportMode.Temporary), 10));
        Assert.StartsWith($"{aggregated.Path}: the summary of temporary allocations (--temporary) needs a full capture", summary.Message);
        var split = Assert.Throws<NotSupportedException>(() => FlameTree.Build(aggregated, ReportSelection.Peak, splitThreads: true));
        Assert.StartsWith($"{aggregated.Path}: a tree split by thread (--split-threads) needs a full capture", split.Message);
        var table = Assert.Throws<NotSupportedException>(() => TableReport.Build(aggregated, ReportSelection.Peak));
        Assert.StartsWith($"{aggregated.Path}: the table (the thread and size of each allocation) needs a full capture", table.Message);
    }

    [Fact]
    public void Cli_summary_tree_and_flamegraph_work_on_an_aggregated_capture()
    {
        using var cli = new CliHarness();
        var full = cli.File("full.memnb", AggregatedWorkload.Create(aggregated: false).ToArray());
        var agg = cli.File("agg.memnb", AggregatedWorkload.Create(aggregated: true).ToArray());
        foreach (var verb in new[] { "summary", "tree" })
            foreach (var mode in new[] { "--all", "--leaks" })
            {
                var expected = CliHarness.Run(verb, mode, full);
                var actual = CliHarness.Run(verb, mode, agg);
                Assert.Equal((0, ""), (actual.ExitCode, actual.Err));
                // The same report; only the heading says where the numbers come from.
                Assert.Equal(expected.Out.Split('\n')[1..], actual.Out.Split('\n')[1..]);
                Assert.Contains("(from the aggregated capture's totals)", actual.Out.Split('\n')[0]);
            }
        var page = cli.PathOf("agg.html");
        var flame = CliHarness.Run("flamegraph", "--leaks", "-o", page, agg);
        Assert.Equal((0, $"memnb: wrote {page}\n"), (flame.ExitCode, flame.Err));
        var timeline = CliHarness.Run("timeline", agg);
        Assert.Equal(0, timeline.ExitCode);
    }
}
