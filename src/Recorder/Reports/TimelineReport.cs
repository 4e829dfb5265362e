using System.Globalization;
using System.Reflection;
using System.Security.Cryptography;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.RegularExpressions;
using Apache.Arrow;
using MemNotebook.Recorder.Analysis;
using MemNotebook.Recorder.Arrow;
using MemNotebook.Recorder.Format;

namespace MemNotebook.Recorder.Reports;

/// <summary>One line of the timeline: a value in bytes at each snapshot time (ms since the capture started).</summary>
/// <param name="Key">A stable identifier: rss, gen0, gen1, gen2, loh, poh, tracked_live; scope_live (first) for a scoped capture.</param>
/// <param name="Name">The legend label.</param>
/// <param name="Stack">The name of the group whose lines are drawn stacked (the managed heap's parts), or null.</param>
public sealed record TimelineSeries(string Key, string Name, IReadOnlyList<double> TimesMs, IReadOnlyList<long> Bytes, string? Stack);

/// <summary>
/// One garbage collection. Times in ms since the capture started, null when the capture lacks that record.
/// <paramref name="Generations"/> holds the collected generations as in GC_START (bit n = generation n, bit 3 LOH, bit 4 POH).
/// </summary>
public sealed record TimelineGc(long Index, double? StartMs, double? EndMs, double? PauseMs, int Generations, bool Induced, long LiveBytesAtStart)
{
    /// <summary>The oldest generation collected (0, 1 or 2; 2 when only LOH or POH bits are set).</summary>
    public int Generation => (Generations & 4) != 0 || (Generations & 7) == 0 ? 2 : (Generations & 2) != 0 ? 1 : 0;

    /// <summary>When the GC is drawn: its start, else its end.</summary>
    public double? TimeMs => StartMs ?? EndMs;
}

/// <summary>The numbers of a timeline: every snapshot's series and every GC, as the capture's tables hold them.</summary>
public sealed record TimelineData(string Source, double DurationMs, IReadOnlyList<TimelineSeries> Series, IReadOnlyList<TimelineGc> Gcs)
{
    public TimelineSeries this[string key] => Series.FirstOrDefault(s => s.Key == key)
        ?? throw new KeyNotFoundException($"no timeline series {key}");

    /// <summary>The managed heap (gen0 + gen1 + gen2 + LOH + POH) at each snapshot.</summary>
    public long[] HeapBytes()
    {
        var heap = new long[this["rss"].Bytes.Count];
        foreach (var s in Series.Where(s => s.Stack is not null))
            for (var i = 0; i < heap.Length; i++)
                heap[i] += s.Bytes[i];
        return heap;
    }
}

/// <summary>
/// Memory over time: RSS, the managed heap per generation and the tracked live bytes from the capture's
/// 10 ms snapshots, and each GC as a mark with its generation and pause. <see cref="Data"/> gives the numbers
/// (for any other chart, such as the notebook's); <see cref="RenderPage(Capture, string)"/> a standalone,
/// offline HTML page with plotly.js embedded; <see cref="RenderFragment(Capture, string)"/> a fragment for a
/// page that has loaded plotly.js once already (<see cref="PlotlyJs"/>).
/// </summary>
public static class TimelineReport
{
    private static readonly Lazy<string> Plotly = new(() => Resource("plotly.min.js"));
    private static readonly Lazy<string> Script = new(() => Resource("timeline.js"));

    /// <summary>The id of the chart element of a page.</summary>
    public const string PageElementId = "memnb-timeline";

    /// <summary>The plotly.js embedded in this assembly (npm plotly.js-dist-min, MIT licence; its copyright header kept).</summary>
    public static string PlotlyJs => Plotly.Value;

    /// <summary>The version of <see cref="PlotlyJs"/>, from its header ("4.1.2").</summary>
    public static string PlotlyVersion => Regex.Match(Plotly.Value[..Math.Min(200, Plotly.Value.Length)], @"plotly\.js v([0-9][^\s*]*)") is { Success: true } m
        ? m.Groups[1].Value : "unknown";

