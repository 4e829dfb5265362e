using MemNotebook.Recorder.Analysis;

namespace MemNotebook.Recorder.Reports;

/// <summary>The options a report takes beyond FILE, -o, --force and --max-allocations.</summary>
[Flags]
public enum ReportParameters
{
    None = 0,
    /// <summary>--all, --leaks, --temporary N (<see cref="ReportSelection.FromOptions"/>), --cell N, --within-submissions.</summary>
    Selection = 1,
    /// <summary>--inverted and --split-threads.</summary>
    Shape = 2,
    /// <summary>--depth N.</summary>
    Depth = 4,
    /// <summary>--sort COLUMN (<see cref="TableSort"/>).</summary>
    Sort = 8,
}

/// <summary>What one rendering of a report was asked for.</summary>
public sealed record ReportRequest
{
    public ReportSelection Selection { get; init; } = ReportSelection.Peak;

    /// <summary>--top: how many rows, functions or children; <see cref="TopGiven"/> says whether it was given.</summary>
    public int Top { get; init; }
    public bool TopGiven { get; init; }

    /// <summary>The capture as the page names it.</summary>
    public string Source { get; init; } = "";
    public bool Inverted { get; init; }
    public bool SplitThreads { get; init; }
    public int Depth { get; init; } = 12;
    public TableSort Sort { get; init; } = TableSort.Bytes;

    /// <summary>The capture's timeline data when the caller reads it once for several reports (a notebook cell's timeline and flame graph).</summary>
    public Func<TimelineData>? Memory { get; init; }
}

/// <summary>
/// How <c>#!memprofile --report</c> shows a report below the cell. <paramref name="Page"/> renders it from the view of
/// the cell's selection as a self-contained page, shown in a frame <paramref name="FrameHeight"/> pixels high; null when
/// the notebook renders it itself (the stats block, the timeline chart).
/// </summary>
/// <param name="NeedsEveryAllocation">Not shown for an aggregated capture (a note says why).</param>
public sealed record NotebookPlacement(bool ShownByDefault, bool NeedsEveryAllocation, int FrameHeight = 0,
    Func<Capture, AllocationView, ReportRequest, string>? Page = null);

/// <summary>One report: its name (the memnb verb and the <c>--report</c> name), its help, its options and its renderings.</summary>
public sealed record ReportDefinition
{
    public required string Name { get; init; }
    public required string Description { get; init; }
    public ReportParameters Parameters { get; init; }

    /// <summary>What --top limits, or null for a report without --top.</summary>
    public string? TopDescription { get; init; }
    public int DefaultTop { get; init; }

    /// <summary>The help of -o; null for the common one.</summary>
    public string? OutputDescription { get; init; }

    /// <summary>The text report; null for a report that is a page only (written to memnb-NAME-CAPTURE.html by default).</summary>
    public Func<Capture, ReportRequest, string>? Text { get; init; }

    /// <summary>The self-contained HTML page.</summary>
    public required Func<Capture, ReportRequest, string> Page { get; init; }

    /// <summary>How the notebook shows it; null when <c>--report</c> does not offer it.</summary>
    public NotebookPlacement? Notebook { get; init; }

    /// <summary>Whether memnb gets a verb of this name made from this definition (stats has a verb of its own, for --json).</summary>
    public bool Verb { get; init; } = true;
}

