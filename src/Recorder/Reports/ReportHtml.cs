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
        body.Append("<table>\n<thead><tr><th>Total bytes</th><th>% of total</th><th>Own bytes</th><th>Count</th><th>Function</th></tr></thead>\n<tbody>\n");
        foreach (var row in report.Rows)
            body.Append($"<tr><td>{Bytes(row.TotalBytes)}</td><td>{Percent(row.PercentOfTotal)}</td><td>{Bytes(row.OwnBytes)}</td><td>{N(row.Count)}</td><td class=\"name\">{E(row.Function)}</td></tr>\n");
        body.Append("</tbody>\n</table>\n");
        More(body, report.Functions - report.Rows.Count, "functions");
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

    public static string Table(TableReport report, string source)
    {
        var body = new StringBuilder();
        body.Append("<table>\n<thead><tr><th>Bytes</th><th>Count</th><th>Size</th><th>Thread</th><th>Type</th><th>Function</th></tr></thead>\n<tbody>\n");
        foreach (var row in report.Rows)
            body.Append($"<tr><td>{Bytes(row.Bytes)}</td><td>{N(row.Count)}</td><td>{E(SizeRange(row.MinSize, row.MaxSize))}</td><td class=\"name\">{E(row.Thread)}</td><td class=\"name\">{E(row.Type)}</td><td class=\"name\">{E(row.Function)}</td></tr>\n");
        body.Append("</tbody>\n</table>\n");
        More(body, report.Groups - report.Rows.Count, "rows");
        return Page("Allocations by thread, type, function and size", source, report.Description, report.Bytes, report.Count, body);
    }

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

    private static string Page(string title, string source, string description, long bytes, long count, StringBuilder body) =>
        $"""
        <!DOCTYPE html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
        <title>{E(title)} — {E(Path.GetFileName(source))}</title>
        <style>
        body {"{"} font: 14px system-ui, sans-serif; margin: 1.5em; color: #222; {"}"}
        table {"{"} border-collapse: collapse; {"}"}
        th, td {"{"} padding: 2px 10px; text-align: right; border-bottom: 1px solid #ddd; {"}"}
        td.name, th:last-child {"{"} text-align: left; font-family: ui-monospace, monospace; {"}"}
        ul.tree, ul.tree ul {"{"} list-style: none; padding-left: 1.2em; {"}"}
        .name {"{"} font-family: ui-monospace, monospace; {"}"}
        .native {"{"} color: #a0522d; {"}"}
        .unknown, .more, .own {"{"} color: #777; {"}"}
        .pct {"{"} color: #555; {"}"}
        </style>
        </head>
        <body>
        <h1>{E(title)}</h1>
        <p>{E(source)}: {E(description)} — {Bytes(bytes)} in {N(count)} allocations</p>
        {body}</body>
        </html>

        """;

    private static void More(StringBuilder body, int more, string what)
    {
        if (more > 0)
            body.Append($"<p class=\"more\">… {more} more {what}</p>\n");
    }

    private static string Bytes(long bytes) => $"<span title=\"{bytes} bytes\">{E(ByteUnits.Format(bytes))}</span>";

    private static string E(string text) => HtmlEncoder.Default.Encode(text);
}
