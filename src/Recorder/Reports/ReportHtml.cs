using System.Text;
using System.Text.Encodings.Web;
using MemNotebook.Recorder.Analysis;
using static MemNotebook.Recorder.Reports.ReportText;

namespace MemNotebook.Recorder.Reports;

/// <summary>
/// The reports as self-contained HTML pages: tables and nested lists, no script, no external resource
/// (the page's Content-Security-Policy forbids both). Every name from the capture is HTML-encoded, so a
/// type named like markup shows as text.
/// </summary>
public static class ReportHtml
{
    public static string Summary(SummaryReport report, string source)
    {
        var body = new StringBuilder();
        body.Append("<table>\n<thead><tr><th>Total bytes</th><th>% of total</th><th>Own bytes</th><th>Count</th><th class=\"name\">Function</th></tr></thead>\n<tbody>\n");
        foreach (var row in report.Rows)
            body.Append($"<tr><td>{Bytes(row.TotalBytes)}</td><td>{Percent(row.PercentOfTotal)}</td><td>{Bytes(row.OwnBytes)}</td><td>{N(row.Count)}</td><td class=\"name\">{E(row.Function)}</td></tr>\n");
        body.Append("</tbody>\n</table>\n");
        More(body, report.Functions - report.Rows.Count, "functions");
        if (report.Peaks.Count > 0)
            body.Insert(0, "<p>" + string.Join("<br>\n", report.Peaks.Select(p => $"{E(p.Label)}: {E(p.Value)}")) + "</p>\n");
        return Page("Functions", source, report.Description, report.Bytes, report.Count, body);
    }

    /// <summary>The tree as nested lists (<c>details</c> elements, open down to <paramref name="depth"/>).</summary>
    public static string Tree(FlameTree tree, string source, int depth, int width)
    {
        var body = new StringBuilder("<ul class=\"tree\">\n");
        Node(body, tree, tree.Root, depth, width);
        body.Append("</ul>\n");
        var title = tree.Inverted ? "Allocating frames and their callers" : "Biggest allocation paths";
        return Page(title, source, tree.Description, tree.TotalBytes, tree.Count, body);
    }

    /// <summary>
    /// The table, sortable (click a header), searchable and in pages of 50 rows: a small script (table.js,
    /// embedded, allowed by its hash and nothing else). Without script every row shows.
    /// </summary>
    public static string Table(TableReport report, string source)
    {
        var body = new StringBuilder();
        body.Append("<div id=\"rt-toolbar\"><input type=\"search\" id=\"rt-search\" placeholder=\"search rows\" aria-label=\"search rows\"> " +
                    "<button type=\"button\" id=\"rt-prev\">Previous</button> <button type=\"button\" id=\"rt-next\">Next</button> " +
                    "<span id=\"rt-status\" aria-live=\"polite\"></span></div>\n");
        body.Append($"<table id=\"rt-table\" data-rows=\"{report.Groups}\">\n<thead><tr><th data-type=\"number\">Bytes</th><th data-type=\"number\">Count</th><th data-type=\"number\">Size</th>" +
                    "<th class=\"name\">Thread</th><th class=\"name\">Type</th><th class=\"name\">Function</th></tr></thead>\n<tbody>\n");
        foreach (var row in report.Rows)
            body.Append($"<tr><td data-v=\"{row.Bytes}\">{Bytes(row.Bytes)}</td><td data-v=\"{row.Count}\">{N(row.Count)}</td>" +
                        $"<td data-v=\"{row.MinSize}\">{E(SizeRange(row.MinSize, row.MaxSize))}</td><td class=\"name\">{E(row.Thread)}</td>" +
                        $"<td class=\"name\">{E(row.Type)}</td><td class=\"name\">{E(row.Function)}</td></tr>\n");
        body.Append("</tbody>\n</table>\n");
        More(body, report.Groups - report.Rows.Count, "rows");
        body.Append("<script>").Append(TableScript.Value).Append("</script>\n");
        return Page("Allocations by thread, type, function and size", source, report.Description, report.Bytes, report.Count, body,
            script: TableScript.Value);
    }

    private static readonly Lazy<string> TableScript = new(() =>
    {
        using var stream = typeof(ReportHtml).Assembly.GetManifestResourceStream("MemNotebook.Recorder.Reports.table.js")
            ?? throw new InvalidOperationException("table.js is not embedded in MemNotebook.Recorder");
        return new StreamReader(stream).ReadToEnd();
    });

