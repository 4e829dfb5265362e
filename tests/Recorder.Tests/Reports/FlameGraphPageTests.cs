using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using MemNotebook.Recorder.Reports;
using MemNotebook.Recorder.Tests.Arrow;
using Xunit;
using LoadedCapture = MemNotebook.Capture;

namespace MemNotebook.Recorder.Tests.Reports;

public class FlameGraphPageTests
{
    private const string DataOpen = "<script type=\"application/json\" id=\"fg-data\">";

    private static LoadedCapture Load(ScratchFolder scratch) => LoadedCapture.Load(scratch.Write("r.memnb", ReportCaptures.Create()));

    private static string Page(LoadedCapture capture, ReportSelection selection, bool inverted = false, bool splitThreads = false)
    {
        var writer = new StringWriter();
        FlameGraphPage.Write(capture, selection, new FlameGraphOptions(inverted, splitThreads, "/tmp/r.memnb"), writer);
        return writer.ToString();
    }

    /// <summary>The text of the page's JSON block.</summary>
    internal static string EmbeddedJson(string page)
    {
        var start = page.IndexOf(DataOpen, StringComparison.Ordinal);
        Assert.True(start >= 0, "no JSON block");
        start += DataOpen.Length;
        return page[start..page.IndexOf("</script>", start, StringComparison.Ordinal)];
    }

    private static (long Total, long Own, long Count, long OwnCount) Sums(JsonElement node)
    {
        var (own, ownCount) = (node.GetProperty("own").GetInt64(), node.GetProperty("own_count").GetInt64());
        if (node.TryGetProperty("children", out var children))
            foreach (var child in children.EnumerateArray())
            {
                var sums = Sums(child);
                (own, ownCount) = (own + sums.Own, ownCount + sums.OwnCount);
            }
        return (node.GetProperty("total").GetInt64(), own, node.GetProperty("count").GetInt64(), ownCount);
    }

