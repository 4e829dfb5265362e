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
    /// <summary>Above this many (node, bucket) cells (16 bytes each) the table is sparse: a tree that was not pruned.</summary>
    public const long MaxDenseCells = 8_000_000;

    /// <summary>
    /// The same for a tree built from streamed totals (<see cref="FlameTree.Build(SelectedStacks, ReportSelection, bool)"/>):
    /// the totals per (stack, bucket) added into the (owner, bucket) table instead of the rows one by one.
    /// </summary>
    /// <param name="ownerOfStack">Per stack id the node of <paramref name="root"/> that owns its allocations, when the tree
    /// kept them from its building (<see cref="FlameTree.OwnerOfStack"/>); else each stack's path is walked again.</param>
    public static TimeBucketing Attach(FlameTree tree, FlameNode root, SelectedStacks stacks, TimeBucketing fine, long maxEntries,
        long maxDenseCells = MaxDenseCells, FlameNode?[]? ownerOfStack = null)
    {
        if (fine.Buckets != stacks.Buckets || fine.BucketNs != stacks.BucketNs)
            throw new InvalidOperationException($"the streamed totals have {stacks.Buckets} buckets of {stacks.BucketNs} ns, not {fine.Buckets} of {fine.BucketNs}");
        // The owner of each stack with selected allocations, then their buckets into the (owner, bucket) table (from the
        // totals pass when it counted them, else by a pass over the capture).
        var slots = new int[stacks.Counts.Length];
        List<FlameNode> owners;
        if (ownerOfStack is not null && ownerOfStack.Length == slots.Length)
        {
            // A slot only for the nodes that own allocations (most nodes of a tree own none): a smaller table to fill and scan.
            owners = new List<FlameNode>();
            var slotOf = new Dictionary<FlameNode, int>(ReferenceEqualityComparer.Instance);
            for (var stackId = 0; stackId < slots.Length; stackId++)
            {
                if (stacks.Counts[stackId] == 0)
                    continue;
                var node = ownerOfStack[stackId]!;
                if (!slotOf.TryGetValue(node, out var slot))
                {
                    slotOf.Add(node, slot = owners.Count);
                    owners.Add(node);
                }
                slots[stackId] = slot;
            }
        }
        else
        {
            var paths = new FlameTree.PathResolver(stacks.Tables, tree.Inverted, stacks.ScopeFrame);
            Func<int, int, int> owner;
            (owners, owner) = Owners(root, paths, "these allocations");
            for (var stackId = 0; stackId < slots.Length; stackId++)
                slots[stackId] = stacks.Counts[stackId] > 0 ? owner(0, stackId) : 0;
        }
        var buckets = fine.Buckets;
        var cells = (long)owners.Count * buckets;
        if (cells > maxDenseCells)
        {
            var perOwner = new SortedDictionary<int, (long Count, long Bytes)>?[owners.Count];
            stacks.ByOwnerAndBucket(slots, owners.Count, null, null, (slot, bucket, count, bytes) =>
            {
                var d = perOwner[slot] ??= new();
                var t = d.GetValueOrDefault(bucket);
                d[bucket] = (t.Count + count, t.Bytes + bytes);
            });
            return FinishSparse(owners, perOwner, fine, maxEntries);
        }
        var cellCounts = new long[cells];
        var cellBytes = new long[cells];
        stacks.ByOwnerAndBucket(slots, owners.Count, cellCounts, cellBytes);
        return FinishDense(owners, cellCounts, cellBytes, fine, maxEntries, bucketMajor: true);
    }

    /// <summary>Every node of the tree as an owner slot, and the slot a (thread, stack)'s allocations are charged to.</summary>
    private static (List<FlameNode> Owners, Func<int, int, int> Owner) Owners(FlameNode root, FlameTree.PathResolver paths, string source)
    {
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
        var (owners, slotOf) = Slots(root);
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
                    : throw new InvalidOperationException($"the tree has no frame {name} under {node.Name}: it was not built from {source}");
                break;
            }
            return slotOf[node];
        }
        return (owners, Owner);
    }

    /// <summary>Every node of the tree as an owner slot (the order of a depth-first walk), and the slot of each.</summary>
    private static (List<FlameNode> Owners, Dictionary<FlameNode, int> SlotOf) Slots(FlameNode root)
    {
        var owners = new List<FlameNode>();
        var slotOf = new Dictionary<FlameNode, int>(ReferenceEqualityComparer.Instance);
        var stack = new Stack<FlameNode>();
        stack.Push(root);
        while (stack.Count > 0)
        {
            var node = stack.Pop();
            slotOf[node] = owners.Count;
            owners.Add(node);
            foreach (var child in node.Children)
                stack.Push(child);
        }
        return (owners, slotOf);
    }

    public static TimeBucketing Attach(FlameTree tree, FlameNode root, AllocationView view, TimeBucketing fine, long maxEntries,
        long maxDenseCells = MaxDenseCells)
    {
        var columns = view.Capture.Columns;
        var paths = new FlameTree.PathResolver(view.Capture, tree.Inverted, tree.SplitThreads);
        // Every node may own allocations: slot = its index in owners.
        var (owners, owner) = Owners(root, paths, "this view");

        // Owner slot per (thread, stack): arrays by stack id, one per thread stream when split (-1: not yet mapped).
        var stackCount = columns.StackParents().Length;
        var slotsByStream = new Dictionary<int, int[]>();
        long denseCells = 0;
        int[] SlotsOf(int stream)
        {
            if (!slotsByStream.TryGetValue(stream, out var slots))
            {
                // Arrays for as many streams as the rows justify, the others' (thread, stack) in the dictionary.
                var dense = denseCells + stackCount + 1 <= 2L * (view.Count + stackCount + 1);
                slots = dense ? new int[stackCount + 1] : [];
                Array.Fill(slots, -1);
                slotsByStream[stream] = slots;
                if (dense)
                    denseCells += stackCount + 1;
            }
            return slots;
        }
        var outOfRange = new Dictionary<(int, int), int>();
        var lastStream = int.MinValue;
        int[] current = [];
        int SlotOf(int stream, int stackId)
        {
            if (stream != lastStream)
                (current, lastStream) = (SlotsOf(stream), stream);
            if ((uint)stackId < (uint)current.Length)
            {
                var slot = current[stackId];
                return slot >= 0 ? slot : current[stackId] = owner(stream, stackId);
            }
            return outOfRange.TryGetValue((stream, stackId), out var s) ? s : outOfRange[(stream, stackId)] = owner(stream, stackId);
        }

        var rows = view.Rows;
        var streams = columns.ThreadStream;
        var stacks = columns.StackId;
        var split = tree.SplitThreads;
        var size = columns.Size;
        var times = columns.TimestampNs;
        var buckets = fine.Buckets;
        var cells = (long)owners.Count * buckets;
        if (cells > maxDenseCells)
            return AttachSparse(owners, rows, SlotOf, split, streams, stacks, size, times, fine, maxEntries);
        var counts = new long[cells];
        var bytes = new long[cells];
        foreach (var r in rows)
        {
            var cell = SlotOf(split ? streams[r] : 0, stacks[r]) * buckets + fine.BucketOf(times[r]);
            counts[cell]++;
            bytes[cell] += size[r];
        }

        return FinishDense(owners, counts, bytes, fine, maxEntries);
    }

    /// <summary>
    /// Each owner's buckets from the dense table, widened until the non-empty cells fit <paramref name="maxEntries"/>:
    /// cell (owner, bucket) at owner × buckets + bucket, or at bucket × owners + owner when <paramref name="bucketMajor"/>.
    /// </summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    private static TimeBucketing FinishDense(List<FlameNode> owners, long[] counts, long[] bytes, TimeBucketing fine, long maxEntries,
        bool bucketMajor = false)
    {
        var buckets = fine.Buckets;
        var slots = owners.Count;
        // Each owner's non-empty buckets as bits, from one scan of the table: its entries at every width come from them.
        var words = (buckets + 63) >> 6;
        var filled = new ulong[(long)slots * words];
        if (bucketMajor)
        {
            for (var b = 0; b < buckets; b++)
            {
                var at = (long)b * slots;
                var (word, bit) = (b >> 6, 1UL << (b & 63));
                for (var slot = 0; slot < slots; slot++)
                    if (counts[at + slot] != 0)
                        filled[(long)slot * words + word] |= bit;
            }
        }
        else
        {
            for (var slot = 0; slot < slots; slot++)
                for (var b = 0; b < buckets; b++)
                    if (counts[(long)slot * buckets + b] != 0)
                        filled[(long)slot * words + (b >> 6)] |= 1UL << (b & 63);
        }
        // The finest width (a power-of-two multiple of the fine one, dividing the bucket count) within the budget.
        var factor = 1;
        while (factor < buckets && buckets % (factor * 2) == 0 && Entries(filled, slots, words, factor) > maxEntries)
            factor *= 2;
        // Each owner's list made at its length, filled in the table's own order (each owner's buckets still ascending).
        var lists = new (int Bucket, long Count, long Bytes)[]?[slots];
        for (var slot = 0; slot < slots; slot++)
            if (owners[slot].OwnCount != 0)
                lists[slot] = new (int, long, long)[EntriesOf(filled.AsSpan(slot * words, words), factor)];
        var filledTo = new int[slots];
        // Once per (owner, bucket) cell: optimized up front like its caller (tier-0 code was a fortieth of the post-cell time).
        [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
        void Add(int slot, int b, long cell)
        {
            if (counts[cell] == 0 || lists[slot] is not { } list)
                return;
            var coarse = b / factor;
            var n = filledTo[slot];
            if (n > 0 && list[n - 1].Bucket == coarse)
                list[n - 1] = (coarse, list[n - 1].Count + counts[cell], list[n - 1].Bytes + bytes[cell]);
            else
            {
                list[n] = (coarse, counts[cell], bytes[cell]);
                filledTo[slot] = n + 1;
            }
        }
        if (bucketMajor)
        {
            for (var b = 0; b < buckets; b++)
                for (var slot = 0; slot < slots; slot++)
                    Add(slot, b, (long)b * slots + slot);
        }
        else
        {
            for (var slot = 0; slot < slots; slot++)
                for (var b = 0; b < buckets; b++)
                    Add(slot, b, (long)slot * buckets + b);
        }
        for (var slot = 0; slot < slots; slot++)
            if (lists[slot] is { } list)
                owners[slot].OwnByTimeBucket = list;
        return new TimeBucketing(buckets / factor, fine.BucketNs * factor, fine.DurationNs);
    }

    /// <summary>The (owner, coarse bucket) pairs with allocations when buckets are widened <paramref name="factor"/> times.</summary>
    private static long Entries(ulong[] filled, int slots, int words, int factor)
    {
        long entries = 0;
        for (var slot = 0; slot < slots; slot++)
            entries += EntriesOf(filled.AsSpan(slot * words, words), factor);
        return entries;
    }

    /// <summary>
    /// The coarse buckets of <paramref name="factor"/> (a power of two) fine ones with a bit set in <paramref name="filled"/>
    /// (fine bucket b at bit b % 64 of word b / 64).
    /// </summary>
    private static int EntriesOf(ReadOnlySpan<ulong> filled, int factor)
    {
        var entries = 0;
        if (factor >= 64)
        {
            // A coarse bucket spans whole words.
            for (var w = 0; w < filled.Length; w += factor / 64)
            {
                ulong any = 0;
                for (var j = w; j < Math.Min(filled.Length, w + factor / 64); j++)
                    any |= filled[j];
                entries += any != 0 ? 1 : 0;
            }
            return entries;
        }
        // The lowest bit of each group of factor bits (they start at multiples of factor within a word).
        ulong lowest = 0;
        for (var bit = 0; bit < 64; bit += factor)
            lowest |= 1UL << bit;
        foreach (var word in filled)
        {
            var any = word;
            for (var width = 1; width < factor; width *= 2)
                any |= any >> width;
            entries += System.Numerics.BitOperations.PopCount(any & lowest);
        }
        return entries;
    }

    /// <summary>The same for a table too big to be dense: a dictionary per owner, buckets halved until within budget.</summary>
    private static TimeBucketing AttachSparse(List<FlameNode> owners, IReadOnlyList<int> rows, Func<int, int, int> slotOf, bool split,
        ReadOnlySpan<int> streams, ReadOnlySpan<int> stacks, ReadOnlySpan<long> size, ReadOnlySpan<long> times, TimeBucketing fine, long maxEntries)
    {
        var perOwner = new SortedDictionary<int, (long Count, long Bytes)>?[owners.Count];
        foreach (var r in rows)
        {
            var d = perOwner[slotOf(split ? streams[r] : 0, stacks[r])] ??= new();
            var bucket = fine.BucketOf(times[r]);
            var t = d.GetValueOrDefault(bucket);
            d[bucket] = (t.Count + 1, t.Bytes + size[r]);
        }
        return FinishSparse(owners, perOwner, fine, maxEntries);
    }

    private static TimeBucketing FinishSparse(List<FlameNode> owners, SortedDictionary<int, (long Count, long Bytes)>?[] perOwner, TimeBucketing fine,
        long maxEntries)
    {
        var factor = 1;
        long Count(int f) => perOwner.Sum(d => d is null ? 0L : d.Keys.Select(b => b / f).Distinct().LongCount());
        while (factor < fine.Buckets && fine.Buckets % (factor * 2) == 0 && Count(factor) > maxEntries)
            factor *= 2;
        for (var slot = 0; slot < owners.Count; slot++)
            if (perOwner[slot] is { } d)
                owners[slot].OwnByTimeBucket = d
                    .GroupBy(kv => kv.Key / factor)
                    .Select(g => (g.Key, g.Sum(kv => kv.Value.Count), g.Sum(kv => kv.Value.Bytes)))
                    .ToArray();
        return new TimeBucketing(fine.Buckets / factor, fine.BucketNs * factor, fine.DurationNs);
    }
}
