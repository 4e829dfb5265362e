using MemNotebook.Recorder.Analysis;
using Microsoft.Data.Analysis;

namespace MemNotebook.Recorder.Reports;

/// <summary>
/// One function of a <see cref="SummaryReport"/>: bytes and allocations under it (total: it is on the
/// stack, counted once per allocation), and those charged to it (own: the attribution of <c>memnb stats</c>).
/// </summary>
public readonly record struct SummaryRow(string Function, long TotalBytes, long Count, long OwnBytes, long OwnCount, double PercentOfTotal);

/// <summary>Functions of a view by total bytes, with own bytes beside them (Memray's summary).</summary>
public sealed class SummaryReport
{
    private SummaryReport(string description, long bytes, long count, IReadOnlyList<SummaryRow> rows, int functions)
    {
        Description = description;
        Bytes = bytes;
        Count = count;
        Rows = rows;
        Functions = functions;
    }

    public string Description { get; }

    /// <summary>Bytes of the whole view: what the percentages are of.</summary>
    public long Bytes { get; }
    public long Count { get; }

    /// <summary>The top functions: total bytes, then count descending, then name.</summary>
    public IReadOnlyList<SummaryRow> Rows { get; }

    /// <summary>How many functions the view has in all (rows beyond the top left out).</summary>
    public int Functions { get; }

    /// <summary>The report of <paramref name="selection"/>'s view of <paramref name="capture"/>.
    /// An aggregated capture gives the same numbers from its totals per stack and type (all, peak, leaks).</summary>
    public static SummaryReport Build(Capture capture, ReportSelection selection, int top)
    {
        if (capture.IsAggregated)
            return FromAggregates(capture, selection, top);
        var report = Build(selection.ViewOf(capture), top, selection.TitleOf(capture));
        if (selection.Mode == ReportMode.Peak && capture.HasNative)
            report.Peaks = PeaksOf(capture);
        return report;
    }

    /// <summary>
    /// A capture with native allocations has two peaks: which one the view is of, and what each counts
    /// (as <c>memnb stats</c> words them).
    /// </summary>
    public static IReadOnlyList<(string Label, string Value)> PeaksOf(Capture capture) =>
    [
        (PeakWording.ManagedLabel, $"{PeakWording.Exact(capture.PeakBytes)} "
            + (capture.PeakIsAtEnd ? "at the end" : $"at {TimeUnits.Format(capture.PeakTimeNs)}") + $": {PeakWording.ManagedMeaning}"),
        (PeakWording.NativeLabel, $"{PeakWording.Native(capture.NativePeakBytes, capture.NativePeakTimeNs)}: {PeakWording.NativeMeaning}"),
    ];

    /// <summary>
    /// The peaks of a capture with native allocations, for a view of the managed peak (label, value); empty otherwise.
    /// </summary>
    public IReadOnlyList<(string Label, string Value)> Peaks { get; private set; } = [];

    private static SummaryReport FromAggregates(Capture capture, ReportSelection selection, int top)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(top);
        var measure = AggregateReports.Measure(capture, selection, "summary");
        var (functionsOf, names) = AllocationColumns.InclusiveTable(capture.ArrowTable(Arrow.ArrowLayout.Stacks), capture.ArrowTable(Arrow.ArrowLayout.Frames));
        var own = new Dictionary<string, (long Count, long Bytes)>(StringComparer.Ordinal);
        var inclusiveCount = new long[names.Count];
        var inclusiveBytes = new long[names.Count];
        long count = 0, bytes = 0;
        foreach (var e in capture.AggregateRows)
        {
            var (c, b) = measure switch
            {
                AggregateMeasure.Total => (e.Count, e.Bytes),
                AggregateMeasure.Peak => (e.PeakCount, e.PeakBytes),
                _ => (e.LeakedCount, e.LeakedBytes),
            };
            if (c == 0)
                continue;
            (count, bytes) = (count + c, bytes + b);
            var o = own.GetValueOrDefault(e.Function);
            own[e.Function] = (o.Count + c, o.Bytes + b);
            foreach (var f in functionsOf[e.StackId])
            {
                inclusiveCount[f] += c;
                inclusiveBytes[f] += b;
            }
        }
        var rows = Enumerable.Range(0, names.Count).Where(f => inclusiveCount[f] > 0)
            .Select(f =>
            {
                var o = own.GetValueOrDefault(names[f]);
                return new SummaryRow(names[f], inclusiveBytes[f], inclusiveCount[f], o.Bytes, o.Count, bytes == 0 ? 0 : 100.0 * inclusiveBytes[f] / bytes);
            })
            .OrderByDescending(r => r.TotalBytes).ThenByDescending(r => r.Count).ThenBy(r => r.Function, StringComparer.Ordinal)
            .ToArray();
        return new SummaryReport(AggregateReports.Description(selection), bytes, count, rows.Take(top).ToArray(), rows.Length);
    }

    /// <param name="description">What the view holds, for the heading (default: the view's own description).</param>
    public static SummaryReport Build(AllocationView view, int top, string? description = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(top);
        var own = Totals(view.TopFunctions(int.MaxValue, Measure.Bytes, Attribution.Own));
        var inclusive = Totals(view.TopFunctions(int.MaxValue, Measure.Bytes, Attribution.Inclusive));
        var bytes = view.Bytes;
        var rows = inclusive
            .Select(kv =>
            {
                var o = own.GetValueOrDefault(kv.Key);
                return new SummaryRow(kv.Key, kv.Value.Bytes, kv.Value.Count, o.Bytes, o.Count,
                    bytes == 0 ? 0 : 100.0 * kv.Value.Bytes / bytes);
            })
            .OrderByDescending(r => r.TotalBytes).ThenByDescending(r => r.Count).ThenBy(r => r.Function, StringComparer.Ordinal)
            .ToArray();
        return new SummaryReport(description ?? view.Description, bytes, view.Count, rows.Take(top).ToArray(), rows.Length);
    }

    private static Dictionary<string, (long Count, long Bytes)> Totals(DataFrame ranked)
    {
        var totals = new Dictionary<string, (long, long)>(StringComparer.Ordinal);
        for (long i = 0; i < ranked.Rows.Count; i++)
            totals[(string)ranked["function"][i]] = ((long)ranked["count"][i], (long)ranked["bytes"][i]);
        return totals;
    }
}
