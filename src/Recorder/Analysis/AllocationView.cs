using System.Numerics;
using Microsoft.Data.Analysis;

namespace MemNotebook.Recorder.Analysis;

/// <summary>What a ranking adds up.</summary>
public enum Measure
{
    Bytes,
    Count,
}

/// <summary>
/// Which columns of <see cref="MemNotebook.Capture.Aggregates"/> a ranking adds up: every allocation
/// (<see cref="Total"/>), those alive at the high-water mark (<see cref="Peak"/>), or those alive when
/// recording stopped (<see cref="Leaked"/>).
/// </summary>
public enum AggregateMeasure
{
    Total,
    Peak,
    Leaked,
}

/// <summary>
/// How allocations are charged to functions: <see cref="Own"/> to the one function that allocated
/// (innermost managed frame that is not allocation machinery, as in <c>memnb stats</c>);
/// <see cref="Inclusive"/> to every function on the stack, once per allocation.
/// </summary>
public enum Attribution
{
    Own,
    Inclusive,
}

/// <summary>
/// A set of allocations of one capture — all of them, those alive at the peak, the leaks, the
/// temporary ones, a time window — with the rankings every report shows, each as a DataFrame.
/// Views compose: <c>capture.Between(t0, t1).Leaks().TopTypes(5)</c>.
/// </summary>
public sealed partial class AllocationView
{
    private readonly int[]? rows; // null: every row

    internal AllocationView(Capture capture, int[]? rows, string description)
    {
        Capture = capture;
        this.rows = rows;
        Description = description;
    }

    public Capture Capture { get; }

    /// <summary>What the view holds, e.g. "alive at the peak (12.3 MiB at 1,234.5 ms)".</summary>
    public string Description { get; }

    public int Count => rows?.Length ?? Columns.Count;

    public long Bytes
    {
        get
        {
            var size = Columns.Size;
            long total = 0;
            if (rows is null)
                foreach (var s in size) total += s;
            else
                foreach (var r in rows) total += size[r];
            return total;
        }
    }

    /// <summary>The rows of the capture's allocations table in this view, in table order.</summary>
    public IReadOnlyList<int> Rows => rows ?? (IReadOnlyList<int>)Enumerable.Range(0, Columns.Count).ToArray();

    private AllocationColumns Columns => Capture.Columns;

    /// <summary>The allocations of the view as a DataFrame (the capture's allocations table, filtered).</summary>
    public DataFrame Allocations
    {
        get
        {
            if (rows is null)
                return Capture.AllAllocationRows;
            // The rows gathered from the Arrow buffers: a DataFrame Filter of the whole table takes seconds.
            return Capture.AllocationRows(rows);
        }
    }

    /// <summary>Objects of this view still alive when recording stopped (never freed).</summary>
    public AllocationView Leaks()
    {
        var freed = Columns.FreedAtNs;
        var keep = new bool[Columns.Count];
        for (int i = 0, n = Count; i < n; i++)
        {
            var r = rows?[i] ?? i;
            keep[r] = freed[r] == -1;
        }
        return Select(keep, "leaked (alive at the end)");
    }

    /// <summary>Objects of this view alive at <paramref name="timeNs"/>: allocated at or before it, not freed by then.</summary>
    public AllocationView AliveAt(long timeNs) => AliveAt(timeNs, $"alive at {TimeUnits.Format(timeNs)}");

    private AllocationView AliveAt(long timeNs, string description)
    {
        var time = Columns.TimestampNs;
        var freed = Columns.FreedAtNs;
        var keep = new bool[Columns.Count];
        for (int i = 0, n = Count; i < n; i++)
        {
            var r = rows?[i] ?? i;
            keep[r] = time[r] <= timeNs && (freed[r] == -1 || freed[r] > timeNs);
        }
        return Select(keep, description);
    }