    /// <summary>The series and GCs of <paramref name="capture"/> (works for aggregated captures too).</summary>
    public static TimelineData Data(Capture capture)
    {
        var timeline = capture.ArrowTable(ArrowLayout.Timeline);
        Int64Array L(RecordBatch batch, string name) => (Int64Array)batch.Column(name);
        var times = L(timeline, "time_ns");
        var timesMs = new double[timeline.Length];
        for (var i = 0; i < timesMs.Length; i++)
            timesMs[i] = Ms(times.GetValue(i)!.Value);
        TimelineSeries Series(string key, string column, string name, string? stack)
        {
            var values = L(timeline, column);
            var bytes = new long[timeline.Length];
            for (var i = 0; i < bytes.Length; i++)
                bytes[i] = values.GetValue(i)!.Value;
            return new TimelineSeries(key, name, timesMs, bytes, stack);
        }
        var series = new List<TimelineSeries>();
        // A capture scoped to a cell's code (or any scope): the scope's own tracked bytes alive at each snapshot first.
        if (capture.Scope is not null && !capture.IsAggregated)
            series.Add(new TimelineSeries("scope_live", ScopeSeriesName(capture.Scope), timesMs,
                ScopeLiveBytes(capture, Enumerable.Range(0, times.Length).Select(i => times.GetValue(i)!.Value).ToArray()), null));
        series.AddRange(new[]
        {
            Series("rss", "rss_bytes", "RSS", null),
            Series("gen0", "gen0_bytes", "gen 0", "heap"),
            Series("gen1", "gen1_bytes", "gen 1", "heap"),
            Series("gen2", "gen2_bytes", "gen 2", "heap"),
            Series("loh", "loh_bytes", "LOH", "heap"),
            Series("poh", "poh_bytes", "POH", "heap"),
            Series("tracked_live", "tracked_live_bytes", "tracked live", null),
        });

        var gcs = capture.ArrowTable(ArrowLayout.GcEvents);
        var index = L(gcs, "gc_index");
        var start = L(gcs, "start_ns");
        var end = L(gcs, "end_ns");
        var pause = L(gcs, "pause_ns");
        var live = L(gcs, "live_bytes_at_start");
        var generations = (Int32Array)gcs.Column("generations");
        var reason = (Int32Array)gcs.Column("reason");
        var marks = new TimelineGc[gcs.Length];
        for (var i = 0; i < marks.Length; i++)
            marks[i] = new TimelineGc(index.GetValue(i)!.Value, Ms(start.GetValue(i)), Ms(end.GetValue(i)), Ms(pause.GetValue(i)),
                generations.GetValue(i)!.Value, reason.GetValue(i) == 1, live.GetValue(i)!.Value);
        return new TimelineData(capture.Path, Ms(capture.DurationNs), series, marks);
    }

    /// <summary>
    /// The series and GCs of a capture scoped by a streaming pass (<see cref="ScopedPass"/>): the same numbers as
    /// <see cref="Data(Capture)"/> of the capture scoped the same way, without its tables.
    /// </summary>
    public static TimelineData Data(ScopedSummary summary)
    {
        var snapshots = summary.Snapshots;
        var timesMs = new double[snapshots.Count];
        for (var i = 0; i < timesMs.Length; i++)
            timesMs[i] = Ms(snapshots[i].TimeNs);
        TimelineSeries Series(string key, Func<MemorySnapshot, long> value, string name, string? stack)
        {
            var bytes = new long[snapshots.Count];
            for (var i = 0; i < bytes.Length; i++)
                bytes[i] = value(snapshots[i]);
            return new TimelineSeries(key, name, timesMs, bytes, stack);
        }
        var series = new List<TimelineSeries>
        {
            new("scope_live", ScopeSeriesName(summary.Scope), timesMs, summary.ScopeLiveAtSnapshots.ToArray(), null),
            Series("rss", s => s.RssBytes, "RSS", null),
            Series("gen0", s => s.Gen0Bytes, "gen 0", "heap"),
            Series("gen1", s => s.Gen1Bytes, "gen 1", "heap"),
            Series("gen2", s => s.Gen2Bytes, "gen 2", "heap"),
            Series("loh", s => s.LohBytes, "LOH", "heap"),
            Series("poh", s => s.PohBytes, "POH", "heap"),
            Series("tracked_live", s => s.TrackedLiveBytes, "tracked live", null),
        };
        var marks = summary.GcEvents
            .Select(g => new TimelineGc(g.GcIndex, Ms(g.StartNs), Ms(g.EndNs), Ms(g.PauseNs), g.Generations, g.IsInduced, g.LiveBytesAtStart))
            .ToArray();
        return new TimelineData(summary.Path, Ms(summary.DurationNs), series, marks);
    }

    /// <summary>The legend label of a scope's series: "the cell's tracked live" for a notebook cell's capture.</summary>
    private static string ScopeSeriesName(string scope) =>
        scope == Capture.SubmissionScope ? "the cell's tracked live" : "tracked live in scope";

    /// <summary>Bytes of the scope's managed objects alive at each snapshot.</summary>
    private static long[] ScopeLiveBytes(Capture capture, IReadOnlyList<long> snapshotTimes) =>
        Capture.LiveBytesAt(capture.Columns, capture.All.Rows, snapshotTimes);

