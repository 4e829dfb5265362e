using System.Numerics;
using MemNotebook.Recorder.Analysis;

namespace MemNotebook.Recorder.Reports;

/// <summary>The column a <see cref="TableReport"/> is sorted by (numbers descending, names ascending).</summary>
public enum TableSort
{
    Bytes,
    Count,
    Thread,
    Type,
    Function,
    Size,
}

/// <summary>
/// Allocations of one thread, type and function in one power-of-two size bucket
/// [<see cref="MinSize"/>, <see cref="MaxSize"/>] (the buckets of <see cref="AllocationView.SizeHistogram"/>).
/// </summary>
public readonly record struct TableRow(string Thread, string Type, string Function, long MinSize, long MaxSize, long Count, long Bytes);

/// <summary>A view's allocations grouped by thread, type, function (own attribution) and size bucket.</summary>
public sealed class TableReport
{
    private TableReport(string description, long bytes, long count, IReadOnlyList<TableRow> rows, int groups)
    {
        Description = description;
        Bytes = bytes;
        Count = count;
        Rows = rows;
        Groups = groups;
    }

    public string Description { get; }
    public long Bytes { get; }
    public long Count { get; }

    /// <summary>The first rows in the requested order.</summary>
    public IReadOnlyList<TableRow> Rows { get; }

    /// <summary>How many rows the whole table has.</summary>
    public int Groups { get; }

    /// <summary>The table of <paramref name="selection"/>'s view of <paramref name="capture"/>.</summary>
    public static TableReport Build(Capture capture, ReportSelection selection, TableSort sort = TableSort.Bytes, int top = int.MaxValue) =>
        capture.IsAggregated
            ? throw AggregateReports.Refuse(capture, "the table (the thread and size of each allocation)")
            : Build(selection.ViewOf(capture), sort, top, selection.TitleOf(capture));

    /// <param name="description">What the view holds, for the heading (default: the view's own description).</param>
    public static TableReport Build(AllocationView view, TableSort sort = TableSort.Bytes, int top = int.MaxValue, string? description = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(top);
        var columns = view.Capture.Columns;
        var size = columns.Size;
        var streams = columns.ThreadStream;
        var types = columns.TypeId;
        var stacks = columns.StackId;
        var groups = new Dictionary<(int Stream, int Type, string Function, int Bucket), (long Count, long Bytes)>();
        foreach (var r in view.Rows)
        {
            var key = (streams[r], types[r], columns.OwnFunction(stacks[r]), Bucket(size[r]));
            var t = groups.GetValueOrDefault(key);
            groups[key] = (t.Count + 1, t.Bytes + size[r]);
        }
        var threads = columns.Threads.ToDictionary(t => t.Stream, t => t.Name is null ? $"{t.OsThreadId}" : $"{t.OsThreadId} ({t.Name})");
        var rows = groups.Select(kv =>
        {
            var (min, max) = BucketRange(kv.Key.Bucket);
            return new TableRow(threads.GetValueOrDefault(kv.Key.Stream) ?? $"stream {kv.Key.Stream}", columns.TypeName(kv.Key.Type),
                kv.Key.Function, min, max, kv.Value.Count, kv.Value.Bytes);
        });
        // Every order ends in the same tie-breakers, so a table is the same on every run.
        var sorted = (sort switch
        {
            TableSort.Bytes => rows.OrderByDescending(r => r.Bytes),
            TableSort.Count => rows.OrderByDescending(r => r.Count),
            TableSort.Thread => rows.OrderBy(r => r.Thread, StringComparer.Ordinal),
            TableSort.Type => rows.OrderBy(r => r.Type, StringComparer.Ordinal),
            TableSort.Function => rows.OrderBy(r => r.Function, StringComparer.Ordinal),
            TableSort.Size => rows.OrderByDescending(r => r.MinSize),
            _ => throw new ArgumentOutOfRangeException(nameof(sort), sort, null),
        }).ThenByDescending(r => r.Bytes).ThenByDescending(r => r.Count).ThenBy(r => r.Thread, StringComparer.Ordinal)
            .ThenBy(r => r.Type, StringComparer.Ordinal).ThenBy(r => r.Function, StringComparer.Ordinal).ThenBy(r => r.MinSize)
            .ToArray();
        return new TableReport(description ?? view.Description, view.Bytes, view.Count, sorted.Take(top).ToArray(), sorted.Length);
    }

    private static int Bucket(long size) => size <= 0 ? 0 : BitOperations.Log2((ulong)size) + 1;

    private static (long Min, long Max) BucketRange(int bucket) =>
        bucket == 0 ? (0, 0) : (1L << (bucket - 1), bucket == 64 ? long.MaxValue : (1L << bucket) - 1);
}
