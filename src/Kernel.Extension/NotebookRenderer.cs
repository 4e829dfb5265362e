using System.Net;
using System.Text;
using MemNotebook.Recorder.Analysis;
using MemNotebook.Recorder.Reports;

namespace MemNotebook.Kernel;

/// <summary>
/// The reports of a profiled cell as notebook HTML outputs. Every page-sized report (flame graph,
/// summary, table) is the same self-contained page the CLI writes, shown in a sandboxed
/// <c>iframe srcdoc</c>: its script and style stay inside it, it needs no network, and it looks the same
/// in Jupyter, VS Code and an exported notebook. Every name is HTML-encoded.
/// </summary>
public static class NotebookRenderer
{
    /// <summary>What the heading above the reports says.</summary>
    public sealed record Heading(string Mode, string CapturePath, string Variable, DateTimeOffset Started, string? Failure,
        IReadOnlyList<string> Warnings);

    /// <summary>The class names of the outputs, one per report (tests and styles find them by these).</summary>
    public const string HeadingClass = "memnb-heading";
    public const string StatsClass = "memnb-stats";
    public const string FlameGraphClass = "memnb-flamegraph";
    public const string SummaryClass = "memnb-summary";
    public const string TableClass = "memnb-table";
    public const string TimelineClass = "memnb-timeline";
    public const string PlotlyClass = "memnb-plotly";
    public const string ChartClass = "memnb-chart";

    private static int s_timelines;
    private static readonly System.Runtime.CompilerServices.ConditionalWeakTable<object, object> s_plotlyShown = new();

    /// <summary>
    /// plotly.js for the timeline charts, once per kernel (<paramref name="kernel"/>): a script that defines the
    /// global <c>Plotly</c> (hiding an AMD loader, as the classic notebook has, so that the bundle does not
    /// register as a module instead). Null when that kernel has shown it already.
    /// </summary>
    internal static string? PlotlyOnce(object kernel) => !s_plotlyShown.TryAdd(kernel, kernel) ? null
        : $"<div class=\"{PlotlyClass}\" style=\"display:none\"><script>(function (define, module, exports) {{\n{TimelineReport.PlotlyJs}\n}}).call(window);</script></div>";

    /// <summary>RSS, managed heap per generation, tracked live bytes and the GCs as a plotly chart (needs <see cref="PlotlyOnce"/> shown before).</summary>
    public static string TimelineHtml(Capture capture) => TimelineHtml(TimelineReport.Data(capture));

    /// <summary>The chart of <paramref name="data"/> (<see cref="TimelineReport.Data"/>).</summary>
    public static string TimelineHtml(TimelineData data)
    {
        var id = $"memnb-timeline-{Environment.ProcessId}-{Interlocked.Increment(ref s_timelines)}";
        return $"<div class=\"{TimelineClass}\">{TimelineReport.RenderFragment(data, id)}</div>";
    }