    /// <summary>A standalone HTML page: plotly.js and the chart's script inlined, no network, a Content-Security-Policy allowing only those.</summary>
    public static string RenderPage(Capture capture, string source = "") => RenderPage(Data(capture), source);

    public static string RenderPage(TimelineData data, string source = "")
    {
        var writer = new StringWriter();
        WritePage(data, source, writer);
        return writer.ToString();
    }

    /// <summary>The page's Content-Security-Policy: plotly.js and the chart script by hash, inline styles (plotly sets them), nothing external.</summary>
    public static string ContentSecurityPolicy =>
        $"default-src 'none'; script-src '{Hash(Plotly.Value)}' '{Hash(PageScript)}'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'";

    private static string PageScript => Script.Value + "(" + JsonSerializer.Serialize(PageElementId) + ");";

    public static void WritePage(TimelineData data, string source, TextWriter output)
    {
        output.Write(ReportHtml.PageStart("Memory over time", source, ContentSecurityPolicy,
            "body { font: 14px system-ui, sans-serif; margin: 1.5em; color: #222; } .meta { color: #555; }"));
        output.Write($"""
            <p class="meta">{(source.Length > 0 ? E(source) + ": " : "")}{E(Summary(data))}</p>

            """);
        WriteChart(data, PageElementId, output);
        output.Write("<script>");
        output.Write(Plotly.Value);
        output.Write("</script>\n<script>");
        output.Write(PageScript);
        output.Write("</script>\n</body>\n</html>\n");
    }

    /// <summary>
    /// The chart as an HTML fragment for a page that has loaded plotly.js already (a global <c>Plotly</c>, as
    /// from <see cref="PlotlyJs"/>): a div with id <paramref name="elementId"/>, the data, and a script that draws it.
    /// </summary>
    public static string RenderFragment(Capture capture, string elementId) => RenderFragment(Data(capture), elementId);

    public static string RenderFragment(TimelineData data, string elementId)
    {
        if (!Regex.IsMatch(elementId, "^[A-Za-z][A-Za-z0-9_-]*$"))
            throw new ArgumentException($"element id {elementId} must be a letter followed by letters, digits, - or _", nameof(elementId));
        var writer = new StringWriter();
        WriteChart(data, elementId, writer);
        writer.Write("<script>");
        writer.Write(Script.Value);
        writer.Write("(");
        writer.Write(JsonSerializer.Serialize(elementId));
        writer.Write(");</script>\n");
        return writer.ToString();
    }

