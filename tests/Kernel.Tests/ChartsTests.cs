using Microsoft.DotNet.Interactive.Events;

namespace MemNotebook.Kernel.Tests;

[Collection(KernelCollection.Name)]
public sealed class ChartsTests
{
    [Fact]
    public async Task Charts_render_in_a_cell_with_plotly_sent_once()
    {
        using var k = await KernelHarness.StartAsync();
        var cell = await k.RunAsync($"#!memprofile --report none --output {k.Folder}/c.memnb\nvar arrays = Enumerable.Range(0, 300).Select(i => new byte[1000]).ToList();");
        Assert.Null(cell.Failure);

        var timeline = await k.RunAsync("Charts.Timeline(memprofile)");
        Assert.Null(timeline.Failure);
        var html = Html(timeline);
        Assert.Contains($"class=\"{NotebookRenderer.PlotlyClass}\"", html);
        Assert.Contains($"<div class=\"{NotebookRenderer.ChartClass}\">", html);
        Assert.Contains("Plotly.newPlot(", html);
        Assert.Contains("\"name\":\"RSS\"", html);
        Assert.Contains("\"name\":\"GC\"", html);

        var types = await k.RunAsync("Charts.TopTypes(memprofile.All, 3)");
        Assert.Null(types.Failure);
        var bars = Html(types);
        Assert.DoesNotContain(NotebookRenderer.PlotlyClass, bars); // sent once per kernel
        Assert.Contains("\"y\":[\"System.Byte[]\"", bars);
        // The bars carry the view's numbers: the most bytes are the 300 arrays of 1,024 bytes (and any other byte[]).
        var top = await k.LongAsync("""(long)memprofile.All.TopTypes(1)["bytes"][0]""");
        Assert.True(top >= 300 * 1024, $"{top}");
        Assert.Contains($"\"x\":[{top},", bars);

        var sizes = await k.RunAsync("Charts.SizeHistogram(memprofile.All)");
        Assert.Null(sizes.Failure);
        Assert.Contains("\"type\":\"bar\"", Html(sizes));
    }

    [Fact]
    public void Names_in_chart_data_cannot_end_the_script_element()
    {
        var chart = XPlot.Plotly.Chart.Plot(new XPlot.Plotly.Bar { x = new[] { 1 }, y = new[] { "</script><script>alert(1)</script><!--" } });
        var html = Charts.SafeHtml(chart);
        Assert.Equal(1, html.Split("</script>").Length - 1); // only the element's own end tag
        Assert.Contains("<\\/script><script>alert(1)<\\/script><\\!--", html);
    }

    private static string Html(CellResult cell) =>
        string.Join("\n", cell.Events.OfType<DisplayEvent>().SelectMany(e => e.FormattedValues).Where(v => v.MimeType == "text/html").Select(v => v.Value));
}
