using System.Text.RegularExpressions;
using MemNotebook.Recorder.Analysis;
using MemNotebook.Recorder.Reports;
using XPlot.Plotly;

namespace MemNotebook;

/// <summary>
/// Chart objects for code in notebook cells (XPlot.Plotly <see cref="PlotlyChart"/>s, shown offline with the
/// plotly.js MemNotebook sends once per kernel): the same numbers as the reports.
/// <code>Charts.Timeline(memprofile)</code>, <code>Charts.TopTypes(memprofile.Peak())</code>.
/// XPlot.Plotly rather than Plotly.NET: Plotly.NET needs a newer FSharp.Core than the kernel ships, so it
/// fails to load in the real kernel (docs/notebooks.md).
/// </summary>
public static class Charts
{
    /// <summary>
    /// RSS, managed heap per generation and tracked live bytes over time (MiB), and the GCs as markers
    /// (<see cref="TimelineReport.Data"/>); a cell's capture first has the cell's own tracked bytes.
    /// </summary>
    public static PlotlyChart Timeline(Capture capture)
    {
        var data = TimelineReport.Data(capture);
        var traces = new List<Trace>();
        // A series that is zero throughout (POH, LOH of most cells) is left out; a cell's own series is kept even then.
        foreach (var series in data.Series.Where(s => s.Key == "scope_live" || s.Bytes.Any(b => b != 0)))
            traces.Add(new Scatter
            {
                name = series.Name,
                x = series.TimesMs,
                y = series.Bytes.Select(b => b / 1048576.0),
                mode = "lines",
            });
        var gcs = data.Gcs.Where(g => g.TimeMs is not null).ToList();
        if (gcs.Count > 0)
            traces.Add(new Scatter
            {
                name = "GC",
                x = gcs.Select(g => g.TimeMs!.Value),
                y = gcs.Select(g => g.LiveBytesAtStart / 1048576.0),
                mode = "markers",
                text = gcs.Select(g => $"GC {g.Index}: gen {g.Generation}{(g.Induced ? " (induced)" : "")}, pause {g.PauseMs:N2} ms"),
            });
        var chart = Chart.Plot(traces);
        chart.WithTitle($"Memory over time — {Path.GetFileName(capture.Path)}");
        chart.WithXTitle("time (ms)");
        chart.WithYTitle("MiB");
        chart.WithLegend(true);
        return chart;
    }

    /// <summary>The <paramref name="n"/> types with the most bytes in <paramref name="view"/>, as bars.</summary>
    public static PlotlyChart TopTypes(AllocationView view, int n = 10)
    {
        var types = view.TopTypes(n);
        var names = Enumerable.Range(0, (int)types.Rows.Count).Select(i => (string)types["type"][i]).ToArray();
        var bytes = Enumerable.Range(0, (int)types.Rows.Count).Select(i => (long)types["bytes"][i]).ToArray();
        var chart = Chart.Plot(new Bar { x = bytes, y = names, orientation = "h", name = "bytes" });
        chart.WithTitle($"Top types by bytes — {view.Description}");
        chart.WithXTitle("bytes");
        return chart;
    }

    /// <summary>Allocations per power-of-two size bucket of <paramref name="view"/> (<see cref="AllocationView.SizeHistogram"/>).</summary>
    public static PlotlyChart SizeHistogram(AllocationView view)
    {
        var h = view.SizeHistogram();
        var labels = Enumerable.Range(0, (int)h.Rows.Count).Select(i => $"{ByteUnits.Format((long)h["min_size"][i])}–{ByteUnits.Format((long)h["max_size"][i])}").ToArray();
        var counts = Enumerable.Range(0, (int)h.Rows.Count).Select(i => (long)h["count"][i]).ToArray();
        var chart = Chart.Plot(new Bar { x = labels, y = counts, name = "allocations" });
        chart.WithTitle($"Sizes — {view.Description}");
        chart.WithYTitle("allocations");
        return chart;
    }

    /// <summary>
    /// The chart's HTML with its JSON made safe inside a script element: names come from user code, and a
    /// type named <c>&lt;/script&gt;…</c> must not end the element (<c>&lt;/</c> becomes <c>&lt;\/</c>, the same string in JavaScript).
    /// </summary>
    internal static string SafeHtml(PlotlyChart chart)
    {
        var html = chart.GetInlineHtml();
        // The element's own end tag is the last one: everything between is data and code.
        return Regex.Replace(html, "(<script>)(.*)(</script>)", m =>
            m.Groups[1].Value + m.Groups[2].Value.Replace("</", "<\\/").Replace("<!--", "<\\!--") + m.Groups[3].Value, RegexOptions.Singleline);
    }
}