    /// <summary>The chart's data as JSON, safe inside a <c>&lt;script type="application/json"&gt;</c> block.</summary>
    public static string ToJson(TimelineData data)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = JavaScriptEncoder.Default }))
        {
            json.WriteStartObject();
            json.WriteNumber("duration_ms", data.DurationMs);
            json.WriteStartArray("series");
            var times = data.Series.Count > 0 ? data.Series[0].TimesMs : [];
            foreach (var s in data.Series)
            {
                json.WriteStartObject();
                json.WriteString("key", s.Key);
                json.WriteString("name", s.Name);
                if (s.Stack is not null)
                    json.WriteString("stack", s.Stack);
                json.WriteStartArray("bytes");
                foreach (var b in s.Bytes)
                    json.WriteNumberValue(b);
                json.WriteEndArray();
                json.WriteEndObject();
            }
            json.WriteEndArray();
            json.WriteStartArray("times_ms");
            foreach (var t in times)
                json.WriteNumberValue(t);
            json.WriteEndArray();
            json.WriteStartArray("gcs");
            foreach (var gc in data.Gcs)
            {
                json.WriteStartObject();
                json.WriteNumber("index", gc.Index);
                WriteNullable(json, "start_ms", gc.StartMs);
                WriteNullable(json, "end_ms", gc.EndMs);
                WriteNullable(json, "pause_ms", gc.PauseMs);
                json.WriteNumber("generations", gc.Generations);
                json.WriteNumber("generation", gc.Generation);
                json.WriteBoolean("induced", gc.Induced);
                json.WriteNumber("live_bytes_at_start", gc.LiveBytesAtStart);
                json.WriteEndObject();
            }
            json.WriteEndArray();
            json.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.ToArray());
    }

    /// <summary>A compact text table for a terminal: peaks, GC counts by generation, pauses.</summary>
    public static string ToText(TimelineData data, string source)
    {
        var text = new StringBuilder();
        var snapshots = data["rss"].Bytes.Count;
        text.Append(CultureInfo.InvariantCulture, $"{source}: {Summary(data)}\n\n");
        text.Append(CultureInfo.InvariantCulture, $"{"",-14} {"peak",12} {"at",10} {"last",12}\n");
        void Row(string name, IReadOnlyList<long> values)
        {
            if (values.Count == 0)
            {
                text.Append(CultureInfo.InvariantCulture, $"{name,-14} {"-",12} {"-",10} {"-",12}\n");
                return;
            }
            var peakAt = 0;
            for (var i = 1; i < values.Count; i++)
                if (values[i] > values[peakAt])
                    peakAt = i;
            var at = values[peakAt] == 0 ? "-" : Seconds(data["rss"].TimesMs[peakAt]);
            text.Append(CultureInfo.InvariantCulture, $"{name,-14} {ByteUnits.Format(values[peakAt]),12} {at,10} {ByteUnits.Format(values[^1]),12}\n");
        }
        Row("RSS", data["rss"].Bytes);
        Row("managed heap", data.HeapBytes());
        foreach (var key in new[] { "gen0", "gen1", "gen2", "loh", "poh" })
            Row("  " + data[key].Name, data[key].Bytes);
        Row("tracked live", data["tracked_live"].Bytes);
        text.Append("(managed heap: its parts as the last GC before each snapshot left them; tracked live: bytes of recorded objects alive)\n\n");
        var byGeneration = Enumerable.Range(0, 3).Select(g => data.Gcs.Count(gc => gc.Generation == g)).ToArray();
        var pauses = data.Gcs.Where(gc => gc.PauseMs is not null).Select(gc => gc.PauseMs!.Value).ToArray();
        text.Append(CultureInfo.InvariantCulture,
            $"GCs: {data.Gcs.Count:N0} (gen 0: {byGeneration[0]:N0}, gen 1: {byGeneration[1]:N0}, gen 2: {byGeneration[2]:N0}; induced: {data.Gcs.Count(gc => gc.Induced):N0})\n");
        text.Append(pauses.Length == 0 ? "pauses: none recorded\n"
            : string.Create(CultureInfo.InvariantCulture,
                $"pauses: {pauses.Length:N0}, total {pauses.Sum():F3} ms, max {pauses.Max():F3} ms, mean {pauses.Average():F3} ms\n"));
        if (snapshots == 0)
            text.Append("no memory snapshots in this capture\n");
        return text.ToString();
    }

    private static string Summary(TimelineData data) => string.Create(CultureInfo.InvariantCulture,
        $"{Seconds(data.DurationMs)}, {data["rss"].Bytes.Count:N0} memory snapshots, {data.Gcs.Count:N0} GCs");

    private static string Seconds(double ms) => ms >= 1000 ? (ms / 1000).ToString("F2", CultureInfo.InvariantCulture) + " s"
        : ms.ToString("F1", CultureInfo.InvariantCulture) + " ms";

    private static void WriteChart(TimelineData data, string elementId, TextWriter output)
    {
        output.Write($"<div id=\"{elementId}\" class=\"memnb-timeline\" style=\"width:100%;height:460px\"></div>\n");
        output.Write($"<script type=\"application/json\" id=\"{elementId}-data\">");
        output.Write(ToJson(data));
        output.Write("</script>\n");
    }

    private static void WriteNullable(Utf8JsonWriter json, string name, double? value)
    {
        if (value is double v)
            json.WriteNumber(name, v);
        else
            json.WriteNull(name);
    }

    private static double Ms(long ns) => ns / 1e6;

    private static double? Ms(long? ns) => ns is long v ? v / 1e6 : null;

    private static string Resource(string name)
    {
        using var stream = typeof(TimelineReport).Assembly.GetManifestResourceStream($"MemNotebook.Recorder.Reports.{name}")
            ?? throw new InvalidOperationException($"{name} is not embedded in {typeof(TimelineReport).Assembly.GetName().Name}");
        using var reader = new StreamReader(stream, Encoding.UTF8);
        var text = reader.ReadToEnd();
        // Inlined in a <script> element: "<!--" there (plotly.js has one, inside a regular expression's string)
        // could start the "double escaped" state in which </script> no longer ends the element. Inside a
        // JavaScript string or regular expression "\x3C" is the same "<".
        text = text.Replace("<!--", "\\x3C!--", StringComparison.Ordinal);
        if (text.Contains("</script", StringComparison.OrdinalIgnoreCase) || text.Contains("<script", StringComparison.OrdinalIgnoreCase))
            throw new InvalidOperationException($"{name} contains <script or </script");
        return text;
    }

    private static string Hash(string inline) => "sha256-" + Convert.ToBase64String(SHA256.HashData(Encoding.UTF8.GetBytes(inline)));

    private static string E(string text) => HtmlEncoder.Default.Encode(text);
}