    /// <summary>
    /// The stats page: totals, peak and duration, allocator kinds, the size histogram (power-of-two buckets: a log
    /// scale of sizes, bars for count and bytes), types, and functions by bytes and by count.
    /// </summary>
    public static string Stats(StatsReport report, string source)
    {
        var s = report.Stats;
        var body = new StringBuilder();
        body.Append("<h2>Totals</h2>\n<table class=\"facts\">\n<tbody>\n");
        void Fact(string name, string value) => body.Append($"<tr><th>{E(name)}</th><td>{value}</td></tr>\n");
        Fact("allocations", N(s.TotalAllocations));
        Fact("allocated", Bytes(s.TotalBytes));
        if (s.Native)
        {
            Fact($"{PeakWording.ManagedLabel.ToLowerInvariant()} ({PeakWording.ManagedMeaning})", Bytes(s.PeakBytes));
            Fact($"{PeakWording.NativeLabel.ToLowerInvariant()} ({PeakWording.NativeMeaning})",
                s.NativePeakBytes == 0 ? Bytes(0) : $"{Bytes(s.NativePeakBytes)} at {E(TimeUnits.Format(s.NativePeakTimeNs))}");
        }
        else
            Fact("peak (alive at the high-water mark)", Bytes(s.PeakBytes));
        Fact("leaked (alive at the end)", $"{Bytes(s.LeakedBytes)} in {N(s.LeakedAllocations)} allocations");
        Fact("freed", $"{Bytes(s.FreedBytes)} in {N(s.FreedAllocations)} allocations");
        Fact("duration", E(s.DurationMs.ToString("N1", System.Globalization.CultureInfo.InvariantCulture) + " ms" + (s.DurationEstimated ? " (estimated)" : "")));
        Fact("garbage collections", N(s.GcCount));
        if (s.Dropped > 0)
            Fact("records lost by the tracer", N(s.Dropped));
        Fact("capture", E((s.Aggregated ? "aggregated (totals per stack and type), " : "") +
            (s.Truncated ? $"truncated at offset {s.TruncatedAtOffset} ({s.TruncationReason})" : s.Complete ? "complete" : "no END record")));
        body.Append("</tbody>\n</table>\n");

        body.Append("<h2>Allocators</h2>\n");
        if (report.Allocators is null)
            body.Append("<p class=\"more\">An aggregated capture does not keep the allocator of single allocations.</p>\n");
        else
        {
            body.Append("<table>\n<thead><tr><th>Bytes</th><th>Count</th><th class=\"name\">Allocator</th></tr></thead>\n<tbody>\n");
            foreach (var a in report.Allocators)
                body.Append($"<tr><td>{Bytes(a.Bytes)}</td><td>{N(a.Count)}</td><td class=\"name\">{E(a.Allocator)}</td></tr>\n");
            body.Append("</tbody>\n</table>\n");
        }

        body.Append("<h2>Sizes</h2>\n");
        if (report.Histogram is null)
            body.Append("<p class=\"more\">An aggregated capture does not keep the sizes of single allocations: record without --aggregate for the histogram.</p>\n");
        else
        {
            var maxCount = Math.Max(1, report.Histogram.Select(b => b.Count).DefaultIfEmpty().Max());
            var maxBytes = Math.Max(1, report.Histogram.Select(b => b.Bytes).DefaultIfEmpty().Max());
            body.Append("<table class=\"histogram\">\n<thead><tr><th>Size</th><th>Count</th><th></th><th>Bytes</th><th></th></tr></thead>\n<tbody>\n");
            foreach (var b in report.Histogram)
                body.Append($"<tr><td>{E(SizeRange(b.MinSize, b.MaxSize))}</td><td>{N(b.Count)}</td><td class=\"bar\">{Bar(b.Count, maxCount, "count")}</td>" +
                            $"<td>{Bytes(b.Bytes)}</td><td class=\"bar\">{Bar(b.Bytes, maxBytes, "bytes")}</td></tr>\n");
            body.Append("</tbody>\n</table>\n<p class=\"more\">Power-of-two size buckets (a log scale of sizes); bars linear in count and in bytes.</p>\n");
        }

        body.Append("<h2>Types by bytes</h2>\n<table>\n<thead><tr><th>Bytes</th><th>Count</th><th>Leaked bytes</th><th>Leaked</th><th class=\"name\">Type</th></tr></thead>\n<tbody>\n");
        foreach (var t in report.Types)
            body.Append($"<tr><td>{Bytes(t.Bytes)}</td><td>{N(t.Count)}</td><td>{Bytes(t.LeakedBytes)}</td><td>{N(t.LeakedCount)}</td><td class=\"name\">{E(t.Type)}</td></tr>\n");
        body.Append("</tbody>\n</table>\n");
        More(body, s.ByType.Count - report.Types.Count, "types");
        foreach (var (title, functions) in new[] { ("Functions by bytes", report.FunctionsByBytes), ("Functions by count", report.FunctionsByCount) })
        {
            body.Append($"<h2>{E(title)}</h2>\n<p class=\"more\">Own allocations: charged to the function that made them.</p>\n");
            body.Append("<table>\n<thead><tr><th>Bytes</th><th>Count</th><th class=\"name\">Function</th></tr></thead>\n<tbody>\n");
            foreach (var f in functions)
                body.Append($"<tr><td>{Bytes(f.Bytes)}</td><td>{N(f.Count)}</td><td class=\"name\">{E(f.Function)}</td></tr>\n");
            body.Append("</tbody>\n</table>\n");
        }
        return Page("Capture statistics", source, "all allocations", s.TotalBytes, s.TotalAllocations, body);
    }

