using System.Diagnostics;
using System.Net;
using Microsoft.AspNetCore.Html;
using Microsoft.DotNet.Interactive;
using Microsoft.DotNet.Interactive.Formatting;

namespace MemNotebook.Kernel;

/// <summary>
/// One line above a profiled cell's result that says what the profiler is doing: recording while the cell runs, then
/// each step after it (reading the capture scoped to the cell's code, with its percentage; making the reports; loading the
/// tables a report needs, with the conversion's percentage), and at the end how
/// long they took and that the reports follow the cell's result. Updated in place (<see cref="DisplayUpdate"/>),
/// at most every 250 ms within a step.
/// </summary>
internal sealed class CellProgress
{
    public const string CssClass = "memnb-progress";
    private const int IntervalMs = 250;

    private readonly KernelInvocationContext context;
    private readonly DisplayedValue display;
    private readonly Stopwatch sinceUpdate = Stopwatch.StartNew();
    private string? lastStep;

    private CellProgress(KernelInvocationContext context, DisplayedValue display)
    {
        this.context = context;
        this.display = display;
    }

    public static CellProgress Start(KernelInvocationContext context) =>
        new(context, context.Display(new HtmlString(Html("recording the cell…")), HtmlFormatter.MimeType));

    /// <summary>A step after the cell and, when known, the fraction of it done.</summary>
    public void Step(string step, double? fraction)
    {
        if (step == lastStep && sinceUpdate.ElapsedMilliseconds < IntervalMs)
            return;
        lastStep = step;
        sinceUpdate.Restart();
        Publish(Html(fraction is double f ? $"{step}: {Math.Clamp(f, 0, 1):P0}…" : $"{step}…"));
    }

    /// <summary>The reports are shown: how long the work after the cell took, step by step.</summary>
    public void Done(IReadOnlyList<CellReports.Step> steps) =>
        Publish(Html($"reports below the cell's result, made in {steps.Sum(s => s.Elapsed.TotalSeconds):N1} s after it (" +
            string.Join(", ", steps.Select(s => $"{s.Name} {s.Elapsed.TotalSeconds:N1} s")) + ")"));

    public void Failed() => Publish(Html("the reports could not be made (below)"));

    private void Publish(string html) => DisplayUpdate.Html(context, display, html);

    private static string Html(string text) =>
        $"<div class=\"{CssClass}\" style=\"font-family:sans-serif;font-size:12px;color:#555\">#!memprofile: {WebUtility.HtmlEncode(text)}</div>";
}
