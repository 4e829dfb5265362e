using System.Diagnostics;
using System.Globalization;
using MemNotebook.Recorder.Analysis;
using MemNotebook.Recorder.Attaching;
using MemNotebook.Recorder.Format;
using MemNotebook.Recorder.Launching;
using Spectre.Console;
using Spectre.Console.Rendering;

namespace MemNotebook.Cli;

/// <summary>What the live view watches: a process that records into a capture file.</summary>
/// <param name="Alive">Whether the process still runs.</param>
/// <param name="ReadsKeys">
/// Whether the view may read keys from the terminal: <c>memnb attach</c> owns its terminal; under <c>memnb run</c> the
/// program owns stdin, so the view leaves it alone (and has no q: the program decides when recording ends).
/// </param>
internal sealed record LiveTarget(int ProcessId, string ProcessName, string OutputPath, Func<bool> Alive, bool ReadsKeys)
{
    public static LiveTarget Of(AttachSession session) =>
        new(session.ProcessId, session.ProcessName, session.OutputPath, () => session.TargetAlive, ReadsKeys: true);

    public static LiveTarget Of(TracedRun run) =>
        new(run.ProcessId, run.ProcessName, run.Launch.OutputPath, () => !run.HasExited, ReadsKeys: false);
}

/// <summary>
/// <c>--live</c> (<c>memnb attach</c> and <c>memnb run</c>): what the recording holds so far, refreshed about once a
/// second. The data comes from the capture itself as it grows: the tracer's writer appends whole zstd chunks every
/// 10 ms, and the reader stops at the last whole chunk, so reading the file again gives everything recorded up to a
/// few milliseconds ago. A capture that takes long to read (an exact one of millions of records) is read less often:
/// the view waits at least twice as long as the last read took. RSS is read from /proc. On a terminal, a
/// Spectre.Console live table (with keys when the target allows: b / c sort by bytes or count, q stops recording);
/// otherwise one summary line per interval.
/// </summary>
internal static class LiveView
{
    private const int Top = 8;
    internal static readonly TimeSpan Interval = TimeSpan.FromSeconds(1);

    internal enum SortBy { Bytes, Count }

    /// <summary>
    /// Runs until the duration ends, <paramref name="cancel"/> fires, q is pressed or the target exits; false when it
    /// exited. With <paramref name="terminal"/> the view is a live table there, else summary lines on <paramref name="lines"/>.
    /// </summary>
    public static bool Run(LiveTarget target, TimeSpan? duration, CancellationToken cancel, IAnsiConsole? terminal, TextWriter lines) =>
        terminal is not null ? RunTerminal(target, duration, cancel, terminal) : RunLines(target, duration, cancel, lines);

    private static bool RunLines(LiveTarget target, TimeSpan? duration, CancellationToken cancel, TextWriter output)
    {
        var clock = Stopwatch.StartNew();
        LiveSample? last = null;
        var wait = Interval;
        while (true)
        {
            var left = duration is { } d ? Min(wait, d - clock.Elapsed) : wait;
            if (left > TimeSpan.Zero && WaitWhileAlive(target, left, cancel))
                return target.Alive();
            var alive = target.Alive();
            var read = Stopwatch.StartNew();
            if (Sample(target, clock.Elapsed, last) is { } sample)
            {
                output.WriteLine(SummaryLine(sample));
                last = sample;
            }
            wait = NextWait(read.Elapsed);
            output.Flush();
            if (!alive)
                return false;
            if (duration is { } end && clock.Elapsed >= end)
                return true;
        }
    }

    /// <summary>Waits <paramref name="span"/>, less when the target exits (its last line comes at once); true when cancelled.</summary>
    private static bool WaitWhileAlive(LiveTarget target, TimeSpan span, CancellationToken cancel)
    {
        var until = Stopwatch.StartNew();
        while (until.Elapsed < span)
        {
            if (cancel.WaitHandle.WaitOne(Min(TimeSpan.FromMilliseconds(50), span - until.Elapsed)))
                return true;
            if (!target.Alive())
                return false;
        }
        return false;
    }

    private static TimeSpan NextWait(TimeSpan readTime) => readTime * 2 > Interval ? readTime * 2 : Interval;

    private static TimeSpan Min(TimeSpan a, TimeSpan b) => a < b ? a : b;

    private static bool RunTerminal(LiveTarget target, TimeSpan? duration, CancellationToken cancel, IAnsiConsole terminal)
    {
        var clock = Stopwatch.StartNew();
        var sort = SortBy.Bytes;
        var history = new List<(double Seconds, long Tracked, long Rss)>();
        var alive = true;
        LiveSample? last = null;
        terminal.Live(new Text("starting…")).AutoClear(false).Start(context =>
        {
            var next = TimeSpan.Zero;
            while (!cancel.IsCancellationRequested && (duration is null || clock.Elapsed < duration))
            {
                while (target.ReadsKeys && Console.KeyAvailable)
                {
                    var key = Console.ReadKey(intercept: true).KeyChar;
                    if (key is 'q' or 'Q')
                        return;
                    if (key is 'b' or 'B') { sort = SortBy.Bytes; next = TimeSpan.Zero; }
                    if (key is 'c' or 'C') { sort = SortBy.Count; next = TimeSpan.Zero; }
                }
                alive = target.Alive();
                if (clock.Elapsed >= next || !alive)
                {
                    var read = Stopwatch.StartNew();
                    if (Sample(target, clock.Elapsed, last) is { } sample)
                    {
                        last = sample;
                        history.Add((sample.Seconds, sample.Stats.EstimatedBytes, sample.Rss));
                        context.UpdateTarget(Render(target, sample, history, sort));
                    }
                    if (!alive)
                        return;
                    next = clock.Elapsed + NextWait(read.Elapsed);
                }
                cancel.WaitHandle.WaitOne(50);
            }
        });
        return alive && target.Alive();
    }