/// <summary>
/// Every report, once: the memnb report verbs, the names <c>#!memprofile --report</c> accepts and their help are made
/// from this list, in its order (the order in which a notebook cell shows them). docs/architecture.md, "Where to make a
/// change", says how to add one.
/// </summary>
public static class ReportCatalog
{
    public static IReadOnlyList<ReportDefinition> All { get; } =
    [
        new()
        {
            Name = "stats",
            Description = "Totals, peak, leaks, top types, functions and threads of a capture",
            Verb = false,
            TopDescription = "How many functions (and, in text, types) to list",
            DefaultTop = CaptureStats.DefaultTop,
            Page = (capture, r) => ReportHtml.Stats(StatsReport.Build(capture, r.Top), r.Source),
            Notebook = new NotebookPlacement(ShownByDefault: true, NeedsEveryAllocation: false),
        },
        new()
        {
            Name = "timeline",
            Description = "Memory over time: RSS, managed heap per generation, tracked live bytes, GCs with their pauses",
            OutputDescription = "Write a self-contained HTML page (plotly.js embedded) instead",
            Text = (capture, r) => TimelineReport.ToText(TimelineReport.Data(capture), r.Source),
            Page = (capture, r) => TimelineReport.RenderPage(TimelineReport.Data(capture), r.Source),
            Notebook = new NotebookPlacement(ShownByDefault: false, NeedsEveryAllocation: false),
        },
        new()
        {
            Name = "flamegraph",
            Description = "An interactive flame graph as one self-contained HTML page, at the peak by default",
            Parameters = ReportParameters.Selection | ReportParameters.Shape,
            OutputDescription = "The HTML page to write (default memnb-flamegraph-<capture name>.html in the current directory)",
            Page = (capture, r) =>
            {
                var html = new StringWriter();
                FlameGraphPage.Write(capture, r.Selection, new FlameGraphOptions(r.Inverted, r.SplitThreads, r.Source), html);
                return html.ToString();
            },
            // With the memory chart above it: dragging across a time range redraws the graph for the allocations
            // made in that window.
            Notebook = new NotebookPlacement(ShownByDefault: true, NeedsEveryAllocation: true, 640, (capture, view, r) =>
                FlameGraphPage.ToHtml(FlameTree.Build(view, r.Selection, r.Inverted, r.SplitThreads), r.Source,
                    memory: r.Memory?.Invoke() ?? TimelineReport.Data(capture), timeBuckets: FlameGraphPage.DefaultTimeBuckets)),
        },
        new()
        {
            Name = "summary",
            Description = "Functions by total bytes (on the stack) and own bytes (allocated there), at the peak by default",
            Parameters = ReportParameters.Selection,
            TopDescription = "How many functions to list",
            DefaultTop = 20,
            Text = (capture, r) => ReportText.Summary(SummaryReport.Build(capture, r.Selection, r.Top)),
            Page = (capture, r) => ReportHtml.Summary(SummaryReport.Build(capture, r.Selection, r.Top), r.Source),
            Notebook = new NotebookPlacement(ShownByDefault: false, NeedsEveryAllocation: true, 420, (_, view, r) =>
                ReportHtml.Summary(SummaryReport.Build(view, 30, r.Selection.Title), r.Source)),
        },
        new()
        {
            Name = "table",
            Description = "Allocations by thread, type, function and size, at the peak by default",
            Parameters = ReportParameters.Selection | ReportParameters.Sort,
            TopDescription = "How many rows to list (the HTML page holds every row unless given)",
            DefaultTop = 50,
            Text = (capture, r) => ReportText.Table(TableReport.Build(capture, r.Selection, r.Sort, r.Top)),
            // The page has a pager over its rows: every row, unless --top says otherwise.
            Page = (capture, r) => ReportHtml.Table(TableReport.Build(capture, r.Selection, r.Sort, r.TopGiven ? r.Top : int.MaxValue), r.Source),
            Notebook = new NotebookPlacement(ShownByDefault: false, NeedsEveryAllocation: true, 420, (_, view, r) =>
                ReportHtml.Table(TableReport.Build(view, TableSort.Bytes, 200, r.Selection.Title), r.Source)),
        },
        new()
        {
            Name = "tree",
            Description = "The biggest allocation paths as a tree of frames, at the peak by default",
            Parameters = ReportParameters.Selection | ReportParameters.Shape | ReportParameters.Depth,
            TopDescription = "How many children of each frame to show",
            DefaultTop = 5,
            Text = (capture, r) => ReportText.Tree(FlameTree.Build(capture, r.Selection, r.Inverted, r.SplitThreads), r.Depth, r.Top),
            Page = (capture, r) => ReportHtml.Tree(FlameTree.Build(capture, r.Selection, r.Inverted, r.SplitThreads), r.Source, r.Depth, r.Top),
        },
    ];

    /// <summary>The reports <c>#!memprofile --report</c> can name, in the order a cell shows them.</summary>
    public static IReadOnlyList<ReportDefinition> Notebook { get; } = All.Where(r => r.Notebook is not null).ToArray();

    /// <summary>The reports a cell shows when <c>--report</c> is not given.</summary>
    public static IReadOnlyList<ReportDefinition> NotebookDefaults { get; } = Notebook.Where(r => r.Notebook!.ShownByDefault).ToArray();

    /// <summary>The report named <paramref name="name"/> (any case); null when there is none.</summary>
    public static ReportDefinition? Find(string name) =>
        All.FirstOrDefault(r => r.Name.Equals(name, StringComparison.OrdinalIgnoreCase));

    /// <summary>The help of <c>--report</c>: its names, "none", and the default.</summary>
    public static string NotebookHelp =>
        $"Which reports to show, comma-separated: {string.Join(',', Notebook.Select(r => r.Name))}, or none (default {string.Join(',', NotebookDefaults.Select(r => r.Name))})";
}
