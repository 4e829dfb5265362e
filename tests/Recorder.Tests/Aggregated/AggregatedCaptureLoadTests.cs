using MemNotebook.Recorder.Analysis;
using MemNotebook.Recorder.Arrow;
using MemNotebook.Recorder.Tests.Cli;
using Microsoft.Data.Analysis;
using Xunit;
using LoadedCapture = MemNotebook.Capture;

namespace MemNotebook.Recorder.Tests.Aggregated;

public class AggregatedCaptureLoadTests : IDisposable
{
    private readonly CliHarness files = new();

    public void Dispose() => files.Dispose();

    private LoadedCapture Load(bool aggregated, bool stopped = true, string? name = null) =>
        LoadedCapture.Load(files.File(name ?? (aggregated ? "agg.memnb" : "full.memnb"),
            AggregatedWorkload.Create(aggregated, stopped).ToArray()));

    private static string[] Lines(DataFrame frame) =>
        Enumerable.Range(0, (int)frame.Rows.Count)
            .Select(i => string.Join(" | ", frame.Columns.Select(c => c[i]?.ToString() ?? "null")))
            .ToArray();

    private static readonly string[] ExpectedAggregates =
    [
        "6 | lambda in MyApp.Program.Main | System.Byte[] | 2 | 4000 | 1 | 3000 | 0 | 0",
        "5 | lambda in MyApp.Program.Main | System.Byte[] | 1 | 4000 | 1 | 4000 | 0 | 0",
        "3 | MyApp.Program.Main | System.String | 1 | 100 | 0 | 0 | 0 | 0",
        "2 | MyApp.Program.Main | System.String | 1 | 50 | 1 | 50 | 1 | 50",
        "7 | [unknown] | MyApp.Node | 2 | 48 | 2 | 48 | 2 | 48",
        "8 | [unknown] | System.String | 1 | 30 | 0 | 0 | 0 | 0",
        "0 | [unknown] | System.String | 1 | 20 | 1 | 20 | 1 | 20",
    ];

    [Fact]
    public void An_aggregated_capture_loads_its_aggregates_table()
    {
        var capture = Load(aggregated: true);
        Assert.True(capture.IsAggregated);
        Assert.True(capture.Complete);
        Assert.Equal(7118, capture.PeakBytes);
        Assert.False(capture.PeakIsAtEnd);
        Assert.Equal(4100, capture.PeakTimeNs); // GC 2 starts at tick 1410 = 410 ticks after the first CLOCK, 10 ns each
        Assert.Equal(
            ["stack_id", "function", "type", "count", "bytes", "peak_count", "peak_bytes", "leaked_count", "leaked_bytes"],
            capture.Aggregates.Columns.Select(c => c.Name));
        Assert.Equal(ExpectedAggregates, Lines(capture.Aggregates));
        Assert.True(File.Exists(ArrowLayout.TablePath(capture.ArrowFolder, ArrowLayout.Aggregates)));
        Assert.False(File.Exists(ArrowLayout.TablePath(capture.ArrowFolder, ArrowLayout.Allocations)));
        Assert.True(capture.Metadata.Aggregated);
        Assert.Equal(9, capture.Metadata.Allocations);
        Assert.Equal(5, capture.Metadata.Frees);
        Assert.Equal(2, capture.GcEvents.Rows.Count);
        Assert.Equal(8, capture.Stacks.Rows.Count);
        Assert.Equal(0, capture.Threads.Rows.Count);
        Assert.Contains("(aggregated): 9 allocations", capture.ToString());

        // Loaded again from the cache.
        var again = LoadedCapture.Load(capture.Path);
        Assert.Equal(ExpectedAggregates, Lines(again.Aggregates));
    }

