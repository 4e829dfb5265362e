using System.Globalization;
using System.Reflection;
using System.Security.Cryptography;
using System.Text;
using System.Text.Encodings.Web;
using MemNotebook.Recorder.Analysis;

namespace MemNotebook.Recorder.Reports;

/// <summary>How a flame-graph page is built: the tree's shape and the capture's name for the heading.</summary>
/// <param name="MaxNodes">The most frames the page holds; a bigger tree is pruned (<see cref="FlameTree.Prune"/>).</param>
public sealed record FlameGraphOptions(bool Inverted = false, bool SplitThreads = false, string Source = "", int MaxNodes = FlameGraphPage.DefaultMaxNodes);

/// <summary>
/// One self-contained, offline HTML page that draws a <see cref="FlameTree"/> as an interactive flame graph
/// (flamegraph.js and flamegraph.css, embedded in this assembly, inlined into the page). The tree travels
/// as <see cref="FlameJson"/> in a <c>&lt;script type="application/json"&gt;</c> block; the page's
/// Content-Security-Policy allows only that inline script and style (by hash) and no external load.
/// </summary>
public static class FlameGraphPage
{
    private static readonly Lazy<string> Script = new(() => Resource("flamegraph.js", "</script"));
    private static readonly Lazy<string> Style = new(() => Resource("flamegraph.css", "</style"));

    /// <summary>The Content-Security-Policy every page carries.</summary>
    public static string ContentSecurityPolicy =>
        $"default-src 'none'; script-src '{Hash(Script.Value)}'; style-src '{Hash(Style.Value)}'; base-uri 'none'; form-action 'none'";

    /// <summary>The most frames a page holds unless told otherwise: the smallest ones beyond it are merged.</summary>
    public const int DefaultMaxNodes = 20_000;

    public static void Write(global::MemNotebook.Capture capture, ReportSelection selection, FlameGraphOptions options, TextWriter output) =>
        Write(FlameTree.Build(capture, selection, options.Inverted, options.SplitThreads), options.Source, output, options.MaxNodes);

    /// <summary>Writes the page of <paramref name="tree"/>, pruned to at most <paramref name="maxNodes"/> frames.</summary>
    public static void Write(FlameTree tree, string source, TextWriter output, int maxNodes = DefaultMaxNodes)
    {
        var full = tree.NodeCount;
        tree = tree.Prune(maxNodes);
        var merged = tree.MergedFrames == 0 ? ""
            : $"\n<p class=\"meta\" id=\"fg-merged\">{N(tree.MergedFrames)} of the tree's {N(full)} frames are merged into \"[N smaller frames]\" nodes (the smallest first) to keep the page at {N(tree.NodeCount)} frames; every total stays exact.</p>";
        var title = tree.Inverted ? "Allocating frames and their callers" : "Memory flame graph";
        var file = Path.GetFileName(source);
        output.Write($"""
            <!DOCTYPE html>
            <html lang="en">
            <head>
            <meta charset="utf-8">
            <meta http-equiv="Content-Security-Policy" content="{ContentSecurityPolicy}">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <title>{E(title)}{(file.Length > 0 ? " — " + E(file) : "")}</title>
            <style>{Style.Value}</style>
            </head>
            <body>
            <h1>{E(title)}</h1>
            <p class="meta">{(source.Length > 0 ? E(source) + ": " : "")}{E(tree.Description)} — {E(ByteUnits.Format(tree.TotalBytes))} in {N(tree.Count)} allocations</p>{merged}
            <div id="fg-toolbar">
            <button type="button" id="fg-orient">Icicle</button>
            <label><input type="checkbox" id="fg-runtime"> hide runtime frames</label>
            <label id="fg-thread-label" hidden>thread <select id="fg-thread"></select></label>
            <input type="search" id="fg-search" placeholder="search frames" aria-label="search frames">
            <button type="button" id="fg-reset">Reset zoom</button>
            <span id="fg-match" aria-live="polite"></span>
            </div>
            <p class="legend"><span class="managed">managed</span><span class="native">native</span><span class="unknown">unknown</span>{(tree.SplitThreads ? "<span class=\"thread\">thread</span>" : "")}<span class="match">search match</span> click a frame to zoom, Esc to reset</p>
            <div id="fg-details" aria-live="polite"></div>
            <div id="fg-chart"></div>
            <div id="fg-tip" hidden></div>
            <noscript><p>The flame graph needs JavaScript; <code>memnb tree</code> prints the same tree as text.</p></noscript>
            <script type="application/json" id="fg-data">
            """);
        output.Write(FlameJson.ToJson(tree));
        output.Write("</script>\n<script>");
        output.Write(Script.Value);
        output.Write("</script>\n</body>\n</html>\n");
    }

    public static string ToHtml(FlameTree tree, string source, int maxNodes = DefaultMaxNodes)
    {
        var writer = new StringWriter();
        Write(tree, source, writer, maxNodes);
        return writer.ToString();
    }

    private static string Resource(string name, string closer)
    {
        using var stream = typeof(FlameGraphPage).Assembly.GetManifestResourceStream($"MemNotebook.Recorder.Reports.{name}")
            ?? throw new InvalidOperationException($"{name} is not embedded in {typeof(FlameGraphPage).Assembly.GetName().Name}");
        using var reader = new StreamReader(stream, Encoding.UTF8);
        var text = reader.ReadToEnd();
        // Inlined as is: it must not end its own element or open an HTML comment.
        if (text.Contains(closer, StringComparison.OrdinalIgnoreCase) || text.Contains("<!--", StringComparison.Ordinal))
            throw new InvalidOperationException($"{name} contains {closer} or <!--");
        return text;
    }

    private static string Hash(string inline) => "sha256-" + Convert.ToBase64String(SHA256.HashData(Encoding.UTF8.GetBytes(inline)));

    private static string N(long value) => value.ToString("N0", CultureInfo.InvariantCulture);

    private static string E(string text) => HtmlEncoder.Default.Encode(text);
}
