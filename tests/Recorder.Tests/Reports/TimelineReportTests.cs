using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using MemNotebook.Recorder.Reports;
using MemNotebook.Recorder.Tests.Arrow;
using MemNotebook.Recorder.Tests.Capture;
using MemNotebook.Recorder.Tests.Cli;
using Xunit;
using LoadedCapture = MemNotebook.Capture;

namespace MemNotebook.Recorder.Tests.Reports;

public class TimelineReportTests : IDisposable
{
    private readonly ScratchFolder scratch = new();

    public void Dispose() => scratch.Dispose();

    /// <summary>
    /// 1 tick = 1 ns. Snapshots at 10 ms, 20 ms, 30 ms; GC 1 (gen 0) from 12 ms to 13 ms with a 1.5 ms pause,
    /// GC 2 (gen 2 + LOH, induced) from 25 ms to 27 ms with no suspend; the capture ends at 40 ms.
    /// </summary>
    internal static TestCaptureWriter Create()
    {
        var w = new TestCaptureWriter();
        w.Chunk(0).Clock(0, 0).Type(0, 1, "App.Big").StackNode(1, 0, 0x10).Frame(0x10, 0, "App.Main", "App.dll").Thread(2, 100, 1).Write();
        w.Chunk(2).Alloc(1_000_000, 0, 4000, 1, 0x1000).Alloc(2_000_000, 0, 6000, 1, 0x3000).Write();
        w.Chunk(0).Snapshot(10_000_000, 10_000_000, 50_000_000, 1000, 2000, 3000, 4000, 500, 10_000).Write();
        w.Chunk(1).Suspend(11_500_000).GcStart(12_000_000, 0b1, 0, 1, 10_000).GcEnd(13_000_000, 1, 100, 2100, 3000, 4000, 500).Free(2, 0)
            .Resume(13_000_000).Write();
        w.Chunk(0).Snapshot(20_000_000, 20_000_000, 60_000_000, 100, 2100, 3000, 4000, 500, 6000).Write();
        w.Chunk(1).GcStart(25_000_000, 0b1111, 1, 2, 6000).GcEnd(27_000_000, 2, 0, 0, 1000, 0, 500).Write();
        w.Chunk(0).Snapshot(30_000_000, 30_000_000, 55_000_000, 0, 0, 1000, 0, 500, 6000)
            .Clock(40_000_000, 40_000_000).End(40_000_000, 2, 1, 6000).Write();
        return w;
    }

    private LoadedCapture Load() => LoadedCapture.Load(scratch.Write("t.memnb", Create()));

    [Fact]
    public void A_scoped_capture_leads_with_the_bytes_of_its_own_objects_alive_at_each_snapshot()
    {
        var capture = Load();
        // Row 0: 4000 bytes at 1 ms, freed by GC 1 (12 ms); row 1: 6000 bytes at 2 ms, alive to the end.
        var freed = TimelineReport.Data(capture.WithinRows([0], "the first object"));
        Assert.Equal(new[] { "scope_live", "rss", "gen0", "gen1", "gen2", "loh", "poh", "tracked_live" }, freed.Series.Select(s => s.Key));
        Assert.Equal("tracked live in scope", freed["scope_live"].Name);
        Assert.Equal(new[] { 10.0, 20.0, 30.0 }, freed["scope_live"].TimesMs);
        Assert.Equal(new long[] { 4000, 0, 0 }, freed["scope_live"].Bytes);
        Assert.Equal(new long[] { 6000, 6000, 6000 }, TimelineReport.Data(capture.WithinRows([1], "the second object"))["scope_live"].Bytes);
        // The process's series are the same as the whole capture's.
        Assert.Equal(new long[] { 10_000, 6000, 6000 }, freed["tracked_live"].Bytes);
        Assert.DoesNotContain(TimelineReport.Data(capture).Series, s => s.Key == "scope_live");
    }

