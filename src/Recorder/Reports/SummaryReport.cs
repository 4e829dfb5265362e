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

    /// <param name="description">What the view holds, for the heading (default: the view's own description).</param>
    /// <summary>The report of <paramref name="selection"/>'s view of <paramref name="capture"/>.</summary>
    public static SummaryReport Build(global::MemNotebook.Capture capture, ReportSelection selection, int top) =>
        Build(selection.ViewOf(capture), top, selection.Title);

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
