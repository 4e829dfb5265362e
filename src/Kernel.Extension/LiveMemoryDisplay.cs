using System.Diagnostics;
using System.Net;
using System.Text;
using MemNotebook.Recorder.Analysis;
using MemNotebook.Recorder.Tracing;
using Microsoft.AspNetCore.Html;
using Microsoft.DotNet.Interactive;
using Microsoft.DotNet.Interactive.Formatting;

namespace MemNotebook.Kernel;

/// <summary>
/// <c>--live</c>: a gauge (RSS, GC heap, allocations recorded so far) and a small chart of RSS and GC heap
/// over time, updated every 250 ms while the cell runs (through <see cref="DisplayedValue.Update"/>).
/// </summary>
internal sealed class LiveMemoryDisplay
{
    public const string CssClass = "memnb-live";
    private const int IntervalMs = 250;

    private readonly KernelInvocationContext context;
    private readonly DisplayedValue display;
    private readonly Timer timer;
    private readonly Stopwatch clock = Stopwatch.StartNew();
    private readonly List<(double Seconds, long Rss, long Heap)> samples = [];
    private readonly object gate = new();
    private bool stopped;

    private LiveMemoryDisplay(KernelInvocationContext context, DisplayedValue display)
    {
        this.context = context;
        this.display = display;
        timer = new Timer(_ => Update(final: false), null, IntervalMs, IntervalMs);
    }

    public static LiveMemoryDisplay Start(KernelInvocationContext context)
    {
        var display = context.Display(new HtmlString(Render([], 0, final: false)), HtmlFormatter.MimeType);
        return new LiveMemoryDisplay(context, display);
    }

    public void Stop()
    {
        timer.Dispose();
        Update(final: true);
    }

    private void Update(bool final)
    {
        lock (gate)
        {
            if (stopped)
                return;
            stopped = final;
            using var process = Process.GetCurrentProcess();
            samples.Add((clock.Elapsed.TotalSeconds, process.WorkingSet64, GC.GetTotalMemory(false)));
            var recorded = Tracker.IsRecording || final ? (long)Tracker.RecordedAllocations : 0;
            DisplayUpdate.Html(context, display, Render(samples, recorded, final));
        }
    }

    internal static string Render(IReadOnlyList<(double Seconds, long Rss, long Heap)> samples, long recorded, bool final)
    {
        var html = new StringBuilder($"<div class=\"{CssClass}\" style=\"font-family:sans-serif;font-size:13px\">");
        html.Append(final ? "<b>recorded</b> " : "<b>recording…</b> ");
        if (samples.Count > 0)
        {
            var last = samples[^1];
            html.Append($"{last.Seconds:N1} s · RSS {E(ByteUnits.Format(last.Rss))} · GC heap {E(ByteUnits.Format(last.Heap))} · {recorded:N0} allocations recorded");
            html.Append(Chart(samples));
        }
        html.Append("</div>");
        return html.ToString();
    }

    /// <summary>RSS (blue) and GC heap (orange) as two polylines, scaled to the largest value seen.</summary>
    private static string Chart(IReadOnlyList<(double Seconds, long Rss, long Heap)> samples)
    {
        const int width = 400, height = 60;
        var maxT = Math.Max(samples[^1].Seconds, 0.001);
        var maxY = Math.Max(1, samples.Max(s => Math.Max(s.Rss, s.Heap)));
        string Line(Func<(double Seconds, long Rss, long Heap), long> value) => string.Join(" ",
            samples.Select(s => $"{s.Seconds / maxT * width:F1},{height - (double)value(s) / maxY * height:F1}"));
        return $"<br><svg width=\"{width}\" height=\"{height}\" style=\"border:1px solid #ddd\">" +
               $"<polyline fill=\"none\" stroke=\"#1f77b4\" points=\"{Line(s => s.Rss)}\"/>" +
               $"<polyline fill=\"none\" stroke=\"#ff7f0e\" points=\"{Line(s => s.Heap)}\"/></svg>";
    }

    private static string E(string text) => WebUtility.HtmlEncode(text);
}