    [Fact]
    public void Data_holds_every_snapshot_and_gc_of_the_capture_in_ms_and_bytes()
    {
        var capture = Load();
        var data = TimelineReport.Data(capture);
        Assert.Equal(new[] { "rss", "gen0", "gen1", "gen2", "loh", "poh", "tracked_live" }, data.Series.Select(s => s.Key));
        Assert.Equal(new[] { 10.0, 20.0, 30.0 }, data["rss"].TimesMs);
        Assert.Equal(new long[] { 50_000_000, 60_000_000, 55_000_000 }, data["rss"].Bytes);
        Assert.Equal(new long[] { 1000, 100, 0 }, data["gen0"].Bytes);
        Assert.Equal(new long[] { 4000, 4000, 0 }, data["loh"].Bytes);
        Assert.Equal(new long[] { 10_000, 6000, 6000 }, data["tracked_live"].Bytes);
        Assert.Equal(new long[] { 10_500, 9700, 1500 }, data.HeapBytes());
        Assert.Equal(40.0, data.DurationMs);
        Assert.Equal(new[]
        {
            new TimelineGc(1, 12.0, 13.0, 1.5, 0b1, false, 10_000),
            new TimelineGc(2, 25.0, 27.0, null, 0b1111, true, 6000),
        }, data.Gcs);
        Assert.Equal(new[] { 0, 2 }, data.Gcs.Select(g => g.Generation));

        // The same numbers as the capture's DataFrames.
        var timeline = capture.Timeline;
        for (var i = 0; i < 3; i++)
        {
            Assert.Equal((long)timeline["time_ns"][i] / 1e6, data["rss"].TimesMs[i]);
            foreach (var (key, column) in new[] { ("rss", "rss_bytes"), ("gen1", "gen1_bytes"), ("gen2", "gen2_bytes"), ("poh", "poh_bytes"), ("tracked_live", "tracked_live_bytes") })
                Assert.Equal((long)timeline[column][i], data[key].Bytes[i]);
        }
        Assert.Equal((long)capture.GcEvents["pause_ns"][0] / 1e6, data.Gcs[0].PauseMs);
    }

    private static string JsonBlock(string html, string id)
    {
        var match = Regex.Match(html, $"<script type=\"application/json\" id=\"{id}-data\">(.*?)</script>", RegexOptions.Singleline);
        Assert.True(match.Success, $"no data block for {id}");
        return match.Groups[1].Value;
    }

    [Fact]
    public void Page_embeds_plotly_and_the_exact_numbers_and_allows_only_its_own_scripts()
    {
        var data = TimelineReport.Data(Load());
        var html = TimelineReport.RenderPage(data, ReportCaptures.MarkupType + ".memnb");

        using var json = JsonDocument.Parse(JsonBlock(html, TimelineReport.PageElementId));
        var root = json.RootElement;
        Assert.Equal(data["rss"].TimesMs, root.GetProperty("times_ms").EnumerateArray().Select(e => e.GetDouble()));
        foreach (var series in root.GetProperty("series").EnumerateArray())
            Assert.Equal(data[series.GetProperty("key").GetString()!].Bytes, series.GetProperty("bytes").EnumerateArray().Select(e => e.GetInt64()));
        var gcs = root.GetProperty("gcs").EnumerateArray().ToArray();
        Assert.Equal(new[] { 1.5 }, gcs.Where(g => g.GetProperty("pause_ms").ValueKind == JsonValueKind.Number).Select(g => g.GetProperty("pause_ms").GetDouble()));
        Assert.Equal(new[] { 0, 2 }, gcs.Select(g => g.GetProperty("generation").GetInt32()));
        Assert.Equal(new[] { 10_000L, 6000 }, gcs.Select(g => g.GetProperty("live_bytes_at_start").GetInt64()));

        // plotly.js inlined whole, then the chart script; the policy names both by hash and nothing external.
        Assert.Contains(TimelineReport.PlotlyJs, html);
        Assert.Matches(@"^\d+\.\d+\.\d+$", TimelineReport.PlotlyVersion);
        var scripts = Regex.Matches(html, "<script>(.*?)</script>", RegexOptions.Singleline).Select(m => m.Groups[1].Value).ToArray();
        Assert.Equal(2, scripts.Length);
        Assert.Equal(TimelineReport.PlotlyJs, scripts[0]);
        foreach (var script in scripts)
            Assert.Contains("'sha256-" + Convert.ToBase64String(SHA256.HashData(Encoding.UTF8.GetBytes(script))) + "'", TimelineReport.ContentSecurityPolicy);
        Assert.StartsWith("default-src 'none'; script-src 'sha256-", TimelineReport.ContentSecurityPolicy);
        Assert.DoesNotContain(" src=", html);
        Assert.DoesNotContain("<!--", html);
        // The markup-named source appears only encoded.
        Assert.DoesNotContain(ReportCaptures.MarkupType, html);
        Assert.Contains("&lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt;.memnb", html);
    }