    public static TheoryData<ReportMode, int, bool, bool> Shapes()
    {
        var data = new TheoryData<ReportMode, int, bool, bool>();
        foreach (var (mode, threshold) in new[] { (ReportMode.Peak, 1), (ReportMode.Allocated, 1), (ReportMode.Leaks, 1), (ReportMode.Temporary, 1), (ReportMode.Temporary, 2) })
            foreach (var inverted in new[] { false, true })
                foreach (var split in new[] { false, true })
                    data.Add(mode, threshold, inverted, split);
        return data;
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public void Embedded_json_parses_back_to_the_tree_of_the_view(ReportMode mode, int threshold, bool inverted, bool split)
    {
        using var scratch = new ScratchFolder();
        var capture = Load(scratch);
        var selection = new ReportSelection(mode, threshold);
        var view = selection.ViewOf(capture);
        var json = EmbeddedJson(Page(capture, selection, inverted, split));

        Assert.Equal(FlameJson.ToJson(FlameTree.Build(capture, selection, inverted, split, FlameGraphPage.DefaultTimeBuckets)), json);
        using var document = JsonDocument.Parse(json);
        var data = document.RootElement;
        Assert.Equal(view.Bytes, data.GetProperty("total_bytes").GetInt64());
        Assert.Equal(view.Count, data.GetProperty("count").GetInt64());
        Assert.Equal(inverted, data.GetProperty("inverted").GetBoolean());
        Assert.Equal(split, data.GetProperty("split_threads").GetBoolean());
        // Every byte is someone's own: the own bytes of all frames add up to the root's total.
        Assert.Equal((view.Bytes, view.Bytes, (long)view.Count, (long)view.Count), Sums(data.GetProperty("root")));
    }

    /// <summary>Frame path → (total, count) of a JSON tree, keeping only the own allocations in buckets first..last.</summary>
    private static Dictionary<string, (long Total, long Count)> Windowed(JsonElement node, int first, int last, string path = "")
    {
        var result = new Dictionary<string, (long, long)>();
        long Walk(JsonElement n, string p, out long count)
        {
            long total = 0;
            count = 0;
            if (n.TryGetProperty("t", out var t))
            {
                var triples = t.EnumerateArray().Select(e => e.GetInt64()).ToArray();
                for (var i = 0; i < triples.Length; i += 3)
                    if (triples[i] >= first && triples[i] <= last)
                        (count, total) = (count + triples[i + 1], total + triples[i + 2]);
            }
            if (n.TryGetProperty("children", out var children))
                foreach (var child in children.EnumerateArray())
                {
                    total += Walk(child, p + "/" + child.GetProperty("name").GetString(), out var c);
                    count += c;
                }
            if (count > 0)
                result[p] = (total, count);
            return total;
        }
        Walk(node, path, out _);
        return result;
    }

    private static Dictionary<string, (long Total, long Count)> Paths(FlameNode node, string path = "", Dictionary<string, (long, long)>? into = null)
    {
        into ??= new();
        if (node.Count > 0)
            into[path] = (node.TotalBytes, node.Count);
        foreach (var child in node.Children)
            Paths(child, path + "/" + child.Name, into);
        return into;
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public void Time_buckets_give_the_tree_of_the_allocations_made_in_any_window(ReportMode mode, int threshold, bool inverted, bool split)
    {
        using var scratch = new ScratchFolder();
        var capture = Load(scratch);
        var selection = new ReportSelection(mode, threshold);
        var view = selection.ViewOf(capture);
        using var document = JsonDocument.Parse(EmbeddedJson(Page(capture, selection, inverted, split)));
        var time = document.RootElement.GetProperty("time");
        var bucketing = new TimeBucketing(time.GetProperty("buckets").GetInt32(), time.GetProperty("bucket_ns").GetInt64(), time.GetProperty("duration_ns").GetInt64());
        Assert.Equal(TimeBucketing.For(capture.DurationNs, FlameGraphPage.DefaultTimeBuckets), bucketing);
        // Allocations at 10, 15, 20, 25, 30, 35 and 150 ns of 1,000 in 4 ns buckets.
        Assert.Equal(4, bucketing.BucketNs);
        foreach (var (first, last) in new[] { (0, 255), (0, 3), (2, 5), (4, 4), (5, 8), (6, 40), (37, 37), (38, 255), (100, 200) })
        {
            var (t0, t1) = bucketing.Window(first, last);
            var expected = Paths(FlameTree.Build(view.Between(t0, t1), selection, inverted, split).Root);
            Assert.Equal(expected.OrderBy(kv => kv.Key), Windowed(document.RootElement.GetProperty("root"), first, last).OrderBy(kv => kv.Key));
        }
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public void Sparse_and_dense_time_tables_give_the_same_buckets_and_widen_alike(ReportMode mode, int threshold, bool inverted, bool split)
    {
        using var scratch = new ScratchFolder();
        var capture = Load(scratch);
        var selection = new ReportSelection(mode, threshold);
        var tree = FlameTree.Build(selection.ViewOf(capture), selection, inverted, split).Prune(6);
        foreach (var maxEntries in new[] { long.MaxValue, 4, 1 })
        {
            var dense = tree.WithTimeBuckets(FlameGraphPage.DefaultTimeBuckets, maxEntries);
            var sparse = tree.WithTimeBuckets(FlameGraphPage.DefaultTimeBuckets, maxEntries, maxDenseCells: 0);
            Assert.Equal(FlameJson.ToJson(dense), FlameJson.ToJson(sparse));
            Assert.True(dense.TimeEntries() <= maxEntries || dense.Time!.Buckets == 1, $"{dense.TimeEntries()} entries in {dense.Time!.Buckets} buckets");
        }
    }

    [Fact]
    public void Merged_frames_carry_the_time_buckets_of_everything_they_stand_for()
    {
        using var scratch = new ScratchFolder();
        var capture = Load(scratch);
        var selection = new ReportSelection(ReportMode.Allocated);
        var tree = FlameTree.Build(capture.All, selection, description: selection.Title);
        var page = FlameGraphPage.ToHtml(tree, "r.memnb", maxNodes: 5, timeBuckets: FlameGraphPage.DefaultTimeBuckets);
        using var document = JsonDocument.Parse(EmbeddedJson(page));
        var root = document.RootElement.GetProperty("root");
        Assert.Contains("smaller frame", root.GetRawText());
        var time = TimeBucketing.For(capture.DurationNs, FlameGraphPage.DefaultTimeBuckets);
        foreach (var (first, last) in new[] { (0, 255), (0, 3), (2, 5), (4, 4), (5, 8), (6, 40), (38, 255) })
        {
            var (t0, t1) = time.Window(first, last);
            var expected = Paths(FlameTree.Build(capture.All.Between(t0, t1), selection).Root);
            var shown = Windowed(root, first, last);
            // Every kept frame's total is the whole tree's at that path; the merged nodes make up the rest.
            foreach (var (path, totals) in shown.Where(kv => !kv.Key.Contains("smaller frame")))
                Assert.Equal(expected[path], totals);
            Assert.Equal(expected.GetValueOrDefault(""), shown.GetValueOrDefault(""));
        }
    }

    [Fact]
    public void Page_of_a_tree_given_time_buckets_and_memory_equals_the_page_of_the_capture()
    {
        using var scratch = new ScratchFolder();
        var capture = LoadedCapture.Load(scratch.Write("t.memnb", TimelineReportTests.Create()));
        var fromCapture = new StringWriter();
        FlameGraphPage.Write(capture, ReportSelection.Peak, new FlameGraphOptions(Source: "t.memnb"), fromCapture);
        var tree = FlameTree.Build(capture.Peak(), ReportSelection.Peak, description: ReportSelection.Peak.Title);
        var fromTree = FlameGraphPage.ToHtml(tree, "t.memnb", memory: TimelineReport.Data(capture), timeBuckets: FlameGraphPage.DefaultTimeBuckets);
        Assert.Equal(fromCapture.ToString(), fromTree);
        // The snapshots' tracked live bytes, for the chart's line.
        Assert.Contains("<script type=\"application/json\" id=\"fg-memory\">{\"times_ms\":[10,20,30],\"tracked_live\":[10000,6000,6000]}</script>", fromTree);
        Assert.True(JsonDocument.Parse(EmbeddedJson(fromTree)).RootElement.TryGetProperty("time", out _));
        var untimed = FlameGraphPage.ToHtml(tree, "t.memnb");
        Assert.False(JsonDocument.Parse(EmbeddedJson(untimed)).RootElement.TryGetProperty("time", out _));
        Assert.DoesNotContain("fg-memory\">", untimed);
    }

    [Fact]
    public void Expected_totals_per_mode()
    {
        using var scratch = new ScratchFolder();
        var capture = Load(scratch);
        long Total(ReportSelection s) => JsonDocument.Parse(EmbeddedJson(Page(capture, s))).RootElement.GetProperty("root").GetProperty("total").GetInt64();
        Assert.Equal(3136, Total(ReportSelection.Peak));
        Assert.Equal(3152, Total(new ReportSelection(ReportMode.Allocated)));
        Assert.Equal(1088, Total(new ReportSelection(ReportMode.Leaks)));
        Assert.Equal(24, Total(new ReportSelection(ReportMode.Temporary, 1)));
        Assert.Equal(64, Total(new ReportSelection(ReportMode.Temporary, 2)));
    }

    [Fact]
    public void Markup_named_frames_appear_only_escaped()
    {
        using var scratch = new ScratchFolder();
        var capture = Load(scratch);
        foreach (var split in new[] { false, true })
        {
            var page = Page(capture, new ReportSelection(ReportMode.Allocated), splitThreads: split);
            Assert.Contains(@"\u003C/script\u003E\u003Cscript\u003Ealert(1)\u003C/script\u003E.Run\u003C!--\u2028\u2029--\u003E", page);
            Assert.DoesNotContain("<script>alert", page, StringComparison.OrdinalIgnoreCase);
            Assert.DoesNotContain("alert(1)</script>", page, StringComparison.OrdinalIgnoreCase);
            Assert.DoesNotContain("<!--", page);
            Assert.DoesNotContain("\u2028", page);
            // Exactly two script elements, each closed once: the JSON block and the page's script.
            Assert.Equal(2, Regex.Matches(page, "<script", RegexOptions.IgnoreCase).Count);
            Assert.Equal(2, Regex.Matches(page, "</script", RegexOptions.IgnoreCase).Count);
            Assert.Single(Regex.Matches(page, "</style", RegexOptions.IgnoreCase));
            // The page's script puts names into the DOM as text only.
            var script = page[(page.LastIndexOf("<script>", StringComparison.Ordinal) + "<script>".Length)..];
            Assert.DoesNotContain("innerHTML", script);
            Assert.DoesNotContain("outerHTML", script);
            Assert.DoesNotContain("insertAdjacentHTML", script);
            Assert.DoesNotContain("document.write", script);
            Assert.DoesNotContain("eval(", script);
        }
    }

    [Fact]
    public void The_page_written_html_encoded_is_the_page_html_encoded()
    {
        // A notebook shows the page in a frame's srcdoc: written encoded, it must be the encoding of the page, markup-named
        // frames, a source with quotes and non-ASCII characters, pruning and time buckets included.
        using var scratch = new ScratchFolder();
        var capture = Load(scratch);
        var memory = TimelineReport.Data(capture);
        foreach (var mode in new[] { ReportMode.Allocated, ReportMode.Peak })
            foreach (var maxNodes in new[] { FlameGraphPage.DefaultMaxNodes, 4 })
            {
                var selection = new ReportSelection(mode);
                var tree = FlameTree.Build(selection.ViewOf(capture), selection);
                const string source = "r \"é\" & <x>'.memnb";
                var encoded = new StringBuilder("before");
                FlameGraphPage.WriteHtmlEncoded(tree, source, encoded, maxNodes, memory, FlameGraphPage.DefaultTimeBuckets);
                Assert.Equal("before" + System.Net.WebUtility.HtmlEncode(FlameGraphPage.ToHtml(tree, source, maxNodes, memory, FlameGraphPage.DefaultTimeBuckets)),
                    encoded.ToString());
            }
    }

    [Fact]
    public void Page_loads_nothing_external_and_its_policy_allows_only_its_own_script_and_style()
    {
        using var scratch = new ScratchFolder();
        var page = Page(Load(scratch), ReportSelection.Peak, splitThreads: true);
        Assert.StartsWith("<!DOCTYPE html>", page);
        Assert.Empty(Regex.Matches(page, "https?:", RegexOptions.IgnoreCase));
        Assert.Empty(Regex.Matches(page, @"\b(src|href|action)\s*=", RegexOptions.IgnoreCase));
        Assert.DoesNotContain("url(", page, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("@import", page, StringComparison.OrdinalIgnoreCase);

        var policy = Regex.Match(page, "<meta http-equiv=\"Content-Security-Policy\" content=\"([^\"]*)\">").Groups[1].Value;
        Assert.Equal(FlameGraphPage.ContentSecurityPolicy, policy);
        Assert.StartsWith("default-src 'none'; ", policy);
        var script = Regex.Match(page, "<script>(.*)</script>", RegexOptions.Singleline).Groups[1].Value;
        var style = Regex.Match(page, "<style>(.*)</style>", RegexOptions.Singleline).Groups[1].Value;
        Assert.Equal(
            $"default-src 'none'; script-src 'sha256-{Sha256(script)}'; style-src 'sha256-{Sha256(style)}'; base-uri 'none'; form-action 'none'",
            policy);
        Assert.Contains("addEventListener('click'", script);
        Assert.Contains(".frame", style);
    }

    [Fact]
    public void Heading_names_the_view_and_escapes_the_source()
    {
        using var scratch = new ScratchFolder();
        var capture = Load(scratch);
        var tree = FlameTree.Build(capture, new ReportSelection(ReportMode.Leaks), inverted: true);
        var page = FlameGraphPage.ToHtml(tree, "/tmp/<b>.memnb");
        Assert.Contains("<title>Allocating frames and their callers — &lt;b&gt;.memnb</title>", page);
        Assert.Contains("<p class=\"meta\">/tmp/&lt;b&gt;.memnb: leaked (alive at the end) — 1.1 KiB in 4 allocations</p>", page);
    }

    private static string Sha256(string text) => Convert.ToBase64String(SHA256.HashData(Encoding.UTF8.GetBytes(text)));
}
