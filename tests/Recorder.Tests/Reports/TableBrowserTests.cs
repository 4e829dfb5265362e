using System.Text.Json;
using MemNotebook.Recorder.Reports;
using MemNotebook.Recorder.Tests.Arrow;
using MemNotebook.Recorder.Tests.Capture;
using Xunit;
using LoadedCapture = MemNotebook.Capture;

namespace MemNotebook.Recorder.Tests.Reports;

/// <summary>The table page in headless Chromium (tests/browser/table.mjs): pages of 50, sorting, search; every request blocked.</summary>
public class TableBrowserTests
{
    /// <summary>
    /// 120 types type-0 … type-119 on one thread and stack; type-i has i + 1 objects of 8 bytes (and type-119 is
    /// named like markup): 120 table rows whose bytes and counts both rise with i.
    /// </summary>
    private static TestCaptureWriter Create()
    {
        var w = new TestCaptureWriter();
        var meta = w.Chunk(0).Clock(0, 0).StackNode(1, 0, 0x10).Frame(0x10, 0, "App.Main", "App.dll").Thread(2, 100, 1);
        for (ulong i = 0; i < 120; i++)
            meta.Type(i, i + 1, i == 119 ? "<b>type-119</b>" : $"type-{i}");
        meta.Write();
        var chunk = w.Chunk(2);
        ulong t = 1, address = 0x1000;
        for (ulong i = 0; i < 120; i++)
            for (ulong k = 0; k <= i; k++, t++, address += 8)
                chunk.Alloc(t, i, 8, 1, address);
        chunk.Write();
        w.Chunk(0).Clock(10_000, 10_000).End(10_000, 7260, 0, 7260 * 8).Write();
        return w;
    }

    [Fact]
    public void Table_pages_sorts_and_searches_offline()
    {
        using var scratch = new ScratchFolder();
        var capture = LoadedCapture.Load(scratch.Write("t.memnb", Create()));
        var report = TableReport.Build(capture, new ReportSelection(ReportMode.Allocated));
        Assert.Equal(120, report.Rows.Count);
        var page = Path.Combine(scratch.Root, "table.html");
        File.WriteAllText(page, ReportHtml.Table(report, "t.memnb"));
        var facts = HeadlessBrowser.Run("table.mjs", page, HeadlessBrowser.ScreenshotPath("table.png"));
        var failure = $"facts: {facts}";
        Assert.True(facts.GetProperty("requests_attempted").GetArrayLength() == 0, failure);
        Assert.True(facts.GetProperty("console_errors").GetArrayLength() == 0, failure);
        Assert.True(facts.GetProperty("page_errors").GetArrayLength() == 0, failure);
        var steps = facts.GetProperty("steps");
        string[] Types(string step) => steps.GetProperty(step).GetProperty("types").EnumerateArray().Select(e => e.GetString()!).ToArray();
        string Status(string step) => steps.GetProperty(step).GetProperty("status").GetString()!;

        // Bytes descending (the report's order): type-119 first; 50 a page.
        Assert.Equal("rows 1–50 of 120, page 1 of 3", Status("first"));
        Assert.Equal(Enumerable.Range(70, 50).Reverse().Select(Name), Types("first"));
        Assert.Equal("rows 51–100 of 120, page 2 of 3", Status("second_page"));
        Assert.Equal(Enumerable.Range(20, 50).Reverse().Select(Name), Types("second_page"));
        // Count, descending then ascending; back on page 1.
        Assert.Equal(Enumerable.Range(70, 50).Reverse().Select(Name), Types("by_count"));
        Assert.Equal(Enumerable.Range(0, 50).Select(Name), Types("by_count_ascending"));
        // Search: type-1, type-10…19, type-100…119 (ascending by count still).
        Assert.Equal("rows 1–31 of 31 (120 in all), page 1 of 1", Status("search"));
        Assert.Equal(new[] { 1 }.Concat(Enumerable.Range(10, 10)).Concat(Enumerable.Range(100, 20)).Select(Name), Types("search"));
        // A name like markup is text, found as text.
        Assert.Equal(new[] { "<b>type-119</b>" }, Types("markup_search"));
        Assert.Equal(0, steps.GetProperty("markup_search").GetProperty("markup_elements").GetInt32());
    }

    private static string Name(int i) => i == 119 ? "<b>type-119</b>" : $"type-{i}";

