using System.Text.RegularExpressions;
using MemNotebook.Recorder.Analysis;
using MemNotebook.Recorder.Reports;
using MemNotebook.Recorder.Tests.Aggregated;
using MemNotebook.Recorder.Tests.Arrow;
using MemNotebook.Recorder.Tests.Cli;
using Xunit;
using LoadedCapture = MemNotebook.Capture;

namespace MemNotebook.Recorder.Tests.Reports;

public class StatsReportTests : IDisposable
{
    private readonly ScratchFolder scratch = new();

    public void Dispose() => scratch.Dispose();

    private LoadedCapture Load() => LoadedCapture.Load(scratch.Write("r.memnb", ReportCaptures.Create()));

    [Fact]
    public void Report_holds_the_histogram_rankings_and_allocators_of_the_capture()
    {
        var capture = Load();
        var report = StatsReport.Build(capture, top: 3);
        Assert.Equal(capture.Stats(3), report.Stats, new StatsComparer());
        // Sizes 8; 16, 24; 40; 64; 1000; 2000 in power-of-two buckets.
        Assert.Equal(new[]
        {
            new SizeBucket(8, 15, 1, 8), new SizeBucket(16, 31, 2, 40), new SizeBucket(32, 63, 1, 40), new SizeBucket(64, 127, 1, 64),
            new SizeBucket(512, 1023, 1, 1000), new SizeBucket(1024, 2047, 1, 2000),
        }, report.Histogram);
        Assert.Equal(new[] { new AllocatorStats("managed", 7, 3152) }, report.Allocators);
        Assert.Equal(new[] { ("App.Load", 2L, 3000L), (ReportCaptures.MarkupMethod, 1L, 64L), ("App.Main", 2L, 40L) },
            report.FunctionsByBytes.Select(f => (f.Function, f.Count, f.Bytes)));
        Assert.Equal(new[] { ("App.Load", 2L, 3000L), ("App.Main", 2L, 40L), (ReportCaptures.MarkupMethod, 1L, 64L) },
            report.FunctionsByCount.Select(f => (f.Function, f.Count, f.Bytes)));
        var byCount = capture.TopFunctions(3, Measure.Count);
        Assert.Equal(Enumerable.Range(0, 3).Select(i => ((string)byCount["function"][i], (long)byCount["count"][i], (long)byCount["bytes"][i])),
            report.FunctionsByCount.Select(f => (f.Function, f.Count, f.Bytes)));
        Assert.Equal(new[] { "App.Big", "System.String", ReportCaptures.MarkupType }, report.Types.Select(t => t.Type));
    }

    private sealed class StatsComparer : IEqualityComparer<CaptureStats>
    {
        public bool Equals(CaptureStats? x, CaptureStats? y) => StatsJson.ToJson(x!) == StatsJson.ToJson(y!);
        public int GetHashCode(CaptureStats obj) => 0;
    }

    [Fact]
    public void Page_shows_totals_histogram_and_rankings_with_every_name_escaped()
    {
        var capture = Load();
        var html = ReportHtml.Stats(StatsReport.Build(capture), ReportCaptures.MarkupType + ".memnb");
        Assert.Contains("<tr><th>allocations</th><td>7</td></tr>", html);
        Assert.Contains("<tr><th>peak (alive at the high-water mark)</th><td><span title=\"3136 bytes\">3.1 KiB</span></td></tr>", html);
        Assert.Contains("<tr><th>duration</th><td>0.0 ms</td></tr>", html);
        Assert.Contains("<tr><td>16&#x2013;31 B</td><td>2</td><td class=\"bar\"><div class=\"count\" style=\"width:200px\"></div></td>" +
                        "<td><span title=\"40 bytes\">40 B</span></td><td class=\"bar\"><div class=\"bytes\" style=\"width:4px\"></div></td></tr>", html);
        Assert.Contains("<td class=\"name\">managed</td>", html);
        Assert.Equal(2, Regex.Matches(html, "<h2>Functions by (bytes|count)</h2>").Count);
        // Names from the capture appear only encoded; the page has no script at all.
        Assert.DoesNotContain("<script", html, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("alert(1)</script>", html);
        Assert.DoesNotContain("<!--", html);
        Assert.Contains("&lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt;.Run&lt;!--", html);
        Assert.Contains("<td class=\"name\">&lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt;</td>", html);
        Assert.Contains("<title>Capture statistics — script&gt;.memnb</title>", html);
        Assert.Contains("content=\"default-src 'none'; style-src 'unsafe-inline'\"", html);
    }

    [Fact]
    public void Aggregated_capture_gets_totals_and_rankings_and_says_what_needs_single_allocations()
    {
        var full = LoadedCapture.Load(scratch.Write("full.memnb", AggregatedWorkload.Create(aggregated: false)));
        var aggregated = LoadedCapture.Load(scratch.Write("agg.memnb", AggregatedWorkload.Create(aggregated: true)));
        var a = StatsReport.Build(aggregated);
        var f = StatsReport.Build(full);
        Assert.Null(a.Histogram);
        Assert.Null(a.Allocators);
        Assert.Equal(f.FunctionsByBytes, a.FunctionsByBytes);
        Assert.Equal(f.FunctionsByCount, a.FunctionsByCount);
        Assert.Equal(f.Types, a.Types);
        Assert.Equal((8248L, 9L, 7118L), (a.Stats.TotalBytes, a.Stats.TotalAllocations, a.Stats.PeakBytes));
        var html = ReportHtml.Stats(a, "agg.memnb");
        Assert.Contains("An aggregated capture does not keep the sizes of single allocations: record without --aggregate for the histogram.", html);
        Assert.Contains("aggregated (totals per stack and type), complete", html);
    }

    [Fact]
    public void Cli_stats_writes_the_page_with_o_and_refuses_json_with_it()
    {
        using var cli = new CliHarness();
        var path = cli.File("r.memnb", ReportCaptures.Create().ToArray());
        var page = cli.PathOf("stats.html");
        var result = CliHarness.Run("stats", "--top", "5", "-o", page, path);
        Assert.Equal((0, "", $"memnb: wrote {page}\n"), (result.ExitCode, result.Out, result.Err));
        Assert.Equal(ReportHtml.Stats(StatsReport.Build(LoadedCapture.Load(path), 5), path), File.ReadAllText(page));
        var both = CliHarness.Run("stats", "--json", "-o", page, path);
        Assert.Equal(1, both.ExitCode);
        Assert.Contains("--json and -o exclude each other", both.Err);
    }
}
