using System.Text.Json;
using MemNotebook.Recorder.Reports;
using MemNotebook.Recorder.Tests.Arrow;
using Xunit;
using LoadedCapture = MemNotebook.Capture;

namespace MemNotebook.Recorder.Tests.Reports;

/// <summary>
/// The standalone flame-graph page in a real browser: tests/browser/flamegraph.mjs opens it in Debian's
/// headless Chromium with every network request blocked, zooms into a frame, searches, and reports what
/// the page shows (and saves a screenshot). Needs node, the npm package playwright-core (`npm ci` in
/// tests/browser; scripts/test.sh does) and /usr/bin/chromium (scripts/setup.sh installs it): fails, never
/// skips, when one is missing.
/// </summary>
public class FlameGraphBrowserTests
{
    private static JsonElement Open(string page, string screenshot, string zoomFrame, string search, string markupName, int firstBucket, int lastBucket) =>
        HeadlessBrowser.Run("flamegraph.mjs", page, screenshot, zoomFrame, search, markupName, firstBucket.ToString(), lastBucket.ToString());

    private static string[] Strings(JsonElement array) => array.EnumerateArray().Select(e => e.GetString()!).ToArray();

    [Fact]
    public void Page_zooms_searches_and_shows_names_as_text_in_headless_chromium_without_network()
    {
        using var scratch = new ScratchFolder();
        var capture = LoadedCapture.Load(scratch.Write("r.memnb", ReportCaptures.Create(snapshots: true)));
        var page = Path.Combine(scratch.Root, "flame.html");
        using (var writer = new StreamWriter(page))
            FlameGraphPage.Write(capture, ReportSelection.Peak, new FlameGraphOptions(Source: "r.memnb"), writer);
        var screenshot = HeadlessBrowser.ScreenshotPath("flame.png");

        var facts = Open(page, screenshot, ReportCaptures.LambdaShown, "load", ReportCaptures.MarkupMethod, 4, 7);
        var failure = $"facts: {facts}";

        // No request but the page itself, and the blocking route really sees and stops loads.
        Assert.True(facts.GetProperty("requests_attempted").GetArrayLength() == 0, failure);
        Assert.True(facts.GetProperty("page_routed").GetInt32() >= 1, failure);
        Assert.True(facts.GetProperty("probe_blocked").GetBoolean(), failure);
        Assert.True(facts.GetProperty("probe_recorded").GetBoolean(), failure);
        // The policy, the inlined script and style raise nothing; no name ran as script.
        Assert.True(facts.GetProperty("console_errors").GetArrayLength() == 0, failure);
        Assert.True(facts.GetProperty("page_errors").GetArrayLength() == 0, failure);
        Assert.True(facts.GetProperty("dialogs").GetArrayLength() == 0, failure);

        Assert.Equal("Memory flame graph", facts.GetProperty("header").GetString());
        Assert.Equal("r.memnb: alive at the peak — 3.1 KiB in 6 allocations", facts.GetProperty("meta").GetString());
        Assert.Equal(9, facts.GetProperty("frames").GetInt32());
        Assert.Equal("all", facts.GetProperty("root_text").GetString());
        // Frames wide enough for a label show their names; the markup-named one (64 of 3,136 bytes) is too narrow.
        Assert.Equal(new[] { "all", "App.Main", ReportCaptures.LambdaShown, "App.Load", "App.Parse", "native_helper", "App.Load" },
            Strings(facts.GetProperty("labels")));
        Assert.True(facts.GetProperty("reset_disabled_initially").GetBoolean());

        // The memory chart says what its marks are and in what units. Buckets of 4 ns: the peak's allocations
        // make 2000 B in bucket 3 (t=15), the tallest bar; the live line's scale tops at the snapshots' 3136 bytes.
        var chart = facts.GetProperty("chart");
        Assert.Equal("bars: bytes this view allocated per 4 ns (left axis)", chart.GetProperty("legend_bars").GetString());
        Assert.Equal("line: tracked live bytes of the whole capture (right axis)", chart.GetProperty("legend_live").GetString());
        (string, double)[] Labels(string axis) => chart.GetProperty(axis).EnumerateArray()
            .Select(l => (l.GetProperty("text").GetString()!, l.GetProperty("centre").GetDouble())).ToArray();
        // Each label centred on its line: the top gridline (6 px into the plot), the middle one (39) and the axis (72).
        Assert.Equal(new[] { 6.0, 39.0, 72.0 }, chart.GetProperty("gridlines").EnumerateArray().Select(g => g.GetDouble()));
        var bars = Labels("y_bars");
        Assert.Equal(new[] { "2.0 KiB", "1000 B", "0 B" }, bars.Select(l => l.Item1));
        var live = Labels("y_live");
        Assert.Equal(new[] { "3.1 KiB", "1.5 KiB", "0 B" }, live.Select(l => l.Item1));
        foreach (var centres in new[] { bars.Select(l => l.Item2), live.Select(l => l.Item2) })
            Assert.True(centres.Zip(new[] { 6.0, 39.0, 72.0 }).All(p => Math.Abs(p.First - p.Second) <= 1), failure);
        Assert.Equal(66, chart.GetProperty("tallest_bar").GetDouble()); // the left axis' top is the tallest bar's top

        // "Icicle" is a toggle: the label stays, aria-pressed says whether it is on.
        var orient = facts.GetProperty("orient");
        (string?, string?) State(string step) => (orient.GetProperty(step).GetProperty("label").GetString(), orient.GetProperty(step).GetProperty("pressed").GetString());
        Assert.Equal(("Icicle", "false"), State("initial"));
        Assert.Equal(("Icicle", "true"), State("clicked"));
        Assert.True(orient.GetProperty("root_on_top").GetBoolean());
        Assert.Equal(("Icicle", "false"), State("clicked_again"));

        // Zoomed into the lambda: it spans the chart (its width is the chart's less the 1 px gap), its callers stay as bars.
        var chartWidth = facts.GetProperty("chart_width").GetInt32();
        Assert.True(chartWidth > 1000, failure);
        var zoom = facts.GetProperty("zoom");
        Assert.Equal(5, zoom.GetProperty("frames").GetInt32());
        Assert.Equal(new[] { "all", "App.Main" }, Strings(zoom.GetProperty("ancestors")));
        Assert.Equal(chartWidth - 1, zoom.GetProperty("zoomed_width").GetDouble());
        Assert.False(zoom.GetProperty("reset_disabled").GetBoolean());
        Assert.Equal(new[]
        {
            "Zoomed to: " + ReportCaptures.LambdaShown, "managed frame",
            "total 1.0 KiB (1,064 bytes, 33.9% of total) in 2 allocations", "own 0 B (0 bytes, 0.0% of total) in 0 allocations",
        }, Strings(zoom.GetProperty("details")));
        // Now wide enough for a label: the markup-named frame shows its name as text.
        Assert.Equal(new[] { "all", "App.Main", ReportCaptures.LambdaShown, ReportCaptures.MarkupMethod, "App.Load" },
            Strings(zoom.GetProperty("labels")));

        var markup = facts.GetProperty("markup");
        Assert.True(markup.GetProperty("frame_text_matches").GetBoolean());
        Assert.Equal(new[] { 0 }, markup.GetProperty("frame_child_elements").EnumerateArray().Select(e => e.GetInt32()).ToArray());
        // Only the page's three scripts (the tree's JSON, the memory snapshots' JSON and the inlined code): the names opened none.
        Assert.Equal(new[] { "application/json", "application/json", "" }, Strings(markup.GetProperty("script_types")));
        Assert.Equal(3, markup.GetProperty("script_elements").GetInt32());
        Assert.Equal(0, markup.GetProperty("chart_script_elements").GetInt32());

        // Search in the zoomed view: App.Load under the lambda, 1,000 of the view's 3,136 bytes.
        var search = facts.GetProperty("search");
        Assert.Equal(1, search.GetProperty("highlighted").GetInt32());
        Assert.Equal(new[] { "App.Load" }, Strings(search.GetProperty("highlighted_labels")));
        Assert.Equal("matched 1 frame: 1000 B (31.9% of total)", search.GetProperty("match_text").GetString());

        var reset = facts.GetProperty("reset");
        Assert.Equal(9, reset.GetProperty("frames").GetInt32());
        Assert.True(reset.GetProperty("reset_disabled").GetBoolean());

        // Dragging across the memory chart from bucket 4 to bucket 7 (4 ns each: allocations made in [16, 32) ns)
        // shows exactly the tree of the peak's allocations made then: Markup 64 at 20, String 40 at 25, String 24 at 30.
        var time = TimeBucketing.For(capture.DurationNs, FlameGraphPage.DefaultTimeBuckets);
        var (t0, t1) = time.Window(4, 7);
        Assert.Equal((16L, 32L), (t0, t1));
        var expected = FlameTree.Build(capture.Peak().Between(t0, t1), ReportSelection.Peak);
        Assert.Equal(128, expected.TotalBytes);
        var shown = facts.GetProperty("window").GetProperty("frames").EnumerateArray()
            .Select(f => (Path: string.Join("/", Strings(f.GetProperty("path"))), Total: f.GetProperty("total").GetInt64(), Count: f.GetProperty("count").GetInt64()))
            .OrderBy(f => f.Path, StringComparer.Ordinal).ToArray();
        Assert.Equal(new[]
        {
            ("", 128L, 3L),
            ("App.Main", 128L, 3L),
            ("App.Main/App.Parse", 40L, 1L),
            ("App.Main/" + ReportCaptures.LambdaShown, 64L, 1L),
            ("App.Main/" + ReportCaptures.LambdaShown + "/" + ReportCaptures.MarkupMethod, 64L, 1L),
        }, shown);
        // The same as the tree the analysis builds for that window (24 B of String at App.Main's own).
        var nodes = new List<(string, long, long)>();
        void Walk(FlameNode node, string path)
        {
            nodes.Add((path, node.TotalBytes, node.Count));
            foreach (var child in node.Children)
                Walk(child, path.Length == 0 ? child.Name : path + "/" + child.Name);
        }
        Walk(expected.Root, "");
        Assert.Equal(nodes.OrderBy(n => n.Item1, StringComparer.Ordinal), shown);
        Assert.Equal("allocations made from 16 ns to 32 ns: 128 B (128 bytes) in 3 allocations, 4.1% of the view",
            facts.GetProperty("window").GetProperty("text").GetString());
        Assert.False(facts.GetProperty("window").GetProperty("reset_disabled").GetBoolean());
        Assert.Equal(1, facts.GetProperty("window").GetProperty("selection_rects").GetInt32());
        Assert.Equal(9, facts.GetProperty("window_reset").GetProperty("frames").GetInt32());
        Assert.True(facts.GetProperty("window_reset").GetProperty("reset_disabled").GetBoolean());

        // The screenshot is a PNG.
        var png = File.ReadAllBytes(screenshot);
        Assert.True(png.Length > 1000, $"screenshot of {png.Length} bytes");
        Assert.Equal(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G' }, png[..4]);
    }
}