    /// <summary>Objects of this view alive at the capture's high-water mark (<see cref="MemNotebook.Capture.PeakTimeNs"/>).</summary>
    public AllocationView Peak() => Capture.PeakIsAtEnd ? Leaks()
        : AliveAt(Capture.PeakTimeNs, $"alive at the peak ({TimeUnits.Format(Capture.PeakTimeNs)})");

    /// <summary>Objects of this view allocated in <c>[t0Ns, t1Ns)</c>, nanoseconds since the start of the capture.</summary>
    public AllocationView Between(long t0Ns, long t1Ns)
    {
        var time = Columns.TimestampNs;
        var keep = new bool[Columns.Count];
        for (int i = 0, n = Count; i < n; i++)
        {
            var r = rows?[i] ?? i;
            keep[r] = time[r] >= t0Ns && time[r] < t1Ns;
        }
        return Select(keep, $"allocated from {TimeUnits.Format(t0Ns)} to {TimeUnits.Format(t1Ns)}");
    }

    /// <summary>
    /// Memray's temporary allocations: objects freed before <paramref name="threshold"/> other
    /// allocations happened on the same thread (1: nothing else was allocated on that thread before it died).
    /// </summary>
    public AllocationView Temporary(int threshold = 1)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(threshold, 1);
        var time = Columns.TimestampNs;
        var freed = Columns.FreedAtNs;
        var keep = new bool[Columns.Count];
        // Row k of a stream has sequence number k; its allocations are in time order.
        foreach (var (_, streamRows) in Columns.RowsByStream)
        {
            var times = new long[streamRows.Length];
            for (var k = 0; k < streamRows.Length; k++)
                times[k] = time[streamRows[k]];
            for (var k = 0; k < streamRows.Length; k++)
            {
                var r = streamRows[k];
                if (freed[r] == -1)
                    continue;
                var othersBeforeDeath = SortedTimes.LowerBound(times, freed[r]) - k - 1;
                keep[r] = othersBeforeDeath < threshold;
            }
        }
        if (rows is not null)
        {
            var inView = new bool[Columns.Count];
            foreach (var r in rows)
                inView[r] = keep[r];
            keep = inView;
        }
        return Select(keep, $"temporary (freed before {threshold} other allocations on the same thread)");
    }

    private AllocationView Select(bool[] keep, string description)
    {
        var kept = new List<int>();
        for (var r = 0; r < keep.Length; r++)
            if (keep[r]) kept.Add(r);
        var text = rows is null ? description : $"{Description}, {description}";
        return new AllocationView(Capture, kept.ToArray(), text);
    }

    /// <summary>A sub-view of the rows for which <paramref name="keep"/> is true.</summary>
    public AllocationView Where(Func<int, bool> keep, string description)
    {
        var kept = new List<int>();
        if (rows is null)
        {
            for (var r = 0; r < Columns.Count; r++)
                if (keep(r)) kept.Add(r);
        }
        else
        {
            foreach (var r in rows)
                if (keep(r)) kept.Add(r);
        }
        var text = rows is null ? description : $"{Description}, {description}";
        return new AllocationView(Capture, kept.ToArray(), text);
    }

    /// <summary>Functions ranked by bytes (or count): columns function, count, bytes.</summary>
    public DataFrame TopFunctions(int n = 10, Measure by = Measure.Bytes, Attribution attribution = Attribution.Own)
    {
        var totals = attribution == Attribution.Own ? GroupOwn() : GroupInclusive();
        return Ranked(totals, "function", n, by);
    }

    /// <summary>Types ranked by bytes (or count): columns type, count, bytes.</summary>
    public DataFrame TopTypes(int n = 10, Measure by = Measure.Bytes) =>
        Ranked(GroupTypes(), "type", n, by);

    /// <summary>Every (function, type) pair: columns function, type, count, bytes; bytes descending.</summary>
    public DataFrame ByFunctionAndType()
    {
        var totals = ByFunctionAndTypeTotals();
        var ordered = totals.OrderByDescending(kv => kv.Value.Bytes).ThenByDescending(kv => kv.Value.Count)
            .ThenBy(kv => kv.Key.Function, StringComparer.Ordinal).ThenBy(kv => kv.Key.Type, StringComparer.Ordinal).ToArray();
        return new DataFrame(
            new StringDataFrameColumn("function", ordered.Select(kv => kv.Key.Function)),
            new StringDataFrameColumn("type", ordered.Select(kv => kv.Key.Type)),
            new Int64DataFrameColumn("count", ordered.Select(kv => kv.Value.Count)),
            new Int64DataFrameColumn("bytes", ordered.Select(kv => kv.Value.Bytes)));
    }

    /// <summary>Per thread with allocations in the view: thread_stream, os_thread_id, name, count, bytes.</summary>
    public DataFrame ByThread()
    {
        var streams = Columns.ThreadStream;
        var size = Columns.Size;
        var totals = new Dictionary<int, Totals>();
        for (int i = 0, n = Count; i < n; i++)
        {
            var r = rows?[i] ?? i;
            Add(totals, streams[r], new Totals(1, size[r]));
        }
        var threads = Columns.Threads.ToDictionary(t => t.Stream);
        var ordered = totals
            .Select(kv => (Stream: kv.Key, Thread: threads.GetValueOrDefault(kv.Key), kv.Value))
            .OrderByDescending(x => x.Value.Bytes).ThenByDescending(x => x.Value.Count).ThenBy(x => x.Thread.OsThreadId)
            .ToArray();
        return new DataFrame(
            new Int32DataFrameColumn("thread_stream", ordered.Select(x => x.Stream)),
            new Int64DataFrameColumn("os_thread_id", ordered.Select(x => x.Thread.OsThreadId)),
            new StringDataFrameColumn("name", ordered.Select(x => x.Thread.Name)),
            new Int64DataFrameColumn("count", ordered.Select(x => x.Value.Count)),
            new Int64DataFrameColumn("bytes", ordered.Select(x => x.Value.Bytes)));
    }

    /// <summary>
    /// Sizes in power-of-two buckets [2^k, 2^(k+1)), non-empty buckets ascending: min_size, max_size
    /// (inclusive), count, bytes.
    /// </summary>
    public DataFrame SizeHistogram()
    {
        var size = Columns.Size;
        var counts = new long[65];
        var bytes = new long[65];
        for (int i = 0, n = Count; i < n; i++)
        {
            var s = size[rows?[i] ?? i];
            var bucket = s <= 0 ? 0 : BitOperations.Log2((ulong)s) + 1;
            counts[bucket]++;
            bytes[bucket] += s;
        }
        var buckets = Enumerable.Range(0, 65).Where(b => counts[b] > 0).ToArray();
        return new DataFrame(
            new Int64DataFrameColumn("min_size", buckets.Select(b => b == 0 ? 0 : 1L << (b - 1))),
            new Int64DataFrameColumn("max_size", buckets.Select(b => b == 0 ? 0 : b == 64 ? long.MaxValue : (1L << b) - 1)),
            new Int64DataFrameColumn("count", buckets.Select(b => counts[b])),
            new Int64DataFrameColumn("bytes", buckets.Select(b => bytes[b])));
    }

    /// <summary>
    /// What grew or shrank from this view (before) to <paramref name="after"/>, by function and type:
    /// function, type, count_before, bytes_before, count_after, bytes_after, count_delta, bytes_delta;
    /// largest growth first, unchanged pairs left out.
    /// </summary>
    public DataFrame Diff(AllocationView after)
    {
        var before = ByFunctionAndTypeTotals();
        var later = after.ByFunctionAndTypeTotals();
        var keys = before.Keys.Union(later.Keys)
            .Select(k => (Key: k, Before: before.GetValueOrDefault(k), After: later.GetValueOrDefault(k)))
            .Where(x => x.Before != x.After)
            .OrderByDescending(x => x.After.Bytes - x.Before.Bytes).ThenByDescending(x => x.After.Count - x.Before.Count)
            .ThenBy(x => x.Key.Function, StringComparer.Ordinal).ThenBy(x => x.Key.Type, StringComparer.Ordinal)
            .ToArray();
        return new DataFrame(
            new StringDataFrameColumn("function", keys.Select(x => x.Key.Function)),
            new StringDataFrameColumn("type", keys.Select(x => x.Key.Type)),
            new Int64DataFrameColumn("count_before", keys.Select(x => x.Before.Count)),
            new Int64DataFrameColumn("bytes_before", keys.Select(x => x.Before.Bytes)),
            new Int64DataFrameColumn("count_after", keys.Select(x => x.After.Count)),
            new Int64DataFrameColumn("bytes_after", keys.Select(x => x.After.Bytes)),
            new Int64DataFrameColumn("count_delta", keys.Select(x => x.After.Count - x.Before.Count)),
            new Int64DataFrameColumn("bytes_delta", keys.Select(x => x.After.Bytes - x.Before.Bytes)));
    }

    /// <summary>The view as a table: <see cref="ByFunctionAndType"/>.</summary>
    public DataFrame ToDataFrame() => ByFunctionAndType();

    public static implicit operator DataFrame(AllocationView view) => view.ToDataFrame();

    public override string ToString() => $"{Description}: {Count:N0} allocations, {ByteUnits.Format(Bytes)}";

    /// <summary>Count and bytes per function: one pass counting into arrays by the function index of each stack.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    private Dictionary<string, Totals> GroupOwn()
    {
        var (byStack, names) = Columns.OwnFunctionIndex;
        var size = Columns.Size;
        var stacks = Columns.StackId;
        var counts = new long[names.Length];
        var bytes = new long[names.Length];
        for (int i = 0, n = Count; i < n; i++)
        {
            var r = rows?[i] ?? i;
            var stack = stacks[r];
            var f = (uint)stack < (uint)byStack.Length ? byStack[stack] : 0;
            counts[f]++;
            bytes[f] += size[r];
        }
        var totals = new Dictionary<string, Totals>(StringComparer.Ordinal);
        for (var f = 0; f < names.Length; f++)
            if (counts[f] > 0)
                totals[names[f]] = new Totals(counts[f], bytes[f]);
        return totals;
    }

    /// <summary>Count and bytes per type name: one pass counting into arrays by type id (ids are small and dense).</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    private Dictionary<string, Totals> GroupTypes()
    {
        var types = Columns.TypeId;
        var size = Columns.Size;
        var totals = new Dictionary<string, Totals>(StringComparer.Ordinal);
        if (TypeIdRange() is not { } range)
        {
            // Ids too far apart for an array: one lookup per row.
            var byId = new Dictionary<int, Totals>();
            for (int i = 0, n = Count; i < n; i++)
            {
                var r = rows?[i] ?? i;
                Add(byId, types[r], new Totals(1, size[r]));
            }
            foreach (var (id, t) in byId)
                Add(totals, Columns.TypeName(id), t);
            return totals;
        }
        var (min, max) = range;
        var counts = new long[max - min + 1];
        var bytes = new long[max - min + 1];
        for (int i = 0, n = Count; i < n; i++)
        {
            var r = rows?[i] ?? i;
            var slot = types[r] - min;
            counts[slot]++;
            bytes[slot] += size[r];
        }
        for (var slot = 0; slot < counts.Length; slot++)
            if (counts[slot] > 0)
                Add(totals, Columns.TypeName(slot + min), new Totals(counts[slot], bytes[slot]));
        return totals;
    }

    /// <summary>The least and greatest type id of the whole table, null when they span more than 16M ids.</summary>
    private (int Min, int Max)? TypeIdRange()
    {
        var types = Columns.TypeId;
        if (types.IsEmpty)
            return (0, 0);
        int min = int.MaxValue, max = int.MinValue;
        foreach (var t in types)
        {
            if (t < min) min = t;
            if (t > max) max = t;
        }
        return (long)max - min < 16 << 20 ? (min, max) : null;
    }

    private static void Add<TKey>(Dictionary<TKey, Totals> totals, TKey key, Totals t) where TKey : notnull
    {
        ref var sum = ref System.Runtime.InteropServices.CollectionsMarshal.GetValueRefOrAddDefault(totals, key, out _);
        sum = new Totals(sum.Count + t.Count, sum.Bytes + t.Bytes);
    }

    /// <summary>Count and bytes per stack id.</summary>
    internal Dictionary<int, Totals> ByStack()
    {
        var totals = new Dictionary<int, Totals>();
        foreach (var ((stack, _), t) in ByStackAndType())
            Add(totals, stack, t);
        return totals;
    }

    /// <summary>
    /// Count and bytes per (stack id, type id): the one pass over rows every ranking starts from, made once per view
    /// (a view's rows never change; a cell's stats block asks for types, functions and stacks of the same view).
    /// </summary>
    private Dictionary<(int Stack, int Type), Totals> ByStackAndType() => byStackAndType ??= CountByStackAndType();

    private Dictionary<(int Stack, int Type), Totals>? byStackAndType;

    private Dictionary<(int Stack, int Type), Totals> CountByStackAndType()
    {
        var size = Columns.Size;
        var stacks = Columns.StackId;
        var types = Columns.TypeId;
        var byIds = new Dictionary<(int, int), Totals>();
        (int, int) lastKey = (-1, -1);
        long lastCount = 0, lastBytes = 0;
        for (int i = 0, n = Count; i < n; i++)
        {
            var r = rows?[i] ?? i;
            var key = (stacks[r], types[r]);
            if (key != lastKey)
            {
                if (lastCount > 0)
                    Add(byIds, lastKey, new Totals(lastCount, lastBytes));
                lastKey = key;
                lastCount = lastBytes = 0;
            }
            lastCount++;
            lastBytes += size[r];
        }
        if (lastCount > 0)
            Add(byIds, lastKey, new Totals(lastCount, lastBytes));
        return byIds;
    }

    private Dictionary<string, Totals> GroupInclusive()
    {
        var size = Columns.Size;
        var stacks = Columns.StackId;
        var names = Columns.InclusiveNames;
        var counts = new long[names.Count];
        var bytes = new long[names.Count];
        for (int i = 0, n = Count; i < n; i++)
        {
            var r = rows?[i] ?? i;
            foreach (var f in Columns.InclusiveFunctions(stacks[r]))
            {
                counts[f]++;
                bytes[f] += size[r];
            }
        }
        var totals = new Dictionary<string, Totals>(StringComparer.Ordinal);
        for (var f = 0; f < names.Count; f++)
            if (counts[f] > 0)
                totals[names[f]] = new Totals(counts[f], bytes[f]);
        return totals;
    }

    private Dictionary<(string Function, string Type), Totals> ByFunctionAndTypeTotals()
    {
        var totals = new Dictionary<(string, string), Totals>();
        foreach (var ((stack, type), t) in ByStackAndType())
            Add(totals, (Columns.OwnFunction(stack), Columns.TypeName(type)), t);
        return totals;
    }

    internal static DataFrame Ranked(Dictionary<string, Totals> totals, string keyName, int n, Measure by)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(n);
        var ordered = (by == Measure.Bytes
                ? totals.OrderByDescending(kv => kv.Value.Bytes).ThenByDescending(kv => kv.Value.Count)
                : totals.OrderByDescending(kv => kv.Value.Count).ThenByDescending(kv => kv.Value.Bytes))
            .ThenBy(kv => kv.Key, StringComparer.Ordinal)
            .Take(n)
            .ToArray();
        return new DataFrame(
            new StringDataFrameColumn(keyName, ordered.Select(kv => kv.Key)),
            new Int64DataFrameColumn("count", ordered.Select(kv => kv.Value.Count)),
            new Int64DataFrameColumn("bytes", ordered.Select(kv => kv.Value.Bytes)));
    }

    internal readonly record struct Totals(long Count, long Bytes);
}
