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
}
