using System.Globalization;
using System.Reflection;
using System.Security.Cryptography;
using System.Text;
using System.Text.Encodings.Web;
using MemNotebook.Recorder.Analysis;

namespace MemNotebook.Recorder.Reports;

/// <summary>How a flame-graph page is built: the tree's shape and the capture's name for the heading.</summary>
/// <param name="MaxNodes">The most frames the page holds; a bigger tree is pruned (<see cref="FlameTree.Prune"/>).</param>
/// <param name="TimeBuckets">The finest time resolution of the memory chart's range selection (0: no chart); the page
/// may use wider buckets to stay within <see cref="FlameGraphPage.MaxTimeEntries"/>.</param>
public sealed record FlameGraphOptions(bool Inverted = false, bool SplitThreads = false, string Source = "", int MaxNodes = FlameGraphPage.DefaultMaxNodes,
    int TimeBuckets = FlameGraphPage.DefaultTimeBuckets);

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

    /// <summary>The finest time resolution of the memory chart above the flame graph: the capture's duration in this many buckets.</summary>
    public const int DefaultTimeBuckets = 256;

    /// <summary>
    /// The most (frame, time bucket) pairs a page embeds for the time-range selection: buckets are made twice as wide
    /// until the pruned tree fits (about 15 bytes of JSON each).
    /// </summary>
    public const int MaxTimeEntries = 120_000;

    /// <summary>The most memory snapshots the chart draws; more are thinned to the largest tracked live bytes per group.</summary>
    public const int MaxMemoryPoints = 1_000;

    public static void Write(Capture capture, ReportSelection selection, FlameGraphOptions options, TextWriter output)
    {
        var tree = FlameTree.Build(capture, selection, options.Inverted, options.SplitThreads);
        var full = tree.NodeCount;
        tree = tree.Prune(options.MaxNodes);
        // An aggregated capture keeps no allocation times: no memory chart.
        var timed = options.TimeBuckets > 0 && !capture.IsAggregated;
        if (timed)
            tree = tree.WithTimeBuckets(options.TimeBuckets, MaxTimeEntries);
        WritePruned(tree, full, options.Source, new PlainPage(output), timed ? TimelineReport.Data(capture) : null);
    }

    /// <summary>
    /// Writes the page of <paramref name="tree"/>, pruned to at most <paramref name="maxNodes"/> frames. With
    /// <paramref name="timeBuckets"/> (or a tree built with time buckets) and a tree built from a view, the page gets
    /// the memory chart with range selection, its buckets counted on the pruned tree and widened to fit
    /// <see cref="MaxTimeEntries"/>; <paramref name="memory"/> (<see cref="TimelineReport.Data"/>) adds the tracked
    /// live bytes to that chart. Pass the buckets here rather than to <see cref="FlameTree.Build(AllocationView, ReportSelection, bool, bool, string?, int)"/>:
    /// they are then counted for the pruned tree only.
    /// </summary>
    public static void Write(FlameTree tree, string source, TextWriter output, int maxNodes = DefaultMaxNodes, TimelineData? memory = null,
        int timeBuckets = 0) =>
        Write(tree, source, new PlainPage(output), maxNodes, memory, timeBuckets);

    /// <summary>
    /// Appends the page of <see cref="Write(FlameTree, string, TextWriter, int, TimelineData?, int)"/> HTML-encoded
    /// (<see cref="System.Net.WebUtility.HtmlEncode(string)"/> of the page, for an attribute such as a notebook frame's
    /// <c>srcdoc</c>) without making the page first: the tree's JSON, most of the page, goes from its bytes to the encoded text.
    /// </summary>
    public static void WriteHtmlEncoded(FlameTree tree, string source, StringBuilder output, int maxNodes = DefaultMaxNodes, TimelineData? memory = null,
        int timeBuckets = 0) =>
        Write(tree, source, new EncodedPage(output), maxNodes, memory, timeBuckets);

    private static void Write(FlameTree tree, string source, PageOutput output, int maxNodes, TimelineData? memory, int timeBuckets)
    {
        var buckets = tree.Time?.Buckets ?? timeBuckets;
        var pruned = tree.Prune(maxNodes, keepTime: false);
        // A tree larger than the page was pruned into nodes of its own: their buckets are counted in them, not in a copy.
        if (buckets > 0 && (tree.View is not null || tree.Streamed is not null))
            pruned = pruned.WithTimeBuckets(buckets, MaxTimeEntries, FlameTimeBuckets.MaxDenseCells, inPlace: tree.NodeCount > maxNodes);
        WritePruned(pruned, tree.NodeCount, source, output, memory);
    }

    /// <summary>Where a page's text goes: as it is, or HTML-encoded.</summary>
    private abstract class PageOutput
    {
        public abstract void Write(string text);
        public abstract void WriteJson(FlameTree tree);
    }

    private sealed class PlainPage(TextWriter output) : PageOutput
    {
        public override void Write(string text) => output.Write(text);
        public override void WriteJson(FlameTree tree) => output.Write(FlameJson.ToJson(tree));
    }

    private sealed class EncodedPage(StringBuilder output) : PageOutput
    {
        public override void Write(string text) => output.Append(System.Net.WebUtility.HtmlEncode(text));

        // The JSON is ASCII whose only character HTML-encoding changes is the quote (its encoder escapes < > & ' and all
        // else): each byte becomes its character, a quote "&quot;". Anything else is encoded as text.
        [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
        public override void WriteJson(FlameTree tree)
        {
            using var buffer = new MemoryStream();
            FlameJson.Write(tree, buffer);
            var json = buffer.GetBuffer().AsSpan(0, (int)buffer.Length);
            if (!System.Text.Ascii.IsValid(json) || json.IndexOfAny("<>&'"u8) >= 0)
            {
                Write(Encoding.UTF8.GetString(json));
                return;
            }
            var quotes = json.Count((byte)'"');
            output.EnsureCapacity(output.Length + json.Length + 5 * quotes);
            Span<char> chunk = stackalloc char[4096];
            var filled = 0;
            foreach (var b in json)
            {
                if (filled > chunk.Length - 6)
                {
                    output.Append(chunk[..filled]);
                    filled = 0;
                }
                if (b == (byte)'"')
                {
                    "&quot;".CopyTo(chunk[filled..]);
                    filled += 6;
                }
                else
                    chunk[filled++] = (char)b;
            }
            output.Append(chunk[..filled]);
        }
    }

    private static void WritePruned(FlameTree tree, int full, string source, PageOutput output, TimelineData? memory)
    {
        var merged = tree.MergedFrames == 0 ? ""
            : $"\n<p class=\"meta\" id=\"fg-merged\">{N(tree.MergedFrames)} of the tree's {N(full)} frames are merged into \"[N smaller frames]\" nodes (the smallest first) to keep the page at {N(tree.NodeCount)} frames; every total stays exact.</p>";
        var title = tree.Inverted ? "Allocating frames and their callers" : "Memory flame graph";
        output.Write(ReportHtml.PageStart(title, source, ContentSecurityPolicy, Style.Value));
        output.Write($"""
            <p class="meta">{(source.Length > 0 ? E(source) + ": " : "")}{E(tree.Description)} — {E(ByteUnits.Format(tree.TotalBytes))} in {N(tree.Count)} allocations</p>{merged}
            <div id="fg-toolbar">
            <button type="button" id="fg-orient" aria-pressed="false" title="Icicle: callers at the top, allocating frames below (off: a flame graph, callers at the bottom)">Icicle</button>
            <label><input type="checkbox" id="fg-runtime"> hide runtime frames</label>
            <label id="fg-thread-label" hidden>thread <select id="fg-thread"></select></label>
            <input type="search" id="fg-search" placeholder="search frames" aria-label="search frames">
            <button type="button" id="fg-reset">Reset zoom</button>
            <span id="fg-match" aria-live="polite"></span>
            </div>
            <div id="fg-time" hidden>
            <div id="fg-time-legend"><span class="fg-key bars"></span><span id="fg-legend-bars"></span><span id="fg-legend-live" hidden><span class="fg-key live"></span><span id="fg-legend-live-text"></span></span></div>
            <div id="fg-time-plot">
            <div class="fg-y bars-axis" id="fg-y-bars"></div>
            <div id="fg-time-chart" aria-label="allocated bytes per time bucket and tracked live bytes over time; drag to select a time range"><svg id="fg-time-svg"></svg></div>
            <div class="fg-y right live-axis" id="fg-y-live"></div>
            </div>
            <div id="fg-time-bar"><span id="fg-window" aria-live="polite"></span><button type="button" id="fg-time-reset" disabled>All times</button></div>
            </div>
            <p class="legend"><span class="managed">managed</span><span class="native">native</span><span class="unknown">unknown</span>{(tree.SplitThreads ? "<span class=\"thread\">thread</span>" : "")}<span class="match">search match</span> click a frame to zoom, Esc to reset</p>
            <div id="fg-details" aria-live="polite"></div>
            <div id="fg-chart"></div>
            <div id="fg-tip" hidden></div>
            <noscript><p>The flame graph needs JavaScript; <code>memnb tree</code> prints the same tree as text.</p></noscript>
            <script type="application/json" id="fg-data">
            """);
        output.WriteJson(tree);
        output.Write("</script>\n");
        if (tree.Time is not null && memory is not null && memory["tracked_live"].Bytes.Count > 0)
        {
            output.Write("<script type=\"application/json\" id=\"fg-memory\">");
            output.Write(MemoryJson(memory));
            output.Write("</script>\n");
        }
        output.Write("<script>");
        output.Write(Script.Value);
        output.Write("</script>\n</body>\n</html>\n");
    }

    /// <summary>The page as a string (<see cref="Write(FlameTree, string, TextWriter, int, TimelineData?, int)"/>).</summary>
    public static string ToHtml(FlameTree tree, string source, int maxNodes = DefaultMaxNodes, TimelineData? memory = null, int timeBuckets = 0)
    {
        var writer = new StringWriter();
        Write(tree, source, writer, maxNodes, memory, timeBuckets);
        return writer.ToString();
    }

    /// <summary>Snapshot times (ms) and tracked live bytes, thinned to at most <see cref="MaxMemoryPoints"/>: the largest of each group.</summary>
    internal static string MemoryJson(TimelineData memory)
    {
        var live = memory["tracked_live"];
        var n = live.Bytes.Count;
        var group = Math.Max(1, (n + MaxMemoryPoints - 1) / MaxMemoryPoints);
        var times = new List<double>();
        var bytes = new List<long>();
        for (var i = 0; i < n; i += group)
        {
            var best = i;
            for (var j = i + 1; j < Math.Min(n, i + group); j++)
                if (live.Bytes[j] > live.Bytes[best])
                    best = j;
            times.Add(live.TimesMs[best]);
            bytes.Add(live.Bytes[best]);
        }
        return System.Text.Json.JsonSerializer.Serialize(new { times_ms = times, tracked_live = bytes });
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
