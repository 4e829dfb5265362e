using System.Text.Json;
using MemNotebook.Recorder.Analysis;
using MemNotebook.Recorder.Tests.Cli;
using Xunit;

namespace MemNotebook.Recorder.Tests.Aggregated;

public class AggregatedStatsTests
{
    private static CaptureStats Stats(bool aggregated, bool stopped = true) =>
        CaptureStats.Compute(new MemoryStream(AggregatedWorkload.Create(aggregated, stopped).ToArray()), "agg.memnb");

    [Fact]
    public void Stats_of_an_aggregated_capture_come_from_its_final_table()
    {
        var s = Stats(aggregated: true);
        Assert.True(s.Aggregated);
        Assert.True(s.Complete);
        Assert.False(s.Truncated);
        Assert.Equal(9, s.TotalAllocations);
        Assert.Equal(8248, s.TotalBytes);
        Assert.Equal(7118, s.PeakBytes);
        Assert.Equal(4, s.LeakedAllocations);
        Assert.Equal(118, s.LeakedBytes);
        Assert.Equal(5, s.FreedAllocations);
        Assert.Equal(8130, s.FreedBytes);
        Assert.Equal(2, s.GcCount);
        Assert.Equal(1.0, s.DurationMs);
        Assert.Equal(
            [
                new TypeStats("System.Byte[]", 3, 8000, 0, 0),
                new TypeStats("System.String", 4, 200, 2, 70),
                new TypeStats("MyApp.Node", 2, 48, 2, 48),
            ],
            s.ByType);
        Assert.Equal(
            [
                new FunctionStats("lambda in MyApp.Program.Main", 3, 8000),
                new FunctionStats("MyApp.Program.Main", 2, 150),
                new FunctionStats("[unknown]", 4, 98),
            ],
            s.TopFunctions);
        Assert.Empty(s.Threads);
    }

    [Fact]
    public void A_killed_aggregated_capture_uses_its_last_periodic_table_and_is_not_complete()
    {
        var s = Stats(aggregated: true, stopped: false);
        Assert.True(s.Aggregated);
        Assert.False(s.Complete);
        Assert.Equal(7, s.TotalAllocations);
        Assert.Equal(5224, s.TotalBytes);
        Assert.Equal(5224, s.PeakBytes);
        Assert.Equal(4, s.LeakedAllocations);
        Assert.Equal(4094, s.LeakedBytes);
        Assert.Equal(1, s.GcCount);
        var json = StatsJson.ToJson(s, indented: false);
        Assert.Contains("\"aggregated\":true,\"complete\":false,", json);
        Assert.Contains("the last table is not the final one", StatsText.ToText(s));
    }

    [Fact]
    public void An_aggregated_capture_and_a_normal_capture_of_the_same_workload_give_the_same_stats_but_threads()
    {
        var normal = Stats(aggregated: false);
        var aggregated = Stats(aggregated: true);
        Assert.False(normal.Aggregated);
        Assert.Equal(2, normal.Threads.Count);
        Assert.Equal(
            StatsJson.ToJson(normal with { Aggregated = true, Threads = [] }),
            StatsJson.ToJson(aggregated));
        Assert.Equal(7118, normal.PeakBytes);
    }

    [Fact]
    public void Memnb_stats_reports_aggregated_in_json_and_text()
    {
        using var cli = new CliHarness();
        var path = cli.File("agg.memnb", AggregatedWorkload.Create(aggregated: true).ToArray());
        var json = CliHarness.Run("stats", "--json", path);
        Assert.Equal(0, json.ExitCode);
        using var doc = JsonDocument.Parse(json.Out);
        Assert.True(doc.RootElement.GetProperty("aggregated").GetBoolean());
        Assert.Equal(0, doc.RootElement.GetProperty("threads").GetArrayLength());
        Assert.Equal(7118, doc.RootElement.GetProperty("peak_bytes").GetInt64());

        var text = CliHarness.Run("stats", path);
        Assert.Equal(0, text.ExitCode);
        Assert.Contains("\nAggregated   yes: totals per stack and type, no per-allocation data or threads\n", text.Out);

        var normal = CliHarness.Run("stats", "--json", cli.File("full.memnb", AggregatedWorkload.Create(aggregated: false).ToArray()));
        using var normalDoc = JsonDocument.Parse(normal.Out);
        Assert.False(normalDoc.RootElement.GetProperty("aggregated").GetBoolean());
    }
}
