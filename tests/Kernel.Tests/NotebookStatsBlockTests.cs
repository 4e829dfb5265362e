using System.Xml.Linq;
using MemNotebook.Recorder.Tracing;

namespace MemNotebook.Kernel.Tests;

/// <summary>
/// The stats block shown under a cell is plain HTML in the notebook's own page, styled by the notebook (JupyterLab
/// right-aligns every th and td): each column must carry its alignment on its header as well as on its cells.
/// </summary>
[Collection(KernelCollection.Name)]
public sealed class NotebookStatsBlockTests
{
    private static readonly List<object> Kept = new();

    [Fact]
    public void Every_stats_column_header_is_aligned_as_its_cells_and_numbers_do_not_wrap()
    {
        var folder = Directory.CreateTempSubdirectory("memnb-stats-block-").FullName;
        try
        {
            var path = Path.Combine(folder, "block.memnb");
            using (Tracker.Start(path))
                Allocate();
            var html = NotebookRenderer.StatsHtml(Capture.Load(path));
            var tables = XElement.Parse(html).Descendants("table").Where(t => t.Element("thead") is not null).ToList();
            Assert.Equal(2, tables.Count); // types, functions
            foreach (var table in tables)
            {
                var headers = table.Element("thead")!.Descendants("th").ToList();
                Assert.Equal(3, headers.Count);
                var rows = table.Element("tbody")!.Elements("tr").ToList();
                Assert.NotEmpty(rows);
                for (var column = 0; column < headers.Count; column++)
                {
                    var align = Style(headers[column], "text-align");
                    Assert.Equal(column == 0 ? "left" : "right", align);
                    foreach (var row in rows)
                    {
                        var cell = row.Elements("td").ElementAt(column);
                        Assert.Equal(align, Style(cell, "text-align"));
                        if (column > 0)
                            Assert.Equal("nowrap", Style(cell, "white-space"));
                    }
                }
            }
        }
        finally
        {
            Kept.Clear();
            Directory.Delete(folder, recursive: true);
        }
    }

    private static string? Style(XElement element, string property) =>
        (element.Attribute("style")?.Value ?? "").Split(';', StringSplitOptions.RemoveEmptyEntries)
            .Select(d => d.Split(':', 2)).Where(d => d.Length == 2 && d[0].Trim() == property).Select(d => d[1].Trim()).LastOrDefault();

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private static void Allocate()
    {
        for (var i = 0; i < 100; i++)
            Kept.Add(new byte[100]);
        Kept.Add(new string('x', 10));
    }
}