    [Fact]
    public void Fragment_draws_into_the_given_element_without_plotly_and_refuses_ids_that_are_not_plain()
    {
        var data = TimelineReport.Data(Load());
        var fragment = TimelineReport.RenderFragment(data, "cell-7_timeline");
        Assert.StartsWith("<div id=\"cell-7_timeline\" class=\"memnb-timeline\"", fragment);
        Assert.Equal(TimelineReport.ToJson(data), JsonBlock(fragment, "cell-7_timeline"));
        Assert.EndsWith("(\"cell-7_timeline\");</script>\n", fragment);
        Assert.DoesNotContain(TimelineReport.PlotlyJs[..200], fragment);
        Assert.True(fragment.Length < 10_000, $"fragment of {fragment.Length} chars");
        foreach (var bad in new[] { "", "7cell", "a\"b", "a b", "x</script>" })
            Assert.Throws<ArgumentException>(() => TimelineReport.RenderFragment(data, bad));
    }

    [Fact]
    public void Cli_timeline_prints_peaks_gc_counts_and_pauses_and_writes_the_page()
    {
        using var cli = new CliHarness();
        var path = cli.File("t.memnb", Create().ToArray());
        var text = CliHarness.Run("timeline", path);
        Assert.Equal((0, ""), (text.ExitCode, text.Err));
        Assert.Equal(
            $"{path}: 40.0 ms, 3 memory snapshots, 2 GCs\n\n" +
            "                       peak         at         last\n" +
            "RSS                57.2 MiB    20.0 ms     52.5 MiB\n" +
            "managed heap       10.3 KiB    10.0 ms      1.5 KiB\n" +
            "  gen 0              1000 B    10.0 ms          0 B\n" +
            "  gen 1             2.1 KiB    20.0 ms          0 B\n" +
            "  gen 2             2.9 KiB    10.0 ms       1000 B\n" +
            "  LOH               3.9 KiB    10.0 ms          0 B\n" +
            "  POH                 500 B    10.0 ms        500 B\n" +
            "tracked live        9.8 KiB    10.0 ms      5.9 KiB\n" +
            "(managed heap: its parts as the last GC before each snapshot left them; tracked live: bytes of recorded objects alive)\n\n" +
            "GCs: 2 (gen 0: 1, gen 1: 0, gen 2: 1; induced: 1)\n" +
            "pauses: 1, total 1.500 ms, max 1.500 ms, mean 1.500 ms\n", text.Out);

        var page = cli.PathOf("t.html");
        var written = CliHarness.Run("timeline", "-o", page, path);
        Assert.Equal((0, $"memnb: wrote {page}\n"), (written.ExitCode, written.Err));
        Assert.Equal(TimelineReport.RenderPage(TimelineReport.Data(LoadedCapture.Load(path)), path), File.ReadAllText(page));
    }
}
