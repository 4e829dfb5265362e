using MemNotebook.Recorder.Analysis;

namespace MemNotebook.Recorder.Reports;

/// <summary>
/// Counts the own allocations of each node of a (pruned) tree per time bucket. Each distinct (thread, stack) is
/// mapped once to the node its allocations are charged to (the end of its path, or the "[N smaller frames]" node
/// that took the frame where the path leaves the tree); then one pass over the rows adds into a dense
/// (owner, bucket) table, and the buckets are widened until the non-empty cells fit the budget.
/// </summary>
internal static class FlameTimeBuckets
{
    /// <summary>Above this many (owner, bucket) cells the table is sparse (a tree that was not pruned).</summary>
    private const long MaxDenseCells = 16_000_000;

    public static TimeBucketing Attach(FlameTree tree, FlameNode root, AllocationView view, TimeBucketing fine, long maxEntries)
    {
        var columns = view.Capture.Columns;
        var paths = new FlameTree.PathResolver(view.Capture, tree.Inverted, tree.SplitThreads);
        var children = new Dictionary<(FlameNode Parent, string Name, FlameNodeKind Kind), FlameNode>();
        var merged = new Dictionary<FlameNode, FlameNode>();
        var stack = new Stack<FlameNode>();
        stack.Push(root);
        while (stack.Count > 0)
        {
            var node = stack.Pop();
            foreach (var child in node.Children)
            {
                if (child.IsMerged)
                    merged[node] = child;
                else
                    children[(node, child.Name, child.Kind)] = child;
                stack.Push(child);
            }
        }

        var owners = new List<FlameNode>();
        var slotOf = new Dictionary<FlameNode, int>();
        var path = new List<(string Name, FlameNodeKind Kind)>();
        int Owner(int stream, int stackId)
        {
            paths.Fill(stream, stackId, path);
            var node = root;
            foreach (var (name, kind) in path)
            {
                if (children.TryGetValue((node, name, kind), out var child))
                {
                    node = child;
                    continue;
                }
                node = merged.TryGetValue(node, out var rest) ? rest
                    : throw new InvalidOperationException($"the tree has no frame {name} under {node.Name}: it was not built from this view");
                break;
            }
            if (!slotOf.TryGetValue(node, out var slot))
            {
                slot = owners.Count;
                owners.Add(node);
                slotOf[node] = slot;
            }
            return slot;
        }

        // Owner slot per (thread, stack): arrays by stack id, one per thread stream when split (-1: not yet mapped).
        var stackCount = columns.StackParents().Length;
        var slotsByStream = new Dictionary<int, int[]>();
        int[] SlotsOf(int stream)
        {
            if (!slotsByStream.TryGetValue(stream, out var slots))
            {
                slots = new int[stackCount + 1];
                Array.Fill(slots, -1);
                slotsByStream[stream] = slots;
            }
            return slots;
        }
        var rows = view.Rows;
        var size = columns.Size;
        var stacks = columns.StackId;
        var streams = columns.ThreadStream;
        var times = columns.TimestampNs;
        var rowSlot = new int[rows.Count];
        var rowBucket = new int[rows.Count];
        var lastStream = int.MinValue;
        int[] current = [];
        var outOfRange = new Dictionary<(int, int), int>();
        for (var i = 0; i < rows.Count; i++)
        {
            var r = rows[i];
            var stream = tree.SplitThreads ? streams[r] : 0;
            if (stream != lastStream)
                (current, lastStream) = (SlotsOf(stream), stream);
            var stackId = stacks[r];
            int slot;
            if ((uint)stackId < (uint)current.Length)
            {
                slot = current[stackId];
                if (slot < 0)
                    slot = current[stackId] = Owner(stream, stackId);
            }
            else if (!outOfRange.TryGetValue((stream, stackId), out slot))
                slot = outOfRange[(stream, stackId)] = Owner(stream, stackId);
            rowSlot[i] = slot;
            rowBucket[i] = fine.BucketOf(times[r]);
        }

        var buckets = fine.Buckets;
        var cells = (long)owners.Count * buckets;
        long[] counts, bytes;
        if (cells <= MaxDenseCells)
        {
            counts = new long[cells];
            bytes = new long[cells];
            for (var i = 0; i < rowSlot.Length; i++)
            {
                var cell = rowSlot[i] * buckets + rowBucket[i];
                counts[cell]++;
                bytes[cell] += size[rows[i]];
            }
        }
        else
            return AttachSparse(owners, rowSlot, rowBucket, rows, size, fine, maxEntries);

        // The finest width (a power-of-two multiple of the fine one, dividing the bucket count) within the budget.
        var factor = 1;
        while (factor < buckets && buckets % (factor * 2) == 0 && Entries(counts, owners.Count, buckets, factor) > maxEntries)
            factor *= 2;
        for (var slot = 0; slot < owners.Count; slot++)
        {
            var list = new List<(int Bucket, long Count, long Bytes)>();
            for (var b = 0; b < buckets; b++)
            {
                var cell = slot * buckets + b;
                if (counts[cell] == 0)
                    continue;
                var coarse = b / factor;
                if (list.Count > 0 && list[^1].Bucket == coarse)
                    list[^1] = (coarse, list[^1].Count + counts[cell], list[^1].Bytes + bytes[cell]);
                else
                    list.Add((coarse, counts[cell], bytes[cell]));
            }
            owners[slot].OwnByTimeBucket = list.ToArray();
        }
        return new TimeBucketing(buckets / factor, fine.BucketNs * factor, fine.DurationNs);
    }

    private static long Entries(long[] counts, int owners, int buckets, int factor)
    {
        long entries = 0;
        for (var slot = 0; slot < owners; slot++)
        {
            var last = -1;
            for (var b = 0; b < buckets; b++)
                if (counts[slot * buckets + b] > 0 && b / factor != last)
                {
                    last = b / factor;
                    entries++;
                }
        }
        return entries;
    }

    /// <summary>The same for a table too big to be dense: a dictionary per owner, buckets halved until within budget.</summary>
    private static TimeBucketing AttachSparse(List<FlameNode> owners, int[] rowSlot, int[] rowBucket, IReadOnlyList<int> rows,
        ReadOnlySpan<long> size, TimeBucketing fine, long maxEntries)
    {
        var perOwner = new SortedDictionary<int, (long Count, long Bytes)>?[owners.Count];
        for (var i = 0; i < rowSlot.Length; i++)
        {
            var d = perOwner[rowSlot[i]] ??= new();
            var t = d.GetValueOrDefault(rowBucket[i]);
            d[rowBucket[i]] = (t.Count + 1, t.Bytes + size[rows[i]]);
        }
        var factor = 1;
        long Count(int f) => perOwner.Sum(d => d is null ? 0L : d.Keys.Select(b => b / f).Distinct().LongCount());
        while (factor < fine.Buckets && fine.Buckets % (factor * 2) == 0 && Count(factor) > maxEntries)
            factor *= 2;
        for (var slot = 0; slot < owners.Count; slot++)
            owners[slot].OwnByTimeBucket = perOwner[slot]!
                .GroupBy(kv => kv.Key / factor)
                .Select(g => (g.Key, g.Sum(kv => kv.Value.Count), g.Sum(kv => kv.Value.Bytes)))
                .ToArray();
        return new TimeBucketing(fine.Buckets / factor, fine.BucketNs * factor, fine.DurationNs);
    }
}