    /// <summary>The outputs for <paramref name="capture"/>: the heading, then each report asked for.</summary>
    /// <param name="kernel">The kernel the outputs go to (plotly.js is shown once per kernel).</param>
    /// <param name="streamed">The capture's numbers from a streaming pass (<see cref="ScopedPass"/>), scoped as
    /// <paramref name="capture"/> is: the heading, the stats and the timeline come from it, and the capture's tables are
    /// used only by the reports that need every allocation (flame graph, summary, table). Null: everything from the tables.</param>
    public static IEnumerable<(string Html, string? Report)> Render(Capture capture, MemProfileOptions options, Heading heading, object kernel,
        ScopedSummary? streamed = null)
    {
        // The timeline and the flame graph's memory chart draw the same numbers: read once (by either thread, see below).
        var memory = new Lazy<TimelineData>(() => streamed is null ? TimelineReport.Data(capture) : TimelineReport.Data(streamed));
        TimelineData Memory() => memory.Value;
        var request = new ReportRequest
        {
            Memory = Memory,
            // A sampled capture has no lifetimes: every view would hold all samples, so it is shown as such (a streamed
            // summary is of an exact capture).
            Selection = streamed is null && capture.IsSampled ? new ReportSelection(ReportMode.Allocated) : options.Selection,
            Source = Path.GetFileName(capture.Path),
            Inverted = options.Inverted,
            SplitThreads = options.SplitThreads,
        };
        // The flame graph of streamed totals needs nothing the reports before it make: it is made on a thread of its own from
        // the start while they are rendered (the machine's second core is idle once the cell's code has ended; on the first
        // cell, each thread compiles its own report code).
        var flameGraph = options.Reports.FirstOrDefault(r => r.Name == "flamegraph");
        Task<string>? streamedFlame = null;
        if (streamed is not null && flameGraph is not null && !request.SplitThreads && StreamedSelection(request.Selection) is { } flameSelection)
            streamedFlame = Task.Factory.StartNew(() => StreamedFlameHtml(streamed, flameSelection, request, Memory, flameGraph.Notebook!.FrameHeight),
                CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        try
        {
            foreach (var output in Render(capture, options, heading, kernel, streamed, request, Memory, streamedFlame))
                yield return output;
        }
        finally
        {
            // Abandoned before its turn (a consumer's error): no work left running after the reports.
            if (streamedFlame is { IsCompleted: false })
                ((IAsyncResult)streamedFlame).AsyncWaitHandle.WaitOne();
        }
    }

    private static IEnumerable<(string Html, string? Report)> Render(Capture capture, MemProfileOptions options, Heading heading, object kernel,
        ScopedSummary? streamed, ReportRequest request, Func<TimelineData> memory, Task<string>? streamedFlame)
    {
        yield return (streamed is null ? HeadingHtml(capture, options, heading) : HeadingHtml(HeadingFacts.Of(streamed), options, heading), null);
        AllocationView? view = null;
        var noted = false;
        foreach (var report in options.Reports)
        {
            var placement = report.Notebook!;
            if (placement.NeedsEveryAllocation && streamed is null && capture.IsAggregated)
            {
                if (!noted)
                    yield return (Note($"The {NeedingEveryAllocation} need every allocation; this cell was recorded with --aggregate (totals per stack and type). " +
                        $"{heading.Variable}.TopFunctions(10, AggregateMeasure.Peak) and {heading.Variable}.Aggregates hold its numbers."), null);
                noted = true;
                continue;
            }
            if (report.Name == "flamegraph" && streamedFlame is not null)
                yield return (streamedFlame.GetAwaiter().GetResult(), report.Name);
            else if (placement.Page is { } page)
            {
                view ??= request.Selection.ViewOf(capture);
                yield return (Frame($"memnb-{report.Name}", page(capture, view, request), placement.FrameHeight), report.Name);
            }
            else if (report.Name == "stats")
                yield return (streamed is null ? StatsHtml(capture) : StatsHtml(streamed.Stats), report.Name);
            else if (report.Name == "timeline")
            {
                if (PlotlyOnce(kernel) is { } plotly)
                    yield return (plotly, null);
                yield return (TimelineHtml(memory()), report.Name);
            }
        }
    }

    /// <summary>
    /// The flame graph of <paramref name="streamed"/>'s totals per stack, not the tables: gathered by the stats pass
    /// (CellReports asks for them), else by a pass over the capture file now that the peak's time is known.
    /// </summary>
    private static string StreamedFlameHtml(ScopedSummary streamed, StackSelection selected, ReportRequest request, Func<TimelineData> memory,
        int frameHeight)
    {
        var fine = TimeBucketing.For(streamed.DurationNs, FlameGraphPage.DefaultTimeBuckets);
        var stacks = ScopedPass.SelectStacks(streamed, selected, fine.Buckets, fine.BucketNs);
        // Frame's text, the page encoded as it is written (not made whole and then encoded: it is megabytes).
        var html = new StringBuilder(FrameStart("memnb-flamegraph", frameHeight));
        FlameGraphPage.WriteHtmlEncoded(FlameTree.Build(stacks, request.Selection, request.Inverted), request.Source, html,
            memory: memory(), timeBuckets: FlameGraphPage.DefaultTimeBuckets);
        return html.Append(FrameEnd).ToString();
    }

    /// <summary>
    /// The flame graph <see cref="Render"/> makes from a streamed summary for <paramref name="options"/>, for
    /// <see cref="ScopedPass.Compute"/> to gather its totals in the stats pass; null when it makes none.
    /// </summary>
    public static ScopedFlame? StreamedFlame(MemProfileOptions options) =>
        !options.SplitThreads && options.Reports.Any(r => r.Name == "flamegraph") && StreamedSelection(options.Selection) is { } selected
            ? new ScopedFlame(selected, FlameGraphPage.DefaultTimeBuckets)
            : null;

    /// <summary>The streamed selection of a report's, null for one a streaming pass does not make (temporary objects).</summary>
    private static StackSelection? StreamedSelection(ReportSelection selection) => selection.Mode switch
    {
        ReportMode.Peak => StackSelection.AliveAtPeak,
        ReportMode.Allocated => StackSelection.All,
        ReportMode.Leaks => StackSelection.Leaked,
        _ => null,
    };

    /// <summary>"flame graph, summary and table": the reports a cell of an aggregated capture does not show.</summary>
    private static string NeedingEveryAllocation
    {
        get
        {
            var names = ReportCatalog.Notebook.Where(r => r.Notebook!.NeedsEveryAllocation).Select(r => r.Name == "flamegraph" ? "flame graph" : r.Name).ToArray();
            return names.Length == 1 ? names[0] : $"{string.Join(", ", names[..^1])} and {names[^1]}";
        }
    }

    /// <summary>A whole HTML page in a sandboxed iframe (scripts run inside it, with no access to the notebook).</summary>
    public static string Frame(string cssClass, string page, int height) => FrameStart(cssClass, height) + WebUtility.HtmlEncode(page) + FrameEnd;

    private static string FrameStart(string cssClass, int height) =>
        $"<div class=\"{cssClass}\"><iframe sandbox=\"allow-scripts\" style=\"width:100%;height:{height}px;border:1px solid #ddd;resize:vertical\" srcdoc=\"";

    private const string FrameEnd = "\"></iframe></div>";

    /// <summary>The numbers the heading of an exact or aggregated capture shows, from its tables or from a streaming pass.</summary>
    private sealed record HeadingFacts(bool Aggregated, long Count, long Bytes, bool Native, long PeakBytes, bool PeakIsAtEnd, long PeakTimeNs,
        long NativePeakBytes, long NativePeakTimeNs, long DurationNs, string? Scope, bool Complete)
    {
        public static HeadingFacts Of(Capture capture) => new(capture.IsAggregated,
            capture.IsAggregated ? capture.Metadata.Allocations : capture.All.Count, capture.IsAggregated ? 0 : capture.All.Bytes,
            capture.HasNative, capture.PeakBytes, capture.PeakIsAtEnd, capture.PeakTimeNs, capture.NativePeakBytes, capture.NativePeakTimeNs,
            capture.DurationNs, capture.Scope, capture.Complete);

        public static HeadingFacts Of(ScopedSummary summary) => new(false, summary.Stats.TotalAllocations, summary.Stats.TotalBytes,
            summary.Stats.Native, summary.Stats.PeakBytes, summary.PeakIsAtEnd, summary.PeakTimeNs, summary.Stats.NativePeakBytes,
            summary.Stats.NativePeakTimeNs, summary.DurationNs, summary.Scope, summary.Stats.Complete);
    }

    private static string HeadingHtml(Capture capture, MemProfileOptions options, Heading heading) =>
        capture.IsSampled ? SampledHeadingHtml(capture, options, heading, HeadingStart()) : HeadingHtml(HeadingFacts.Of(capture), options, heading);

    // A rule above the heading sets the reports apart from the cell's own result, shown above them.
    private static StringBuilder HeadingStart() =>
        new($"<div class=\"{HeadingClass}\" style=\"font-family:sans-serif;font-size:13px;border-top:2px solid #999;margin-top:6px;padding-top:4px\">");

    private static string HeadingHtml(HeadingFacts capture, MemProfileOptions options, Heading heading)
    {
        var html = HeadingStart();
        html.Append($"<b>#!memprofile</b> ({E(heading.Mode)} mode): ");
        if (capture.Aggregated)
            html.Append($"{capture.Count:N0} allocations (aggregated)");
        else
            html.Append($"{capture.Count:N0} allocations, {E(ByteUnits.Format(capture.Bytes))} allocated");
        html.Append($", {(capture.Native ? "managed peak" : "peak")} {E(ByteUnits.Format(capture.PeakBytes))} alive");
        if (!capture.PeakIsAtEnd)
            html.Append($" at {capture.PeakTimeNs / 1e6:N1} ms");
        if (capture.Native)
            html.Append($", native peak {E(ByteUnits.Format(capture.NativePeakBytes))}"
                + (capture.NativePeakBytes == 0 ? "" : $" at {capture.NativePeakTimeNs / 1e6:N1} ms"));
        html.Append($", {capture.DurationNs / 1e6:N0} ms recorded. ");
        html.Append($"Showing: {E(options.Selection.Title)}");
        html.Append(capture.Scope is null ? ". " : $", {E(capture.Scope)} (<code>{E(heading.Variable)}.Unscoped</code> also has the kernel's own work during the cell). ");
        html.Append($"The capture is in the C# variable <code>{E(heading.Variable)}</code> and at <code>{E(heading.CapturePath)}</code>.");
        if (heading.Failure is not null)
            html.Append($"<br><span style=\"color:#b00\">The cell failed ({E(heading.Failure)}); the reports cover what it did until then.</span>");
        foreach (var warning in heading.Warnings)
            html.Append($"<br><span style=\"color:#a60\">{E(warning)}</span>");
        if (!capture.Complete)
            html.Append("<br><span style=\"color:#a60\">The capture is incomplete (it has no END record): the numbers cover what was written.</span>");
        html.Append("</div>");
        return html.ToString();
    }

    /// <summary>
    /// The heading of a sampled capture: what the samples stand for (estimates), that there are no lifetimes,
    /// and how to get exact mode.
    /// </summary>
    private static string SampledHeadingHtml(Capture capture, MemProfileOptions options, Heading heading, StringBuilder html)
    {
        html.Append($"<b>#!memprofile</b> ({E(Help.SampledModeText())}). ");
        html.Append($"Estimated {E(ByteUnits.Format(capture.EstimatedBytes))} allocated (from {capture.All.Count:N0} sampled objects of {E(ByteUnits.Format(capture.All.Bytes))}), ");
        html.Append($"{capture.DurationNs / 1e6:N0} ms recorded");
        html.Append(capture.Scope is null ? ". " : $", {E(capture.Scope)}. ");
        var large = capture.All.ExactLargeObjects;
        html.Append($"Large objects (≥ 85,000 bytes, the LOH) are exact, not sampled: {large.Count:N0} objects of {E(ByteUnits.Format(large.Bytes))}, each counted at its size. ");
        html.Append("The flame graph weighs each sample by the bytes it stands for (estimates; its counts are samples); sampled mode has no lifetimes, so every view holds all samples. ");
        html.Append($"Estimates per type: <code>{E(heading.Variable)}.EstimatedTypes()</code>. ");
        html.Append($"The capture is in the C# variable <code>{E(heading.Variable)}</code> and at <code>{E(heading.CapturePath)}</code>.");
        if (heading.Failure is not null)
            html.Append($"<br><span style=\"color:#b00\">The cell failed ({E(heading.Failure)}); the reports cover what it did until then.</span>");
        foreach (var warning in heading.Warnings)
            html.Append($"<br><span style=\"color:#a60\">{E(warning)}</span>");
        html.Append("</div>");
        return html.ToString();
    }

    /// <summary>Totals, the top types and the top functions, as one compact block.</summary>
    public static string StatsHtml(Capture capture, int top = 10) =>
        capture.IsSampled ? SampledStatsHtml(capture, top) : StatsHtml(capture.Stats(top), top);

    /// <summary>The block of an exact capture's <paramref name="stats"/> (from its tables or a streaming pass).</summary>
    public static string StatsHtml(CaptureStats stats, int top = 10)
    {
        var html = new StringBuilder($"<div class=\"{StatsClass}\" style=\"font-family:sans-serif;font-size:13px\">");
        html.Append("<table><tbody>");
        Row(html, "allocations", $"{stats.TotalAllocations:N0} ({ByteUnits.Format(stats.TotalBytes)})");
        if (stats.Native)
        {
            // Two peaks, worded as memnb stats words them.
            Row(html, PeakWording.ManagedLabel.ToLowerInvariant(), $"{PeakWording.Exact(stats.PeakBytes)}: {PeakWording.ManagedMeaning}");
            Row(html, PeakWording.NativeLabel.ToLowerInvariant(), $"{PeakWording.Native(stats.NativePeakBytes, stats.NativePeakTimeNs)}: {PeakWording.NativeMeaning}");
        }
        else
            Row(html, "peak alive", ByteUnits.Format(stats.PeakBytes));
        Row(html, "leaked (alive at the end)", $"{stats.LeakedAllocations:N0} ({ByteUnits.Format(stats.LeakedBytes)})");
        Row(html, "freed", $"{stats.FreedAllocations:N0} ({ByteUnits.Format(stats.FreedBytes)})");
        Row(html, "garbage collections", $"{stats.GcCount:N0}");
        Row(html, "duration", $"{stats.DurationMs:N1} ms");
        if (stats.ByAllocator.Any(a => a.Allocator != "managed"))
            foreach (var allocator in stats.ByAllocator)
                Row(html, allocator.Allocator, $"{allocator.Count:N0} ({ByteUnits.Format(allocator.Bytes)})");
        html.Append("</tbody></table>");
        html.Append($"<table style=\"display:inline-table;margin-right:2em;vertical-align:top\"><thead><tr>{NameHeader("Type")}{NumberHeader("Count")}{NumberHeader("Bytes")}</tr></thead><tbody>");
        foreach (var type in stats.ByType.Take(top))
            html.Append($"<tr>{NameCell(type.Type)}{NumberCell($"{type.Count:N0}")}{NumberCell(ByteUnits.Format(type.Bytes))}</tr>");
        html.Append("</tbody></table>");
        html.Append($"<table style=\"display:inline-table;vertical-align:top\"><thead><tr>{NameHeader("Function (own bytes)")}{NumberHeader("Count")}{NumberHeader("Bytes")}</tr></thead><tbody>");
        foreach (var function in stats.TopFunctions.Take(top))
            html.Append($"<tr>{NameCell(function.Function)}{NumberCell($"{function.Count:N0}")}{NumberCell(ByteUnits.Format(function.Bytes))}</tr>");
        html.Append("</tbody></table></div>");
        return html.ToString();
    }

    /// <summary>A sampled capture's block: estimates per type, each labelled as one.</summary>
    private static string SampledStatsHtml(Capture capture, int top)
    {
        var html = new StringBuilder($"<div class=\"{StatsClass}\" style=\"font-family:sans-serif;font-size:13px\">");
        html.Append("<table><tbody>");
        Row(html, "allocated (estimate)", ByteUnits.Format(capture.EstimatedBytes));
        var large = capture.All.ExactLargeObjects;
        Row(html, "sampled objects", $"{capture.All.Count - large.Count:N0} ({ByteUnits.Format(capture.All.Bytes - large.Bytes)})");
        Row(html, "large objects (exact)", $"{large.Count:N0} ({ByteUnits.Format(large.Bytes)}): every LOH object, not estimated");
        Row(html, "duration", $"{capture.DurationNs / 1e6:N1} ms");
        html.Append("</tbody></table>");
        var types = capture.EstimatedTypes(top);
        html.Append($"<table><thead><tr>{NameHeader("Type")}{NumberHeader("Samples")}{NumberHeader("Estimated count")}{NumberHeader("Estimated bytes")}</tr></thead><tbody>");
        for (long i = 0; i < types.Rows.Count; i++)
            html.Append($"<tr>{NameCell((string)types["type"][i])}{NumberCell($"{(long)types["samples"][i]:N0}")}" +
                $"{NumberCell($"~{(long)types["estimated_count"][i]:N0}")}{NumberCell("~" + ByteUnits.Format((long)types["estimated_bytes"][i]))}</tr>");
        html.Append("</tbody></table></div>");
        return html.ToString();
    }

    /// <summary>A capture as a cell's result: what it holds, in one block.</summary>
    public static string CaptureHtml(Capture capture)
    {
        var html = new StringBuilder("<div class=\"memnb-capture\" style=\"font-family:sans-serif;font-size:13px\"><table><tbody>");
        Row(html, "capture", capture.Path);
        if (capture.Scope is not null)
            Row(html, "scope", capture.Scope);
        if (capture.IsAggregated)
            Row(html, "allocations", $"{capture.Metadata.Allocations:N0} (aggregated: totals per stack and type)");
        else if (capture.IsSampled)
        {
            Row(html, "allocated (estimate)", ByteUnits.Format(capture.EstimatedBytes));
            var large = capture.All.ExactLargeObjects;
            Row(html, "sampled objects", $"{capture.All.Count - large.Count:N0} ({ByteUnits.Format(capture.All.Bytes - large.Bytes)}; the runtime's allocation samples, one per ~100 KB)");
            Row(html, "large objects (exact)", $"{large.Count:N0} ({ByteUnits.Format(large.Bytes)}; every LOH object, not estimated)");
        }
        else
            Row(html, "allocations", $"{capture.All.Count:N0} ({ByteUnits.Format(capture.All.Bytes)})");
        if (!capture.IsSampled)
            Row(html, capture.HasNative ? "managed peak" : "peak alive", capture.PeakIsAtEnd ? $"{ByteUnits.Format(capture.PeakBytes)} at the end" : $"{ByteUnits.Format(capture.PeakBytes)} at {capture.PeakTimeNs / 1e6:N1} ms");
        if (capture.HasNative)
            Row(html, "native peak", PeakWording.Native(capture.NativePeakBytes, capture.NativePeakTimeNs));
        Row(html, "duration", $"{capture.DurationNs / 1e6:N1} ms{(capture.Complete ? "" : " (incomplete capture)")}");
        html.Append("</tbody></table></div>");
        return html.ToString();
    }

    /// <summary>A view as a cell's result: its description, totals and top types.</summary>
    public static string ViewHtml(AllocationView view)
    {
        var html = new StringBuilder($"<div class=\"memnb-view\" style=\"font-family:sans-serif;font-size:13px\">{E(view.Description)}: {view.Count:N0} allocations, {E(ByteUnits.Format(view.Bytes))}");
        var types = view.TopTypes(5);
        html.Append($"<table><thead><tr>{NameHeader("Type")}{NumberHeader("Count")}{NumberHeader("Bytes")}</tr></thead><tbody>");
        for (long i = 0; i < types.Rows.Count; i++)
            html.Append($"<tr>{NameCell((string)types["type"][i])}{NumberCell($"{(long)types["count"][i]:N0}")}{NumberCell(ByteUnits.Format((long)types["bytes"][i]))}</tr>");
        html.Append("</tbody></table></div>");
        return html.ToString();
    }

    private static void Row(StringBuilder html, string name, string value) =>
        html.Append($"<tr><th style=\"{NameAlign}\">{E(name)}</th><td style=\"{NameAlign}\">{E(value)}</td></tr>");

    // Each header carries its column's alignment: a notebook's own style aligns every cell alike (JupyterLab: right),
    // so a name column with only its cells set left would sit under a right-aligned header. Numbers never wrap.
    private const string NameAlign = "text-align:left";
    private const string NumberAlign = "text-align:right;white-space:nowrap";

    private static string NameHeader(string text) => $"<th style=\"{NameAlign}\">{E(text)}</th>";
    private static string NumberHeader(string text) => $"<th style=\"{NumberAlign}\">{E(text)}</th>";
    private static string NameCell(string text) => $"<td style=\"{NameAlign}\">{E(text)}</td>";
    private static string NumberCell(string text) => $"<td style=\"{NumberAlign}\">{E(text)}</td>";

    private static string Note(string text) => $"<div style=\"font-family:sans-serif;font-size:13px;color:#555\">{E(text)}</div>";

    private static string E(string text) => WebUtility.HtmlEncode(text);
}
