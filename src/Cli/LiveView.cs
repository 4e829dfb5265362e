using System.Diagnostics;
using System.Globalization;
using MemNotebook.Recorder.Analysis;
using MemNotebook.Recorder.Attaching;
using MemNotebook.Recorder.Capture;
using Spectre.Console;
using Spectre.Console.Rendering;

namespace MemNotebook.Cli;

/// <summary>
/// <c>--live</c>: what the recording holds so far, refreshed about once a second. The data comes from the capture
/// itself as it grows: the tracer's writer appends whole zstd chunks every 10 ms, and the reader stops at the last
/// whole chunk, so reading the file again gives everything recorded up to a few milliseconds ago (a sampled capture
/// is small: one record per ~100 KB allocated). RSS is read from /proc. On a terminal, a Spectre.Console live
/// table; keys: b / c sort by bytes or count, q stops recording (the process keeps running). Otherwise one summary
/// line per interval.
/// </summary>
internal static class LiveView
{
    private const int Top = 8;
    internal static readonly TimeSpan Interval = TimeSpan.FromSeconds(1);

    internal enum SortBy { Bytes, Count }

    /// <summary>Runs until the duration ends, <paramref name="cancel"/> fires, q is pressed or the target exits; false when it exited.</summary>
    public static bool Run(AttachSession session, TimeSpan? duration, CancellationToken cancel, TextWriter output)
    {
        var interactive = output == Console.Out && !Console.IsOutputRedirected && !Console.IsInputRedirected && AnsiConsole.Profile.Capabilities.Interactive;
        return interactive ? RunTerminal(session, duration, cancel) : RunLines(session, duration, cancel, output);
    }

    private static bool RunLines(AttachSession session, TimeSpan? duration, CancellationToken cancel, TextWriter output)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            var wait = duration is { } d ? Min(Interval, d - clock.Elapsed) : Interval;
            if (wait > TimeSpan.Zero && cancel.WaitHandle.WaitOne(wait))
                return session.TargetAlive;
            var alive = session.TargetAlive;
            if (Sample(session, clock.Elapsed) is { } sample)
                output.WriteLine(SummaryLine(sample));
            output.Flush();
            if (!alive)
                return false;
            if (duration is { } end && clock.Elapsed >= end)
                return true;
        }
    }

    private static TimeSpan Min(TimeSpan a, TimeSpan b) => a < b ? a : b;

    private static bool RunTerminal(AttachSession session, TimeSpan? duration, CancellationToken cancel)
    {
        var clock = Stopwatch.StartNew();
        var sort = SortBy.Bytes;
        var history = new List<(double Seconds, long Tracked, long Rss)>();
        var alive = true;
        AnsiConsole.Live(new Text("attaching…")).AutoClear(false).Start(context =>
        {
            var next = TimeSpan.Zero;
            while (!cancel.IsCancellationRequested && (duration is null || clock.Elapsed < duration))
            {
                while (Console.KeyAvailable)
                {
                    var key = Console.ReadKey(intercept: true).KeyChar;
                    if (key is 'q' or 'Q')
                        return;
                    if (key is 'b' or 'B') { sort = SortBy.Bytes; next = TimeSpan.Zero; }
                    if (key is 'c' or 'C') { sort = SortBy.Count; next = TimeSpan.Zero; }
                }
                if (clock.Elapsed >= next)
                {
                    alive = session.TargetAlive;
                    if (Sample(session, clock.Elapsed) is { } sample)
                    {
                        history.Add((sample.Seconds, sample.Stats.EstimatedBytes, sample.Rss));
                        context.UpdateTarget(Render(session, sample, history, sort));
                    }
                    if (!alive)
                        return;
                    next = clock.Elapsed + Interval;
                }
                cancel.WaitHandle.WaitOne(50);
            }
        });
        return alive && session.TargetAlive;
    }

    internal sealed record LiveSample(double Seconds, CaptureStats Stats, long Rss);

    internal static LiveSample? Sample(AttachSession session, TimeSpan elapsed)
    {
        try
        {
            var stats = CaptureStats.Compute(session.OutputPath, Top);
            return new LiveSample(elapsed.TotalSeconds, stats, Rss(session.ProcessId));
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

    /// <summary>One line: time, records, tracked (estimated) bytes, RSS, GCs, the top function and type by bytes.</summary>
    internal static string SummaryLine(LiveSample sample)
    {
        var s = sample.Stats;
        var function = s.TopFunctions.Count > 0 ? s.TopFunctions[0].Function : "-";
        var type = s.ByType.Count > 0 ? s.ByType[0].Type : "-";
        var tracked = s.Sampled ? $"~{ByteUnits.Format(s.EstimatedBytes)} allocated (estimate)" : $"{ByteUnits.Format(s.TotalBytes)} allocated";
        return string.Create(CultureInfo.InvariantCulture,
            $"{sample.Seconds,6:F1} s  {s.TotalAllocations:N0} records  {tracked}  RSS {ByteUnits.Format(sample.Rss)}  GCs {s.GcCount:N0}  top function {function}  top type {type}");
    }

    private static IRenderable Render(AttachSession session, LiveSample sample, List<(double Seconds, long Tracked, long Rss)> history, SortBy sort)
    {
        var s = sample.Stats;
        var header = new Markup(Markup.Escape(
            $"process {session.ProcessId} ({session.ProcessName}) · {sample.Seconds:F0} s · {s.TotalAllocations:N0} records · " +
            (s.Sampled ? $"~{ByteUnits.Format(s.EstimatedBytes)} allocated (estimate; LOH {ByteUnits.Format(s.ExactLargeBytes)} exact)" : $"{ByteUnits.Format(s.TotalBytes)} allocated") +
            $" · RSS {ByteUnits.Format(sample.Rss)} · GCs {s.GcCount:N0}"));
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
        var keys = new Markup(Markup.Escape($"sorted by {sort.ToString().ToLowerInvariant()} · b: by bytes · c: by count · q: stop recording (the process keeps running)"));
        return new Rows(header, chart, functions, types, keys);
    }

    private static IEnumerable<T> Sort<T>(IEnumerable<T> rows, Func<T, long> bytes, Func<T, long> count, SortBy sort) =>
        (sort == SortBy.Bytes ? rows.OrderByDescending(bytes).ThenByDescending(count) : rows.OrderByDescending(count).ThenByDescending(bytes)).Take(Top);
}