    /// <summary>
    /// 642 types with long generic names, one allocation each of (i + 1) × 20,011 bytes (up to 12.3 MiB), spread over
    /// six stacks whose functions have long names too: 642 rows whose every column is wide.
    /// </summary>
    private static TestCaptureWriter CreateWide()
    {
        var w = new TestCaptureWriter();
        var meta = w.Chunk(0).Clock(0, 0).Thread(2, 7428, 1);
        for (ulong f = 0; f < 6; f++)
            meta.StackNode(f + 1, 0, 0x10 + f)
                .Frame(0x10 + f, 0, $"App.Data.Warehouse.Loaders.IncrementalLoader`1[[App.Data.Warehouse.Model.OrderLineFact, App.Data]].<LoadBatchesAsync>b__12_{f}(System.Collections.Generic.IReadOnlyList`1<App.Data.Row>)", "App.dll");
        for (ulong i = 0; i < 642; i++)
            meta.Type(i, i + 1, $"System.Collections.Generic.Dictionary`2[[System.String, System.Private.CoreLib],[App.Data.Warehouse.Model.OrderLineFact{i}, App.Data]]");
        meta.Write();
        var chunk = w.Chunk(2);
        for (ulong i = 0; i < 642; i++)
            chunk.Alloc(i + 1, i, (i + 1) * 20_011, (long)(i % 6) + 1, 0x1000 + i * 0x10_0000);
        chunk.Write();
        w.Chunk(0).Clock(10_000, 10_000).End(10_000, 642, 0, 0).Write();
        return w;
    }

    [Fact]
    public void Table_page_at_1400_px_aligns_headers_with_their_columns_keeps_numbers_on_one_line_and_pages_over_every_row()
    {
        using var scratch = new ScratchFolder();
        var capture = scratch.Write("wide.memnb", CreateWide());
        var page = Path.Combine(scratch.Root, "table.html");
        // As a user writes it: memnb's default --top is for the terminal, the page holds every row.
        var cli = Cli.CliHarness.Run("table", "--all", "-o", page, capture);
        Assert.Equal((0, $"memnb: wrote {page}\n"), (cli.ExitCode, cli.Err));
        var facts = HeadlessBrowser.Run("layout.mjs", page, "1400", HeadlessBrowser.ScreenshotPath("table-1400.png"));
        var failure = $"facts: {facts}";
        Assert.True(facts.GetProperty("requests_attempted").GetArrayLength() == 0, failure);
        Assert.True(facts.GetProperty("console_errors").GetArrayLength() == 0, failure);
        Assert.True(facts.GetProperty("page_errors").GetArrayLength() == 0, failure);

        Assert.Equal("rows 1–50 of 642, page 1 of 13", facts.GetProperty("status").GetString());
        Assert.Empty(facts.GetProperty("more").EnumerateArray()); // no "… N more rows": the pager has them all
        var table = Assert.Single(facts.GetProperty("tables").EnumerateArray());
        Assert.Equal(642, table.GetProperty("rows_in_page").GetInt32());
        Assert.Equal(50, table.GetProperty("rows_shown").GetInt32());
        var columns = table.GetProperty("columns").EnumerateArray().ToArray();
        Assert.Equal(new[] { "Bytes", "Count", "Size", "Thread", "Type", "Function" }, columns.Select(c => c.GetProperty("header").GetString()));
        foreach (var column in columns)
        {
            var name = column.GetProperty("header").GetString();
            var align = column.GetProperty("header_align").GetString();
            Assert.True(align == (column.GetProperty("numeric").GetBoolean() ? "right" : "left"), $"{name}: {failure}");
            Assert.True(new[] { align } .SequenceEqual(column.GetProperty("cell_aligns").EnumerateArray().Select(a => a.GetString())), $"{name}: {failure}");
            // The header's text starts (left) or ends (right) where its cells' text does.
            Assert.True(column.GetProperty("max_edge_offset").GetDouble() <= 1, $"{name}: {failure}");
            if (column.GetProperty("numeric").GetBoolean())
                Assert.True(column.GetProperty("wrapped_cells").GetInt32() == 0, $"{name} wraps: {failure}");
        }
        // Every column is on screen: the long names wrap, the page does not scroll sideways.
        var viewport = facts.GetProperty("viewport_width").GetInt32();
        Assert.True(facts.GetProperty("scroll_width").GetInt32() <= viewport, failure);
        Assert.True(columns[^1].GetProperty("right").GetInt32() <= viewport, failure);

        // With --top, the page holds that many rows, and its pager says it is part of the table.
        var top = Path.Combine(scratch.Root, "top.html");
        Assert.Equal(0, Cli.CliHarness.Run("table", "--all", "--top", "100", "-o", top, capture).ExitCode);
        var topFacts = HeadlessBrowser.Run("layout.mjs", top, "1400", HeadlessBrowser.ScreenshotPath("table-top.png"));
        Assert.Equal("rows 1–50 of 100, page 1 of 2; this page holds the first 100 of the table's 642 rows", topFacts.GetProperty("status").GetString());
    }
}