    [Fact]
    public void Rankings_by_total_peak_and_leaked()
    {
        var capture = Load(aggregated: true);
        Assert.Equal(
            ["lambda in MyApp.Program.Main | 3 | 8000", "MyApp.Program.Main | 2 | 150", "[unknown] | 4 | 98"],
            Lines(capture.TopFunctions(10, AggregateMeasure.Total)));
        Assert.Equal(
            ["[unknown] | 4 | 98", "lambda in MyApp.Program.Main | 3 | 8000"],
            Lines(capture.TopFunctions(2, AggregateMeasure.Total, Measure.Count)));
        Assert.Equal(
            ["lambda in MyApp.Program.Main | 2 | 7000", "[unknown] | 3 | 68", "MyApp.Program.Main | 1 | 50"],
            Lines(capture.TopFunctions(10, AggregateMeasure.Peak)));
        Assert.Equal(
            ["[unknown] | 3 | 68", "MyApp.Program.Main | 1 | 50"],
            Lines(capture.TopFunctions(10, AggregateMeasure.Leaked)));
        Assert.Equal(
            ["System.Byte[] | 2 | 7000", "System.String | 2 | 70", "MyApp.Node | 2 | 48"],
            Lines(capture.TopTypes(10, AggregateMeasure.Peak)));
        Assert.Equal(
            ["System.String | 2 | 70", "MyApp.Node | 2 | 48"],
            Lines(capture.TopTypes(10, AggregateMeasure.Leaked)));
        // The all-allocations rankings answer from the aggregates too.
        Assert.Equal(Lines(capture.TopFunctions(10, AggregateMeasure.Total)), Lines(capture.TopFunctions()));
        Assert.Equal(
            ["System.Byte[] | 3 | 8000", "System.String | 4 | 200", "MyApp.Node | 2 | 48"],
            Lines(capture.TopTypes()));
    }

    [Fact]
    public void Per_allocation_members_throw_one_clear_error()
    {
        var capture = Load(aggregated: true);
        Action[] members =
        [
            () => _ = capture.Allocations,
            () => _ = capture.All,
            () => capture.Peak(),
            () => capture.Leaks(),
            () => capture.Temporary(),
            () => capture.Between(0, 100),
            () => capture.AliveAt(100),
            () => capture.SizeHistogram(),
            () => capture.ByThread(),
            () => capture.Diff(capture),
            () => capture.TopFunctions(10, Measure.Bytes, Attribution.Inclusive),
        ];
        foreach (var member in members)
        {
            var error = Assert.Throws<NotSupportedException>(member);
            Assert.StartsWith(capture.Path + ": ", error.Message);
            Assert.Contains("is an aggregated capture", error.Message);
            Assert.Contains("What works on it: Aggregates, TopFunctions(n, AggregateMeasure, Measure)", error.Message);
        }
        Assert.Equal(
            $"{capture.Path}: Peak needs individual allocations, but this is an aggregated capture (recorded with --aggregate): " +
            "it holds totals per stack and type only. What works on it: Aggregates, TopFunctions(n, AggregateMeasure, Measure), " +
            "TopTypes(n, AggregateMeasure, Measure), TopFunctions/TopTypes over all allocations, Stats(), PeakBytes, Stacks, " +
            "Frames, Types, Threads, Timeline, GcEvents. Record without --aggregate for time windows, temporary objects, " +
            "addresses, threads and sizes of single objects.",
            Assert.Throws<NotSupportedException>(() => capture.Peak()).Message);
    }

    [Fact]
    public void A_normal_capture_computes_the_same_aggregates_and_rankings()
    {
        var normal = Load(aggregated: false);
        var aggregated = Load(aggregated: true);
        Assert.False(normal.IsAggregated);
        Assert.Equal(ExpectedAggregates, Lines(normal.Aggregates));
        foreach (var measure in new[] { AggregateMeasure.Total, AggregateMeasure.Peak, AggregateMeasure.Leaked })
        foreach (var by in new[] { Measure.Bytes, Measure.Count })
        {
            Assert.Equal(Lines(aggregated.TopFunctions(10, measure, by)), Lines(normal.TopFunctions(10, measure, by)));
            Assert.Equal(Lines(aggregated.TopTypes(10, measure, by)), Lines(normal.TopTypes(10, measure, by)));
        }
        // Over the per-allocation views of the normal capture: the same numbers.
        Assert.Equal(Lines(normal.Peak().TopFunctions(10)), Lines(normal.TopFunctions(10, AggregateMeasure.Peak)));
        Assert.Equal(Lines(normal.Leaks().TopTypes(10)), Lines(normal.TopTypes(10, AggregateMeasure.Leaked)));
        Assert.Equal(Lines(normal.TopFunctions(10)), Lines(normal.TopFunctions(10, AggregateMeasure.Total)));
    }

    [Fact]
    public void Stats_of_a_loaded_aggregated_capture_equal_the_streaming_stats()
    {
        var capture = Load(aggregated: true);
        var streamed = CaptureStats.Compute(capture.Path);
        Assert.Equal(StatsJson.ToJson(streamed), StatsJson.ToJson(capture.Stats()));
        Assert.True(capture.Stats().Aggregated);

        var killed = Load(aggregated: true, stopped: false, name: "killed.memnb");
        Assert.False(killed.Complete);
        Assert.Equal(5224, killed.PeakBytes);
        Assert.Equal(StatsJson.ToJson(CaptureStats.Compute(killed.Path)), StatsJson.ToJson(killed.Stats()));
    }
}