    private static string Bar(long value, long max, string what) =>
        $"<div class=\"{what}\" style=\"width:{Math.Round(200.0 * value / max, 1).ToString(System.Globalization.CultureInfo.InvariantCulture)}px\"></div>";

    private static void Node(StringBuilder body, FlameTree tree, FlameNode node, int depth, int width)
    {
        var label = $"<span class=\"bytes\">{Bytes(node.TotalBytes)}</span> <span class=\"pct\">{Percent(Share(node.TotalBytes, tree.TotalBytes))}</span> " +
                    $"<span class=\"name {node.Kind.ToString().ToLowerInvariant()}\">{E(node.Name)}</span>" +
                    (node.OwnBytes > 0 ? $" <span class=\"own\">own {Bytes(node.OwnBytes)}</span>" : "");
        if (depth <= 0 || node.Children.Count == 0)
        {
            body.Append($"<li>{label}</li>\n");
            return;
        }
        body.Append($"<li><details open><summary>{label}</summary>\n<ul>\n");
        var shown = Math.Min(width, node.Children.Count);
        for (var i = 0; i < shown; i++)
            Node(body, tree, node.Children[i], depth - 1, width);
        if (shown < node.Children.Count)
        {
            var bytes = node.Children.Skip(shown).Sum(c => c.TotalBytes);
            body.Append($"<li class=\"more\">… {node.Children.Count - shown} more, {Bytes(bytes)}</li>\n");
        }
        body.Append("</ul>\n</details></li>\n");
    }

    private static string Page(string title, string source, string description, long bytes, long count, StringBuilder body, string? script = null) =>
        $"""
        <!DOCTYPE html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'{(script is null ? "" : $"; script-src 'sha256-{Convert.ToBase64String(System.Security.Cryptography.SHA256.HashData(Encoding.UTF8.GetBytes(script)))}'")}">
        <title>{E(title)} — {E(Path.GetFileName(source))}</title>
        <style>
        body {"{"} font: 14px system-ui, sans-serif; margin: 1.5em; color: #222; {"}"}
        table {"{"} border-collapse: collapse; {"}"}
        th, td {"{"} padding: 2px 10px; text-align: right; border-bottom: 1px solid #ddd; {"}"}
        th {"{"} white-space: nowrap; {"}"}
        td {"{"} white-space: nowrap; {"}"}
        th.name, td.name {"{"} text-align: left; {"}"}
        td.name {"{"} font-family: ui-monospace, monospace; white-space: normal; overflow-wrap: anywhere; {"}"}
        ul.tree, ul.tree ul {"{"} list-style: none; padding-left: 1.2em; {"}"}
        .name {"{"} font-family: ui-monospace, monospace; {"}"}
        .native {"{"} color: #a0522d; {"}"}
        .unknown, .more, .own {"{"} color: #777; {"}"}
        .pct {"{"} color: #555; {"}"}
        h2 {"{"} font-size: 1.1em; margin: 1.2em 0 0.4em; {"}"}
        table.facts th {"{"} text-align: left; font-weight: normal; color: #444; {"}"}
        td.bar {"{"} width: 200px; text-align: left; {"}"}
        td.bar div {"{"} height: 11px; {"}"}
        td.bar .count {"{"} background: hsl(30, 85%, 62%); {"}"}
        td.bar .bytes {"{"} background: hsl(205, 55%, 60%); {"}"}
        #rt-toolbar {"{"} margin: 0.5em 0; {"}"}
        #rt-table th {"{"} cursor: pointer; user-select: none; {"}"}
        #rt-table th[aria-sort="ascending"]::after {"{"} content: " ▲"; {"}"}
        #rt-table th[aria-sort="descending"]::after {"{"} content: " ▼"; {"}"}
        </style>
        </head>
        <body>
        <h1>{E(title)}</h1>
        <p>{E(source)}: {E(description)} — {Bytes(bytes)} in {N(count)} allocations</p>
        {body}</body>
        </html>

        """;

    /// <summary>
    /// The start of a standalone page up to its heading: the policy, the title with the capture's file name
    /// (none for an empty source) and the style; every name escaped.
    /// </summary>
    internal static string PageStart(string title, string source, string contentSecurityPolicy, string style)
    {
        var file = Path.GetFileName(source);
        return $"""
            <!DOCTYPE html>
            <html lang="en">
            <head>
            <meta charset="utf-8">
            <meta http-equiv="Content-Security-Policy" content="{contentSecurityPolicy}">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <title>{E(title)}{(file.Length > 0 ? " — " + E(file) : "")}</title>
            <style>{style}</style>
            </head>
            <body>
            <h1>{E(title)}</h1>

            """;
    }

    private static void More(StringBuilder body, int more, string what)
    {
        if (more > 0)
            body.Append($"<p class=\"more\">… {more} more {what}</p>\n");
    }

    private static string Bytes(long bytes) => $"<span title=\"{bytes} bytes\">{E(ByteUnits.Format(bytes))}</span>";

    private static string E(string text) => HtmlEncoder.Default.Encode(text);
}