    /// <param name="Rss">Bytes resident when last read (the previous value once the process is gone).</param>
    internal sealed record LiveSample(double Seconds, CaptureStats Stats, long Rss);

    internal static LiveSample? Sample(LiveTarget target, TimeSpan elapsed, LiveSample? previous = null)
    {
        try
        {
            var rss = Rss(target.ProcessId);
            var stats = CaptureStats.Compute(target.OutputPath, Top);
            return new LiveSample(elapsed.TotalSeconds, stats, rss > 0 ? rss : previous?.Rss ?? 0);
        }
        catch (Exception ex) when (ex is IOException or CaptureFormatException or UnauthorizedAccessException)
        {
            return null; // not written yet, or a chunk being written: the next second reads it
        }
    }

    /// <summary>Resident set size from /proc/PID/statm (pages × page size); 0 when it cannot be read.</summary>
    internal static long Rss(int pid)
    {
        try
        {
            var fields = File.ReadAllText($"/proc/{pid}/statm").Split(' ');
            return long.Parse(fields[1], CultureInfo.InvariantCulture) * Environment.SystemPageSize;
        }
        catch (Exception ex) when (ex is IOException or FormatException or IndexOutOfRangeException or UnauthorizedAccessException)
        {
            return 0;
        }
    }

    /// <summary>
    /// The GC count: GC_START records, which an attached tracer writes too (its sampled session turns on the runtime's
    /// basic GC callbacks).
    /// </summary>
    internal static string Gcs(CaptureStats stats) => stats.GcCount.ToString("N0", CultureInfo.InvariantCulture);

    /// <summary>One line: time, records, tracked (estimated) bytes, RSS, GCs, the top function and type by bytes.</summary>
    internal static string SummaryLine(LiveSample sample)
    {
        var s = sample.Stats;
        var function = s.TopFunctions.Count > 0 ? s.TopFunctions[0].Function : "-";
        var type = s.ByType.Count > 0 ? s.ByType[0].Type : "-";
        var tracked = s.Sampled ? $"~{ByteUnits.Format(s.EstimatedBytes)} allocated (estimate)" : $"{ByteUnits.Format(s.TotalBytes)} allocated";
        return string.Create(CultureInfo.InvariantCulture,
            $"{sample.Seconds,6:F1} s  {s.TotalAllocations:N0} records  {tracked}  RSS {ByteUnits.Format(sample.Rss)}  GCs {Gcs(s)}  top function {function}  top type {type}");
    }

    private static IRenderable Render(LiveTarget target, LiveSample sample, List<(double Seconds, long Tracked, long Rss)> history, SortBy sort)
    {
        var s = sample.Stats;
        var header = new Markup(Markup.Escape(
            $"process {target.ProcessId} ({target.ProcessName}) · {sample.Seconds:F0} s · {s.TotalAllocations:N0} records · " +
            (s.Sampled ? $"~{ByteUnits.Format(s.EstimatedBytes)} allocated (estimate; LOH {ByteUnits.Format(s.ExactLargeBytes)} exact)" : $"{ByteUnits.Format(s.TotalBytes)} allocated") +
            $" · RSS {ByteUnits.Format(sample.Rss)} · GCs {Gcs(s)}"));
        var chart = new BarChart().Width(60).Label("RSS over time (MB)");
        foreach (var point in history.TakeLast(12))
            chart.AddItem($"{point.Seconds:F0} s", Math.Round(point.Rss / 1048576.0, 1), Color.Blue);
        var bytesLabel = s.Sampled ? "sampled bytes" : "bytes";
        var countLabel = s.Sampled ? "samples" : "count";
        var functions = new Table().Title("top functions").AddColumn(bytesLabel).AddColumn(countLabel).AddColumn("function");
        foreach (var f in Sort(s.TopFunctions, f => f.Bytes, f => f.Count, sort))
            functions.AddRow(ByteUnits.Format(f.Bytes), f.Count.ToString("N0", CultureInfo.InvariantCulture), Markup.Escape(f.Function));
        var types = new Table().Title("top types").AddColumn(bytesLabel).AddColumn(countLabel).AddColumn("type");
        foreach (var t in Sort(s.ByType, t => t.Bytes, t => t.Count, sort))
            types.AddRow(ByteUnits.Format(t.Bytes), t.Count.ToString("N0", CultureInfo.InvariantCulture), Markup.Escape(t.Type));
        var keys = new Markup(Markup.Escape(target.ReadsKeys
            ? $"sorted by {sort.ToString().ToLowerInvariant()} · b: by bytes · c: by count · q: stop recording (the process keeps running)"
            : "sorted by bytes · recording until the program exits"));
        return new Rows(header, chart, functions, types, keys);
    }

    private static IEnumerable<T> Sort<T>(IEnumerable<T> rows, Func<T, long> bytes, Func<T, long> count, SortBy sort) =>
        (sort == SortBy.Bytes ? rows.OrderByDescending(bytes).ThenByDescending(count) : rows.OrderByDescending(count).ThenByDescending(bytes)).Take(Top);
}
