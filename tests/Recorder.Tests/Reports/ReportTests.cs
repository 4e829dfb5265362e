using MemNotebook.Recorder.Reports;
using MemNotebook.Recorder.Tests.Arrow;
using Xunit;
using LoadedCapture = MemNotebook.Capture;

namespace MemNotebook.Recorder.Tests.Reports;

public class ReportTests
{
    private const string M = ReportCaptures.MarkupMethod;
    private const string T = ReportCaptures.MarkupType;

    private static LoadedCapture Load(ScratchFolder scratch) => LoadedCapture.Load(scratch.Write("r.memnb", ReportCaptures.Create()));

    [Fact]
    public void Summary_ranks_functions_by_total_bytes_with_own_bytes_equal_to_the_stats_attribution()
    {
        using var scratch = new ScratchFolder();
        var capture = Load(scratch);
        var summary = SummaryReport.Build(capture, ReportSelection.Peak, top: 10);
        Assert.Equal((3136, 6), (summary.Bytes, summary.Count));
        Assert.Equal(new SummaryRow[]
        {
            new("App.Main", 3128, 5, 24, 1, 100.0 * 3128 / 3136),
            new("App.Load", 3000, 2, 3000, 2, 100.0 * 3000 / 3136),
            new("App.Parse", 2040, 2, 40, 1, 100.0 * 2040 / 3136),
            new(ReportCaptures.LambdaShown, 1064, 2, 0, 0, 100.0 * 1064 / 3136),
            new(M, 64, 1, 64, 1, 100.0 * 64 / 3136),
            new("[unknown]", 8, 1, 8, 1, 100.0 * 8 / 3136),
        }, summary.Rows);
        Assert.Equal(summary.Bytes, summary.Rows.Sum(r => r.OwnBytes));
    }

    [Fact]
    public void Summary_text_lists_the_top_functions_and_how_many_are_left_out()
    {
        using var scratch = new ScratchFolder();
        var text = ReportText.Summary(SummaryReport.Build(Load(scratch), new ReportSelection(ReportMode.Temporary, 2), top: 1));
        Assert.Equal(
            "Functions, temporary (freed before 2 other allocations on the same thread): 64 B in 2 allocations\n\n" +
            "  Total bytes       %    Own bytes      Count  Function\n" +
            "         64 B  100.0%         24 B          2  App.Main\n" +
            "  … 1 more functions\n", text);
    }

    [Fact]
    public void Tree_text_is_limited_in_depth_and_width_and_escapes_line_breaking_characters()
    {
        using var scratch = new ScratchFolder();
        var tree = FlameTree.Build(Load(scratch), ReportSelection.Peak);
        Assert.Equal(
            "Biggest allocation paths, alive at the peak: 3.1 KiB in 6 allocations\n\n" +
            " 100.0%     3.1 KiB  all\n" +
            "  99.7%     3.1 KiB  ├─ App.Main\n" +
            "  65.1%     2.0 KiB  │  ├─ App.Parse\n" +
            "  63.8%     2.0 KiB  │  │  └─ native_helper [native]\n" +
            "  33.9%     1.0 KiB  │  └─ lambda in App.Program.Main\n" +
            "  31.9%      1000 B  │     ├─ App.Load\n" +
            "   2.0%        64 B  │     └─ </script><script>alert(1)</script>.Run<!--\\u2028\\u2029-->\n" +
            "   0.3%         8 B  └─ [no stack]\n", ReportText.Tree(tree, depth: 3, width: 5));
        Assert.Equal(
            "Biggest allocation paths, alive at the peak: 3.1 KiB in 6 allocations\n\n" +
            " 100.0%     3.1 KiB  all\n" +
            "  99.7%     3.1 KiB  ├─ App.Main\n" +
            "  65.1%     2.0 KiB  │  ├─ App.Parse\n" +
            "  33.9%     1.0 KiB  │  └─ … 1 more\n" +
            "   0.3%         8 B  └─ … 1 more\n", ReportText.Tree(tree, depth: 2, width: 1));
    }

    [Fact]
    public void Table_groups_by_thread_type_function_and_size_bucket_in_the_requested_order()
    {
        using var scratch = new ScratchFolder();
        var capture = Load(scratch);
        var bytes = TableReport.Build(capture, ReportSelection.Peak);
        Assert.Equal(new TableRow[]
        {
            new("101", "App.Big", "App.Load", 1024, 2047, 1, 2000),
            new("100 (main)", "App.Big", "App.Load", 512, 1023, 1, 1000),
            new("100 (main)", T, M, 64, 127, 1, 64),
            new("101", "System.String", "App.Parse", 32, 63, 1, 40),
            new("100 (main)", "System.String", "App.Main", 16, 31, 1, 24),
            new("101", T, "[unknown]", 8, 15, 1, 8),
        }, bytes.Rows);
        Assert.Equal(bytes.Bytes, bytes.Rows.Sum(r => r.Bytes));
        var byThread = TableReport.Build(capture, ReportSelection.Peak, TableSort.Thread);
        Assert.Equal([1000L, 64, 24, 2000, 40, 8], byThread.Rows.Select(r => r.Bytes));
        var byType = TableReport.Build(capture, ReportSelection.Peak, TableSort.Type, top: 2);
        Assert.Equal([T, T], byType.Rows.Select(r => r.Type)); // '<' sorts before letters
        Assert.Equal([64L, 8], byType.Rows.Select(r => r.Bytes));
        Assert.Equal(6, byType.Groups);
        var all = TableReport.Build(capture, new ReportSelection(ReportMode.Allocated), TableSort.Count);
        Assert.Equal(new TableRow("100 (main)", "System.String", "App.Main", 16, 31, 2, 40), all.Rows[0]);
    }

