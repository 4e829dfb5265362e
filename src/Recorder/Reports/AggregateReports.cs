using MemNotebook.Recorder.Analysis;
using MemNotebook.Recorder.Arrow;

namespace MemNotebook.Recorder.Reports;

/// <summary>
/// Reports of an aggregated capture (<c>memnb run --aggregate</c>): it holds, per (stack, type), the allocated
/// totals and what was alive at the peak and at the end, so the summary, tree and flame graph of all allocations,
/// the peak and the leaks come from those totals (the same numbers a full capture of the run gives); what needs
/// single allocations (temporary objects, threads, sizes, times) is refused with one message naming it.
/// </summary>
internal static class AggregateReports
{
    /// <summary>The (stack, count, bytes) totals of the selection's measure, per stack, stacks with none left out.</summary>
    public static List<(int StackId, long Count, long Bytes)> PerStack(Capture capture, ReportSelection selection, string report)
    {
        var measure = Measure(capture, selection, report);
        var totals = new Dictionary<int, (long Count, long Bytes)>();
        foreach (var e in capture.AggregateRows)
        {
            var (count, bytes) = measure switch
            {
                AggregateMeasure.Total => (e.Count, e.Bytes),
                AggregateMeasure.Peak => (e.PeakCount, e.PeakBytes),
                _ => (e.LeakedCount, e.LeakedBytes),
            };
            if (count == 0)
                continue;
            var t = totals.GetValueOrDefault(e.StackId);
            totals[e.StackId] = (t.Count + count, t.Bytes + bytes);
        }
        return totals.OrderBy(kv => kv.Key).Select(kv => (kv.Key, kv.Value.Count, kv.Value.Bytes)).ToList();
    }

    /// <summary>The heading of a report from the aggregates.</summary>
    public static string Description(ReportSelection selection) => selection.Title + " (from the aggregated capture's totals)";

    public static AggregateMeasure Measure(Capture capture, ReportSelection selection, string report) => selection.Mode switch
    {
        ReportMode.Allocated => AggregateMeasure.Total,
        ReportMode.Peak => AggregateMeasure.Peak,
        ReportMode.Leaks => AggregateMeasure.Leaked,
        _ => throw Refuse(capture, $"the {report} of temporary allocations (--temporary)"),
    };

    public static NotSupportedException Refuse(Capture capture, string what) => new(
        $"{capture.Path}: {what} needs a full capture, but this one was recorded with --aggregate: it holds, per stack and type, " +
        "the allocated totals and what was alive at the peak and at the end. From it, summary, tree and flamegraph show all " +
        "allocations (--all), the peak (the default) and the leaks (--leaks), without threads or time ranges, and stats and " +
        "timeline work; record without --aggregate for the rest.");
}
