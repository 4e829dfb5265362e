using MemNotebook.Recorder.Reports;
using MemNotebook.Recorder.Tests.Arrow;
using Xunit;
using LoadedCapture = MemNotebook.Capture;

namespace MemNotebook.Recorder.Tests.Reports;

/// <summary>The standalone timeline page in headless Chromium (tests/browser/timeline.mjs), every request blocked.</summary>
public class TimelineBrowserTests
{
    [Fact]
    public void Page_draws_every_series_and_gc_mark_with_plotly_offline_without_policy_errors()
    {
        using var scratch = new ScratchFolder();
        var data = TimelineReport.Data(LoadedCapture.Load(scratch.Write("t.memnb", TimelineReportTests.Create())));
        var page = Path.Combine(scratch.Root, "timeline.html");
        File.WriteAllText(page, TimelineReport.RenderPage(data, "t.memnb"));
        var screenshot = HeadlessBrowser.ScreenshotPath("timeline.png");

        var facts = HeadlessBrowser.Run("timeline.mjs", page, screenshot, TimelineReport.PageElementId);
        var failure = $"facts: {facts}";
        Assert.True(facts.GetProperty("requests_attempted").GetArrayLength() == 0, failure);
        Assert.True(facts.GetProperty("console_errors").GetArrayLength() == 0, failure);
        Assert.True(facts.GetProperty("page_errors").GetArrayLength() == 0, failure);

        var traces = facts.GetProperty("traces").EnumerateArray().ToArray();
        Assert.Equal(new[] { "RSS", "gen 0", "gen 1", "gen 2", "LOH", "POH", "tracked live", "GC gen 0", "GC gen 2" },
            traces.Select(t => t.GetProperty("name").GetString()));
        foreach (var (series, trace) in data.Series.Zip(traces))
        {
            Assert.Equal(series.TimesMs, trace.GetProperty("x").EnumerateArray().Select(e => e.GetDouble()));
            // Drawn in MiB, as every report shows sizes.
            Assert.Equal(series.Bytes.Select(b => b / 1048576.0), trace.GetProperty("y").EnumerateArray().Select(e => e.GetDouble()));
        }
        Assert.Equal(new[] { 12.0 }, traces[7].GetProperty("x").EnumerateArray().Select(e => e.GetDouble()));
        Assert.Equal(new[] { 25.0 }, traces[8].GetProperty("x").EnumerateArray().Select(e => e.GetDouble()));
        Assert.Equal(9, facts.GetProperty("drawn_lines").GetInt32());
        Assert.Equal(2, facts.GetProperty("drawn_markers").GetInt32());
        Assert.Equal("time (ms)", facts.GetProperty("x_title").GetString());
        Assert.Equal(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G' }, File.ReadAllBytes(screenshot)[..4]);
    }
}