    [Fact]
    public void Table_text_aligns_its_columns()
    {
        using var scratch = new ScratchFolder();
        var text = ReportText.Table(TableReport.Build(Load(scratch), new ReportSelection(ReportMode.Leaks), TableSort.Bytes, top: 3));
        Assert.Equal(
            "Allocations by thread, type, function and size, leaked (alive at the end): 1.1 KiB in 4 allocations\n\n" +
            "      Bytes      Count  Size            Thread      Type                                Function\n" +
            "     1000 B          1  512–1,023 B     100 (main)  App.Big                             App.Load\n" +
            $"       64 B          1  64–127 B        100 (main)  {T}  </script><script>alert(1)</script>.Run<!--\\u2028\\u2029-->\n" +
            "       16 B          1  16–31 B         100 (main)  System.String                       App.Main\n" +
            "  … 1 more rows\n", text);
    }

    [Fact]
    public void Html_reports_show_markup_names_as_text_and_load_nothing()
    {
        using var scratch = new ScratchFolder();
        var capture = Load(scratch);
        var pages = new[]
        {
            ReportHtml.Summary(SummaryReport.Build(capture, ReportSelection.Peak, 10), "a<b>.memnb"),
            ReportHtml.Tree(FlameTree.Build(capture, ReportSelection.Peak), "a<b>.memnb", depth: 10, width: 10),
            ReportHtml.Table(TableReport.Build(capture, ReportSelection.Peak), "a<b>.memnb"),
        };
        // The table page's one script: table.js (sorting, search, pages), allowed by its hash and nothing else.
        var tableScript = System.Text.RegularExpressions.Regex.Match(pages[2], "<script>(.*?)</script>\n", System.Text.RegularExpressions.RegexOptions.Singleline);
        Assert.True(tableScript.Success);
        Assert.StartsWith("// The table page of `memnb table -o`", tableScript.Groups[1].Value);
        var hash = Convert.ToBase64String(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(tableScript.Groups[1].Value)));
        Assert.Contains($"content=\"default-src 'none'; style-src 'unsafe-inline'; script-src 'sha256-{hash}'\"", pages[2]);
        pages[2] = pages[2].Remove(tableScript.Index, tableScript.Length)
            .Replace($"; script-src 'sha256-{hash}'", "");
        foreach (var html in pages)
        {
            Assert.StartsWith("<!DOCTYPE html>", html);
            Assert.Contains("content=\"default-src 'none'; style-src 'unsafe-inline'\"", html);
            Assert.DoesNotContain("<script", html, StringComparison.OrdinalIgnoreCase);
            Assert.DoesNotContain("<!--", html);
            Assert.DoesNotContain("\u2028", html);
            foreach (var external in new[] { "src=", "href=", "http:", "https:", "url(", "@import" })
                Assert.DoesNotContain(external, html);
            Assert.Contains("&lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt;.Run&lt;!--&#x2028;&#x2029;--&gt;", html);
            Assert.Contains("a&lt;b&gt;.memnb", html);
        }
        Assert.Contains("<td class=\"name\">lambda in App.Program.Main</td>", pages[0]);
        Assert.Contains("<tr><td><span title=\"3128 bytes\">3.1 KiB</span></td><td>99.7%</td><td><span title=\"24 bytes\">24 B</span></td><td>5</td><td class=\"name\">App.Main</td></tr>", pages[0]);
        Assert.Contains("<span class=\"name native\">native_helper</span>", pages[1]);
        Assert.Contains($"<td class=\"name\">&lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt;</td>", pages[2]);
    }

    [Fact]
    public void Html_tree_nests_children_as_lists_down_to_the_depth_and_summarizes_the_rest()
    {
        using var scratch = new ScratchFolder();
        var html = ReportHtml.Tree(FlameTree.Build(Load(scratch), ReportSelection.Peak), "r.memnb", depth: 1, width: 1);
        Assert.Equal(2, html.Split("<li").Length - 1 - 1); // App.Main and the "more" line below the root
        Assert.Contains("<li class=\"more\">… 1 more, <span title=\"8 bytes\">8 B</span></li>", html);
        Assert.Contains("<span class=\"name managed\">App.Main</span> <span class=\"own\">own <span title=\"24 bytes\">24 B</span></span></li>", html);
    }
}
