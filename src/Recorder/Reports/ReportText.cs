using System.Globalization;
using System.Text;
using MemNotebook.Recorder.Analysis;

namespace MemNotebook.Recorder.Reports;

/// <summary>The reports as plain text for a terminal.</summary>
public static class ReportText
{
    public static string Summary(SummaryReport report)
    {
        var text = new StringBuilder();
        text.Append($"Functions, {report.Description}: {ByteUnits.Format(report.Bytes)} in {N(report.Count)} allocations\n");
        foreach (var (label, value) in report.Peaks)
            text.Append($"{label}: {value}\n");
        text.Append('\n');
        if (report.Count == 0)
            return text.Append(NoAllocations).ToString();
        text.Append("  Total bytes       %    Own bytes      Count  Function\n");
        foreach (var row in report.Rows)
            text.Append($"{ByteUnits.Format(row.TotalBytes),13}  {Percent(row.PercentOfTotal),6}  {ByteUnits.Format(row.OwnBytes),11}  {N(row.Count),9}  {Safe(row.Function)}\n");
        More(text, report.Functions - report.Rows.Count, "functions");
        return text.ToString();
    }

    /// <summary>The tree down to <paramref name="depth"/> frames, the <paramref name="width"/> biggest children of each node.</summary>
    public static string Tree(FlameTree tree, int depth, int width)
    {
        var text = new StringBuilder();
        var heading = tree.Inverted ? "Allocating frames and their callers" : "Biggest allocation paths";
        text.Append($"{heading}, {tree.Description}: {ByteUnits.Format(tree.TotalBytes)} in {N(tree.Count)} allocations\n\n");
        if (tree.Count == 0)
            return text.Append(NoAllocations).ToString();
        Line(text, tree, tree.Root, "");
        Children(text, tree, tree.Root, "", depth, width);
        return text.ToString();
    }

    public static string Table(TableReport report)
    {
        var text = new StringBuilder();
        text.Append($"Allocations by thread, type, function and size, {report.Description}: {ByteUnits.Format(report.Bytes)} in {N(report.Count)} allocations\n\n");
        if (report.Count == 0)
            return text.Append(NoAllocations).ToString();
        var threadWidth = report.Rows.Select(r => Safe(r.Thread).Length).Append("Thread".Length).Max();
        var typeWidth = report.Rows.Select(r => Safe(r.Type).Length).Append("Type".Length).Max();
        text.Append($"      Bytes      Count  Size            {"Thread".PadRight(threadWidth)}  {"Type".PadRight(typeWidth)}  Function\n");
        foreach (var row in report.Rows)
            text.Append($"{ByteUnits.Format(row.Bytes),11}  {N(row.Count),9}  {SizeRange(row.MinSize, row.MaxSize),-14}  " +
                        $"{Safe(row.Thread).PadRight(threadWidth)}  {Safe(row.Type).PadRight(typeWidth)}  {Safe(row.Function)}\n");
        More(text, report.Groups - report.Rows.Count, "rows");
        return text.ToString();
    }

    private static void Children(StringBuilder text, FlameTree tree, FlameNode node, string prefix, int depth, int width)
    {
        if (depth <= 0 || node.Children.Count == 0)
            return;
        var shown = Math.Min(width, node.Children.Count);
        var hidden = node.Children.Count - shown;
        for (var i = 0; i < shown; i++)
        {
            var child = node.Children[i];
            var last = i == shown - 1 && hidden == 0;
            Line(text, tree, child, prefix + (last ? "└─ " : "├─ "));
            Children(text, tree, child, prefix + (last ? "   " : "│  "), depth - 1, width);
        }
        if (hidden > 0)
        {
            long bytes = 0;
            for (var i = shown; i < node.Children.Count; i++)
                bytes += node.Children[i].TotalBytes;
            text.Append($"{Percent(Share(bytes, tree.TotalBytes)),7}  {ByteUnits.Format(bytes),10}  {prefix}└─ … {hidden} more\n");
        }
    }

    private static void Line(StringBuilder text, FlameTree tree, FlameNode node, string prefix)
    {
        var kind = node.Kind == FlameNodeKind.Native ? " [native]" : "";
        text.Append($"{Percent(Share(node.TotalBytes, tree.TotalBytes)),7}  {ByteUnits.Format(node.TotalBytes),10}  {prefix}{Safe(node.Name)}{kind}\n");
    }

    /// <summary>What a text report shows instead of an empty table (an empty view, or a capture without allocations).</summary>
    internal const string NoAllocations = "  (no allocations)\n";

    private static void More(StringBuilder text, int more, string what)
    {
        if (more > 0)
            text.Append($"  … {more} more {what}\n");
    }

    internal static double Share(long part, long whole) => whole == 0 ? 0 : 100.0 * part / whole;

    internal static string Percent(double percent) => percent.ToString("0.0", CultureInfo.InvariantCulture) + "%";

    internal static string N(long value) => value.ToString("N0", CultureInfo.InvariantCulture);

    internal static string SizeRange(long min, long max) =>
        min == max ? $"{min} B" : max == long.MaxValue ? $"{N(min)}+ B" : $"{N(min)}–{N(max)} B";

    /// <summary>
    /// A name from user code with the characters that could rewrite a terminal line shown as \uXXXX:
    /// controls (escape sequences, newlines), line and paragraph separators, and format characters (bidi overrides).
    /// </summary>
    internal static string Safe(string name)
    {
        if (!name.Any(Unsafe))
            return name;
        var safe = new StringBuilder(name.Length + 8);
        foreach (var c in name)
            safe.Append(Unsafe(c) ? $"\\u{(int)c:x4}" : c);
        return safe.ToString();
    }

    private static bool Unsafe(char c) => char.GetUnicodeCategory(c) is UnicodeCategory.Control or UnicodeCategory.LineSeparator
        or UnicodeCategory.ParagraphSeparator or UnicodeCategory.Format;
}
