using Apache.Arrow;
using MemNotebook.Recorder.Analysis;
using MemNotebook.Recorder.Arrow;
using MemNotebook.Recorder.Format;

namespace MemNotebook.Recorder.Reports;

/// <summary>What a node of a <see cref="FlameTree"/> stands for.</summary>
public enum FlameNodeKind
{
    Root,
    /// <summary>A thread, at the top of a tree split by thread.</summary>
    Thread,
    Managed,
    Native,
    /// <summary>A frame the capture has no name or kind for, or the stand-in for an allocation without a stack.</summary>
    Unknown,
}

/// <summary>
/// A frame in a <see cref="FlameTree"/>: the allocations whose stack passes through this path.
/// <see cref="TotalBytes"/> includes every descendant; <see cref="OwnBytes"/> the allocations whose
/// path ends here (the innermost frame, or the outermost one in an inverted tree).
/// </summary>
public sealed class FlameNode
{
    // Made with the first child: most nodes of a large tree are leaves (a list each was a third of its allocations).
    private List<FlameNode>? children;
    private Dictionary<(string, FlameNodeKind), FlameNode>? byName;

    internal FlameNode(string name, FlameNodeKind kind)
    {
        Name = name;
        Kind = kind;
    }

    public string Name { get; }
    public FlameNodeKind Kind { get; }
    public long TotalBytes { get; private set; }
    public long Count { get; private set; }
    public long OwnBytes { get; private set; }
    public long OwnCount { get; private set; }

    /// <summary>Biggest first: bytes, then count descending, then name (ordinal).</summary>
    public IReadOnlyList<FlameNode> Children => children ?? (IReadOnlyList<FlameNode>)[];

    /// <summary>The child with this name, or null.</summary>
    public FlameNode? Child(string name) => children?.Find(c => c.Name == name);

    internal FlameNode ChildFor(string name, FlameNodeKind kind)
    {
        // A few children are searched in the list; a dictionary only for a node with many (most nodes of a
        // deep tree have one child, and a dictionary each took most of their memory).
        children ??= new List<FlameNode>();
        if (byName is null && children.Count >= 8)
        {
            byName = new(children.Count * 2);
            foreach (var c in children)
                byName.Add((c.Name, c.Kind), c);
        }
        if (byName is null)
        {
            foreach (var c in children)
                if (c.Kind == kind && c.Name == name)
                    return c;
            var added = new FlameNode(name, kind);
            children.Add(added);
            return added;
        }
        if (!byName.TryGetValue((name, kind), out var child))
        {
            child = new FlameNode(name, kind);
            byName.Add((name, kind), child);
            children.Add(child);
        }
        return child;
    }

    /// <summary>The node's index in the walk of the pruning that last took it (<see cref="FlameTree.Prune(int, bool)"/>'s own use).</summary>
    internal int PruneIndex;

    internal void AddChild(FlameNode child) => (children ??= new List<FlameNode>()).Add(child);

    /// <summary>
    /// The own allocations by time bucket of the tree (<see cref="FlameTree.Time"/>), buckets ascending, empty ones left
    /// out; null when the tree has no time buckets or the node no own allocations. Summed they are
    /// <see cref="OwnCount"/> and <see cref="OwnBytes"/>.
    /// </summary>
    public IReadOnlyList<(int Bucket, long Count, long Bytes)>? OwnByTimeBucket { get; internal set; }

    /// <summary>True for a "[N smaller frames]" node made by <see cref="FlameTree.Prune"/>.</summary>
    public bool IsMerged { get; internal set; }

    internal void Add(long count, long bytes)
    {
        Count += count;
        TotalBytes += bytes;
    }

    internal void AddOwn(long count, long bytes)
    {
        OwnCount += count;
        OwnBytes += bytes;
    }

    /// <summary>The order of a node's children: most bytes first, then most allocations, then by name.</summary>
    internal static int BiggestFirst(long bytesA, long countA, string nameA, long bytesB, long countB, string nameB) =>
        bytesB != bytesA ? bytesB.CompareTo(bytesA)
        : countB != countA ? countB.CompareTo(countA)
        : string.CompareOrdinal(nameA, nameB);

    internal void Sort()
    {
        if (children is null)
            return;
        children.Sort((a, b) => BiggestFirst(a.TotalBytes, a.Count, a.Name, b.TotalBytes, b.Count, b.Name));
        byName = null;
        foreach (var child in children)
            child.Sort();
    }
}

/// <summary>
/// Equal time buckets over a capture: bucket b holds the allocations made in [b × BucketNs, (b + 1) × BucketNs)
/// ns since the start (a time at or past the end falls in the last bucket).
/// </summary>
public sealed record TimeBucketing(int Buckets, long BucketNs, long DurationNs)
{
    public static TimeBucketing For(long durationNs, int buckets) =>
        new(buckets, ScopedPass.BucketWidthNs(durationNs, buckets), durationNs);

    public int BucketOf(long timeNs) => timeNs <= 0 ? 0 : (int)Math.Min(Buckets - 1, timeNs / BucketNs);

    /// <summary>The allocation times of buckets <paramref name="first"/> to <paramref name="last"/> (inclusive): [start, end) ns.</summary>
    public (long StartNs, long EndNs) Window(int first, int last) =>
        (first == 0 ? long.MinValue : first * BucketNs, last == Buckets - 1 ? long.MaxValue : (last + 1) * BucketNs);
}

/// <summary>
/// The allocations of a view as a tree of frames, root first (callers above callees), or inverted
/// (allocating frames at the top, their callers below), optionally with a level of threads on top.
/// The numbers every tree, flame graph and their JSON show; the root's totals are the view's.
/// </summary>
public sealed partial class FlameTree
{
    /// <summary>The name of the frame that stands for an allocation recorded without a stack.</summary>
    public const string NoStack = "[no stack]";

    private FlameTree(FlameNode root, string description, ReportSelection selection, bool inverted, bool splitThreads, int mergedFrames = 0,
        TimeBucketing? time = null, AllocationView? view = null, SelectedStacks? streamed = null, FlameNode?[]? ownerOfStack = null)
    {
        Time = time;
        View = view;
        Streamed = streamed;
        stackOwners = ownerOfStack;
        rootNode = root;
        MergedFrames = mergedFrames;
        NodeCount = CountNodes(root);
        Description = description;
        Selection = selection;
        Inverted = inverted;
        SplitThreads = splitThreads;
    }

    /// <summary>A tree of streamed totals kept as arrays (<see cref="FlatTree"/>): its nodes are made when first asked for.</summary>
    private FlameTree(FlatTree flat, int[] leafOfStack, string description, ReportSelection selection, bool inverted, SelectedStacks streamed)
    {
        this.flat = flat;
        this.leafOfStack = leafOfStack;
        Streamed = streamed;
        NodeCount = flat.Count;
        Description = description;
        Selection = selection;
        Inverted = inverted;
    }

    private FlameNode? rootNode;
    private FlameNode?[]? stackOwners;
    private readonly FlatTree? flat;
    private readonly int[]? leafOfStack;

    public FlameNode Root
    {
        get
        {
            if (rootNode is null)
                Materialize();
            return rootNode!;
        }
    }

    /// <summary>The nodes of a tree kept as arrays, and its stacks' owners among them.</summary>
    private void Materialize()
    {
        var (root, nodes) = flat!.Materialize();
        var owners = new FlameNode?[leafOfStack!.Length];
        for (var s = 0; s < owners.Length; s++)
            if (leafOfStack[s] >= 0)
                owners[s] = nodes[leafOfStack[s]];
        (rootNode, stackOwners) = (root, owners);
    }
    public string Description { get; }
    public ReportSelection Selection { get; }
    public bool Inverted { get; }
    public bool SplitThreads { get; }
    public long TotalBytes => flat is not null ? flat.TotalBytes[0] : Root.TotalBytes;
    public long Count => flat is not null ? flat.TotalCount[0] : Root.Count;

    /// <summary>How allocation times map to the buckets of <see cref="FlameNode.OwnByTimeBucket"/>; null when the tree has none.</summary>
    public TimeBucketing? Time { get; }

    /// <summary>The view the tree was built from (null for a hand-made tree).</summary>
    internal AllocationView? View { get; }

    /// <summary>The streamed totals the tree was built from, if it was (<see cref="Build(SelectedStacks, ReportSelection, bool)"/>).</summary>
    internal SelectedStacks? Streamed { get; }

    /// <summary>
    /// For a tree of streamed totals: per stack id the node of this tree its allocations are charged to (the end of its
    /// path, or the "[N smaller frames]" node that took it), so the time buckets need not walk each stack's path again.
    /// </summary>
    internal FlameNode?[]? OwnerOfStack
    {
        get
        {
            if (rootNode is null && flat is not null)
                Materialize();
            return stackOwners;
        }
    }

    /// <summary>The number of nodes, the root included.</summary>
    public int NodeCount { get; }

    /// <summary>Nodes by their index: fewest bytes first, then fewest allocations, then the later one (a struct: the sort is specialized for it).</summary>
    private readonly struct SmallestFirst(long[] totalBytes, long[] counts) : IComparer<int>
    {
        // Called n log n times by one sort: optimized up front (it ran at tier 0 for the whole sort of a large tree).
        [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
        public int Compare(int a, int b) =>
            totalBytes[a] != totalBytes[b] ? totalBytes[a].CompareTo(totalBytes[b])
            : counts[a] != counts[b] ? counts[a].CompareTo(counts[b])
            : b.CompareTo(a);
    }

    /// <summary>
    /// Nodes 1 … n−1 in the order of <see cref="SmallestFirst"/>. Every key differs (the index), so any sort gives the same
    /// order: with no negative total, a stable radix sort of the nodes listed last first, by count and then by bytes (a
    /// comparison sort of a large tree's nodes took as long as the rest of its pruning).
    /// </summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    internal static int[] SmallestFirstOrder(long[] totalBytes, long[] counts)
    {
        var n = totalBytes.Length;
        var order = new int[Math.Max(0, n - 1)];
        var negative = false;
        for (var i = 1; i < n && !negative; i++)
            negative = (totalBytes[i] | counts[i]) < 0;
        if (negative || order.Length < 64)
        {
            for (var i = 0; i < order.Length; i++)
                order[i] = i + 1;
            order.AsSpan().Sort(new SmallestFirst(totalBytes, counts));
            return order;
        }
        for (var i = 0; i < order.Length; i++)
            order[i] = n - 1 - i;
        var keys = new ulong[order.Length];
        var nextOrder = new int[order.Length];
        var nextKeys = new ulong[order.Length];
        var starts = new int[256];
        foreach (var values in new[] { counts, totalBytes })
        {
            ulong highest = 0;
            for (var i = 0; i < order.Length; i++)
                highest |= keys[i] = (ulong)values[order[i]];
            // One stable pass per byte of the key, least significant first; a byte that every key has alike is skipped.
            for (var shift = 0; shift < 64 && highest >> shift != 0; shift += 8)
            {
                System.Array.Clear(starts);
                for (var i = 0; i < keys.Length; i++)
                    starts[(int)(keys[i] >> shift) & 255]++;
                if (starts[(int)(keys[0] >> shift) & 255] == keys.Length)
                    continue;
                for (int digit = 0, sum = 0; digit < 256; digit++)
                    (starts[digit], sum) = (sum, sum + starts[digit]);
                for (var i = 0; i < keys.Length; i++)
                {
                    var at = starts[(int)(keys[i] >> shift) & 255]++;
                    (nextOrder[at], nextKeys[at]) = (order[i], keys[i]);
                }
                (order, nextOrder) = (nextOrder, order);
                (keys, nextKeys) = (nextKeys, keys);
            }
        }
        return order;
    }

    /// <summary>How many frames of the unpruned tree <see cref="Prune"/> folded into "[N smaller frames]" nodes (0 if none).</summary>
    public int MergedFrames { get; }

    /// <summary>The name of the node that stands for <paramref name="frames"/> sibling frames merged by <see cref="Prune"/>.</summary>
    public static string SmallerFrames(int frames) => frames == 1 ? "[1 smaller frame]" : $"[{frames} smaller frames]";

    /// <summary>
    /// This tree with at most <paramref name="maxNodes"/> nodes (this tree itself if it has no more). The smallest
    /// frames go first (total bytes, then count, ascending): each is merged, with everything below it, into one
    /// "[N smaller frames]" node (kind unknown, no children) under its parent, holding the summed bytes and counts
    /// as its own; so every node's totals, and the own bytes of all nodes together, stay exact.
    /// </summary>
    public FlameTree Prune(int maxNodes) => Prune(maxNodes, keepTime: true);

    /// <param name="keepTime">Recompute the time buckets of a tree that has them for the pruned tree (else drop them).</param>
    // Runs once per tree over every node: optimized up front (tier-0 code of its loops was a tenth of a large flame graph).
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    internal FlameTree Prune(int maxNodes, bool keepTime)
    {
        if (maxNodes < 2)
            throw new ArgumentOutOfRangeException(nameof(maxNodes), maxNodes, "a pruned tree holds at least the root and one merged node");
        if (NodeCount <= maxNodes)
            return keepTime || Time is null ? this : new FlameTree(Root, Description, Selection, Inverted, SplitThreads, MergedFrames, null, View, Streamed, OwnerOfStack);

        // Pre-order flattening: index 0 is the root.
        int n;
        int[] parent;
        long[] totalBytes, counts;
        Func<int, FlameNode> copy;
        // Per stack id the index of the node its allocations are charged to (−1: none), for a tree of streamed totals.
        int[]? ownerIndex = null;
        if (flat is { } arrays)
        {
            var preOrder = arrays.PreOrder;
            var rank = arrays.RankOf;
            n = arrays.Count;
            parent = new int[n];
            totalBytes = new long[n];
            counts = new long[n];
            for (var i = 0; i < n; i++)
            {
                var node = preOrder[i];
                parent[i] = i == 0 ? -1 : rank[arrays.ParentOf(node)];
                (totalBytes[i], counts[i]) = (arrays.TotalBytes[node], arrays.TotalCount[node]);
            }
            copy = i => arrays.Copy(preOrder[i]);
            ownerIndex = new int[leafOfStack!.Length];
            for (var s = 0; s < ownerIndex.Length; s++)
                ownerIndex[s] = leafOfStack[s] < 0 ? -1 : rank[leafOfStack[s]];
        }
        else
        {
            var nodes = new List<FlameNode>(NodeCount);
            var parents = new List<int>(NodeCount);
            var stack = new Stack<(FlameNode Node, int Parent)>();
            stack.Push((Root, -1));
            while (stack.Count > 0)
            {
                var (node, up) = stack.Pop();
                var index = nodes.Count;
                // Each node's index, for the stacks' owners to follow the pruning (a field: a dictionary by node hashed each one).
                node.PruneIndex = index;
                nodes.Add(node);
                parents.Add(up);
                for (var i = node.Children.Count - 1; i >= 0; i--)
                    stack.Push((node.Children[i], index));
            }
            n = nodes.Count;
            parent = parents.ToArray();
            totalBytes = new long[n];
            counts = new long[n];
            for (var i = 0; i < n; i++)
                (totalBytes[i], counts[i]) = (nodes[i].TotalBytes, nodes[i].Count);
            copy = i =>
            {
                var source = nodes[i];
                var made = new FlameNode(source.Name, source.Kind) { IsMerged = source.IsMerged };
                made.Add(source.Count, source.TotalBytes);
                made.AddOwn(source.OwnCount, source.OwnBytes);
                return made;
            };
            if (OwnerOfStack is { } leaves)
            {
                ownerIndex = new int[leaves.Length];
                for (var s = 0; s < leaves.Length; s++)
                    ownerIndex[s] = leaves[s] is { } leaf ? leaf.PruneIndex : -1;
            }
        }
        var (removed, merged, mergedBytes, mergedCount) = Removals(maxNodes, parent, totalBytes, counts);

        var copies = new FlameNode?[n];
        copies[0] = copy(0);
        for (var i = 1; i < n; i++)
        {
            var p = parent[i];
            if (removed[i] || copies[p] is null)
                continue;
            copies[i] = copy(i);
            copies[p]!.AddChild(copies[i]!);
        }
        var kept = 0;
        var mergedNodes = ownerIndex is null ? null : new FlameNode?[n];
        for (var i = 0; i < n; i++)
        {
            if (copies[i] is null)
                continue;
            kept++;
            if (merged[i] == 0)
                continue;
            var bucket = new FlameNode(SmallerFrames(merged[i]), FlameNodeKind.Unknown);
            bucket.Add(mergedCount[i], mergedBytes[i]);
            bucket.AddOwn(mergedCount[i], mergedBytes[i]);
            bucket.IsMerged = true;
            copies[i]!.AddChild(bucket);
            if (mergedNodes is not null)
                mergedNodes[i] = bucket;
        }
        FlameNode?[]? owners = null;
        if (ownerIndex is not null)
        {
            // A kept node owns its allocations; a removed one's go to the merged node under its nearest kept ancestor
            // (parents come before their children here).
            var ownerOf = new FlameNode[n];
            for (var i = 0; i < n; i++)
                ownerOf[i] = copies[i] ?? (copies[parent[i]] is not null ? mergedNodes![parent[i]]! : ownerOf[parent[i]]);
            owners = new FlameNode?[ownerIndex.Length];
            for (var s = 0; s < ownerIndex.Length; s++)
                if (ownerIndex[s] >= 0)
                    owners[s] = ownerOf[ownerIndex[s]];
        }
        copies[0]!.Sort();
        var pruned = new FlameTree(copies[0]!, Description, Selection, Inverted, SplitThreads, MergedFrames + n - kept, null, View, Streamed, owners);
        return keepTime && Time is not null ? pruned.WithTimeBuckets(Time.Buckets) : pruned;
    }

    /// <summary>
    /// Which nodes of a tree in pre-order (<paramref name="parent"/> of each, −1 for the root at 0) the pruning to
    /// <paramref name="maxNodes"/> removes, and per node how many children it merged and their totals.
    /// </summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    private static (bool[] Removed, int[] Merged, long[] MergedBytes, long[] MergedCount) Removals(int maxNodes, int[] parent, long[] totalBytes, long[] counts)
    {
        var n = parent.Length;
        // Smallest first; among equals the later sibling first, so a node's merged children are the tail of its list.
        var order = SmallestFirstOrder(totalBytes, counts);
        var removed = new bool[n];
        var merged = new int[n];
        var mergedBytes = new long[n];
        var mergedCount = new long[n];
        var lastMerged = new int[n];
        // Each node's nodes (its own, those below it and the merged ones) as the removals go.
        var size = new int[n];
        // No node holds more than its parent (what every tree of allocations is): in that order every node comes after all
        // of its descendants, so when its turn comes they are gone into one merged node under it, and it has no removed
        // ancestor; its size is known without updating every ancestor's at each removal.
        var nested = true;
        for (var i = 1; i < n && nested; i++)
            nested = totalBytes[i] <= totalBytes[parent[i]] && counts[i] <= counts[parent[i]];
        if (!nested)
            for (var i = n - 1; i >= 0; i--)
            {
                size[i] += 1;
                if (parent[i] >= 0)
                    size[parent[i]] += size[i];
            }
        var count = n;
        foreach (var c in order)
        {
            if (count <= maxNodes)
                break;
            var p = parent[c];
            if (nested)
                size[c] = merged[c] == 0 ? 1 : 2;
            else
            {
                var gone = false;
                for (var a = p; a >= 0 && !gone; a = parent[a])
                    gone = removed[a];
                if (gone)
                    continue;
            }
            var delta = size[c] - (merged[p] == 0 ? 1 : 0);
            removed[c] = true;
            merged[p]++;
            lastMerged[p] = c;
            mergedBytes[p] += totalBytes[c];
            mergedCount[p] += counts[c];
            count -= delta;
            if (!nested)
                for (var a = p; a >= 0; a = parent[a])
                    size[a] -= delta;
        }

        // A "[1 smaller frame]" node that stands for a single leaf saves nothing: keep the leaf.
        for (var p = 0; p < n; p++)
            if (merged[p] == 1 && size[lastMerged[p]] == 1)
            {
                removed[lastMerged[p]] = false;
                merged[p] = 0;
                mergedBytes[p] = mergedCount[p] = 0;
            }
        return (removed, merged, mergedBytes, mergedCount);
    }

    /// <summary>
    /// This tree with each node's own allocations counted per time bucket (<see cref="FlameNode.OwnByTimeBucket"/>):
    /// the capture's duration cut into <paramref name="buckets"/> equal parts, or into half, a quarter … as many (wider
    /// buckets) when that many would give more than <paramref name="maxEntries"/> (node, bucket) pairs. Works on a pruned
    /// tree: the allocations of merged frames count for their "[N smaller frames]" node.
    /// </summary>
    public FlameTree WithTimeBuckets(int buckets, long maxEntries = long.MaxValue) =>
        WithTimeBuckets(buckets, maxEntries, FlameTimeBuckets.MaxDenseCells);

    /// <param name="inPlace">Count them into this tree's own nodes instead of a copy: for a tree nothing else holds (a page's
    /// pruned copy).</param>
    internal FlameTree WithTimeBuckets(int buckets, long maxEntries, long maxDenseCells, bool inPlace = false)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(buckets, 1);
        // A tree with buckets already is copied without them, so that they are not counted twice.
        var own = inPlace && Time is null;
        if (View is null && Streamed is { } streamed)
        {
            var copy = Root;
            var owners = OwnerOfStack;
            if (!own)
            {
                var copyOf = OwnerOfStack is null ? null : new Dictionary<FlameNode, FlameNode>(NodeCount, ReferenceEqualityComparer.Instance);
                copy = CopyWithoutTime(Root, copyOf);
                if (copyOf is not null)
                {
                    owners = new FlameNode?[OwnerOfStack!.Length];
                    for (var s = 0; s < owners.Length; s++)
                        if (OwnerOfStack[s] is { } owner)
                            owners[s] = copyOf[owner];
                }
            }
            var times = FlameTimeBuckets.Attach(this, copy, streamed, TimeBucketing.For(streamed.DurationNs, buckets), maxEntries, maxDenseCells, owners);
            return new FlameTree(copy, Description, Selection, Inverted, SplitThreads, MergedFrames, times, null, streamed, owners);
        }
        var view = View ?? throw new InvalidOperationException("time buckets need the view the tree was built from");
        var root = own ? Root : CopyWithoutTime(Root);
        var time = FlameTimeBuckets.Attach(this, root, view, TimeBucketing.For(view.Capture.DurationNs, buckets), maxEntries, maxDenseCells);
        return new FlameTree(root, Description, Selection, Inverted, SplitThreads, MergedFrames, time, view);
    }

    /// <param name="copyOf">When given, gets each node's copy.</param>
    private static FlameNode CopyWithoutTime(FlameNode source, Dictionary<FlameNode, FlameNode>? copyOf = null)
    {
        var copy = new FlameNode(source.Name, source.Kind) { IsMerged = source.IsMerged };
        copy.Add(source.Count, source.TotalBytes);
        copy.AddOwn(source.OwnCount, source.OwnBytes);
        copyOf?.Add(source, copy);
        foreach (var child in source.Children)
            copy.AddChild(CopyWithoutTime(child, copyOf));
        return copy;
    }

    /// <summary>The number of (node, time bucket) pairs with own allocations: what a page's time data costs.</summary>
    public long TimeEntries()
    {
        long entries = 0;
        var stack = new Stack<FlameNode>();
        stack.Push(Root);
        while (stack.Count > 0)
        {
            var node = stack.Pop();
            entries += node.OwnByTimeBucket?.Count ?? 0;
            foreach (var child in node.Children)
                stack.Push(child);
        }
        return entries;
    }

    /// <summary>A tree of hand-made nodes (for tests): sorted, labelled as the peak.</summary>
    internal static FlameTree Of(FlameNode root)
    {
        root.Sort();
        return new FlameTree(root, "test tree", ReportSelection.Peak, false, false);
    }

    private static int CountNodes(FlameNode root)
    {
        var count = 0;
        var stack = new Stack<FlameNode>();
        stack.Push(root);
        while (stack.Count > 0)
        {
            var node = stack.Pop();
            count++;
            // By index: a foreach over the interface allocated an enumerator per node.
            var children = node.Children;
            for (var i = 0; i < children.Count; i++)
                stack.Push(children[i]);
        }
        return count;
    }

    /// <summary>The tree of <paramref name="selection"/>'s view of <paramref name="capture"/>.</summary>
    /// <param name="timeBuckets">When above 0, each node's own allocations are also counted per time bucket
    /// (<see cref="FlameNode.OwnByTimeBucket"/>): the capture's duration cut into this many equal parts.</param>
    public static FlameTree Build(Capture capture, ReportSelection selection, bool inverted = false, bool splitThreads = false,
        int timeBuckets = 0) =>
        capture.IsAggregated ? BuildFromAggregates(capture, selection, inverted, splitThreads)
            : Build(selection.ViewOf(capture), selection, inverted, splitThreads, selection.TitleOf(capture), timeBuckets);

    /// <summary>
    /// The tree of an aggregated capture from its totals per stack (<see cref="AggregateReports"/>): all allocations,
    /// the peak or the leaks; no threads, no time buckets (it keeps neither).
    /// </summary>
    private static FlameTree BuildFromAggregates(Capture capture, ReportSelection selection, bool inverted, bool splitThreads)
    {
        if (splitThreads)
            throw AggregateReports.Refuse(capture, "a tree split by thread (--split-threads)");
        var perStack = AggregateReports.PerStack(capture, selection, "tree");
        var paths = new PathResolver(capture, inverted, splitThreads: false);
        var root = new FlameNode("all", FlameNodeKind.Root);
        var path = new List<(string Name, FlameNodeKind Kind)>();
        var budget = new NodeBudget(capture, inverted, splitThreads: false);
        foreach (var (stack, count, bytes) in perStack)
        {
            paths.Fill(0, stack, path);
            AddPath(root, path, count, bytes, budget);
        }
        root.Sort();
        return new FlameTree(root, AggregateReports.Description(selection), selection, inverted, false);
    }

    /// <summary>
    /// The tree of a scope's allocations totalled per stack by a streaming pass (<see cref="ScopedPass.SelectStacks"/>):
    /// the tree <see cref="Build(AllocationView, ReportSelection, bool, bool, string?, int)"/> makes of the same
    /// allocations of the loaded capture scoped the same way (not split by thread). Time buckets come from the same totals.
    /// </summary>
    public static FlameTree Build(SelectedStacks stacks, ReportSelection selection, bool inverted = false)
    {
        var paths = new PathResolver(stacks.Tables, inverted, stacks.ScopeFrame);
        var budget = new NodeBudget(stacks.Path, new FileInfo(stacks.Path).Length, inverted, splitThreads: false);
        var tree = new FlatTree(budget, paths.Parents.Length + 1);
        var builder = new FlatBuilder(paths, tree);
        // Where each stack's path ends: its allocations' owner when the time buckets are counted (no second walk).
        var leafOfStack = new int[stacks.Counts.Length];
        for (var stack = 0; stack < stacks.Counts.Length; stack++)
        {
            leafOfStack[stack] = -1;
            if (stacks.Counts[stack] == 0)
                continue;
            var leaf = builder.Add(stack, inverted);
            tree.AddOwn(leaf, stacks.Counts[stack], stacks.Bytes[stack]);
            leafOfStack[stack] = leaf;
        }
        tree.Finish();
        return new FlameTree(tree, leafOfStack, stacks.Description, selection, inverted, stacks);
    }

    /// <summary>The tree of any view (<paramref name="selection"/> only labels it).</summary>
    /// <param name="description">What the view holds, for the heading (default: the view's own description).</param>
    public static FlameTree Build(AllocationView view, ReportSelection selection, bool inverted = false, bool splitThreads = false,
        string? description = null, int timeBuckets = 0)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(timeBuckets);
        var capture = view.Capture;
        var columns = capture.Columns;
        var parents = columns.StackParents();
        var ips = columns.StackIps();
        var threads = columns.Threads.ToDictionary(t => t.Stream, t => t.Name is null ? $"thread {t.OsThreadId}" : $"thread {t.OsThreadId} ({t.Name})");

        // One pass over the rows into arrays by stack id (one pair per thread stream when split); then one walk
        // per distinct (thread, stack).
        var size = columns.Size;
        var stacks = columns.StackId;
        var streams = columns.ThreadStream;
        var stackCount = columns.StackParents().Length + 1;
        var byStream = new Dictionary<int, (long[] Counts, long[] Bytes)>();
        var outOfRange = new Dictionary<(int Stream, int Stack), (long Count, long Bytes)>();
        var lastStream = int.MinValue;
        (long[] Counts, long[] Bytes) current = ([], []);
        long denseCells = 0, denseBudget = 2L * (view.Count + stackCount);
        // A sampled capture's tree weighs each sample by the bytes it stands for (counts stay samples).
        var sampled = capture.IsSampled;
        foreach (var r in view.Rows)
        {
            var bytes = sampled ? (long)Math.Round(columns.EstimatedBytes(r)) : size[r];
            var stream = splitThreads ? streams[r] : 0;
            if (stream != lastStream)
            {
                if (!byStream.TryGetValue(stream, out current))
                {
                    // Arrays by stack id for as many streams as the rows justify; the others' stacks go to the
                    // dictionary (a thousand threads of one allocation each over 60,000 stacks were a GB of arrays).
                    var dense = denseCells + stackCount <= denseBudget;
                    byStream[stream] = current = dense ? (new long[stackCount], new long[stackCount]) : ([], []);
                    if (dense)
                        denseCells += stackCount;
                }
                lastStream = stream;
            }
            var stack = stacks[r];
            if ((uint)stack < (uint)current.Counts.Length)
            {
                current.Counts[stack]++;
                current.Bytes[stack] += bytes;
            }
            else
            {
                var t = outOfRange.GetValueOrDefault((stream, stack));
                outOfRange[(stream, stack)] = (t.Count + 1, t.Bytes + bytes);
            }
        }
        var totals = new List<((int Stream, int Stack) Key, (long Count, long Bytes) Value)>();
        foreach (var (stream, (counts, bytes)) in byStream)
            for (var stack = 0; stack < counts.Length; stack++)
                if (counts[stack] > 0)
                    totals.Add(((stream, stack), (counts[stack], bytes[stack])));
        totals.AddRange(outOfRange.Select(kv => (kv.Key, kv.Value)));

        var paths = new PathResolver(capture, inverted, splitThreads);
        var budget = new NodeBudget(capture, inverted, splitThreads);
        var root = new FlameNode("all", FlameNodeKind.Root);
        var path = new List<(string Name, FlameNodeKind Kind)>();
        foreach (var ((stream, stack), (count, bytes)) in totals.OrderBy(kv => kv.Key.Stream).ThenBy(kv => kv.Key.Stack))
        {
            paths.Fill(stream, stack, path);
            AddPath(root, path, count, bytes, budget);
        }
        root.Sort();
        var tree = new FlameTree(root, description ?? view.Description, selection, inverted, splitThreads, 0, null, view);
        return timeBuckets > 0 ? tree.WithTimeBuckets(timeBuckets) : tree;
    }

    /// <summary>
    /// The most nodes a tree of a capture of <paramref name="captureBytes"/> bytes may have: 2,097,152, or one per 16 bytes
    /// of the capture when that is more. An inverted tree (or one split by thread) repeats every caller under each
    /// allocating frame, so its nodes are stacks times depth, not the stack nodes the capture holds.
    /// </summary>
    public static long MaxNodes(long captureBytes) => Math.Max(1L << 21, Math.Max(0, captureBytes) / 16);

    /// <summary>Counts the nodes a tree makes; past <see cref="MaxNodes"/> of its capture, one error that says so.</summary>
    private sealed class NodeBudget(string path, long sourceBytes, bool inverted, bool splitThreads)
    {
        public NodeBudget(Capture capture, bool inverted, bool splitThreads) : this(capture.Path, capture.SourceBytes, inverted, splitThreads)
        {
        }

        private readonly long limit = MaxNodes(sourceBytes);
        private long nodes = 1;

        public void Add(int created)
        {
            nodes += created;
            if (nodes <= limit)
                return;
            var hint = inverted ? "; the tree without --inverted shares stack prefixes"
                : splitThreads ? "; the tree without --split-threads has fewer"
                : "";
            throw new InvalidDataException(string.Create(System.Globalization.CultureInfo.InvariantCulture,
                $"{path}: too large for a tree: it would have more than {limit:N0} frames, the most a capture of {sourceBytes:N0} bytes may make (FlameTree.MaxNodes){hint}"));
        }
    }

    /// <summary>Charges an allocation to the root, to each node of its path (from the root down) and, as own, to the last.</summary>
    // Once per stack over its frames: optimized up front (tier-0 code ran for much of a large tree's building).
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    private static void AddPath(FlameNode root, List<(string Name, FlameNodeKind Kind)> path, long count, long bytes, NodeBudget budget)
    {
        root.Add(count, bytes);
        var node = root;
        var created = 0;
        foreach (var (name, kind) in path)
        {
            var before = node.Children.Count;
            var child = node.ChildFor(name, kind);
            created += node.Children.Count - before;
            node = child;
            node.Add(count, bytes);
        }
        node.AddOwn(count, bytes);
        budget.Add(created);
    }

    /// <summary>The frames of an allocation's path from the root: its thread (when split), then its stack in tree order.</summary>
    internal sealed class PathResolver
    {
        private readonly int[] parents;
        private readonly ulong[] ips;
        private readonly Dictionary<ulong, (Stacks.ShownFrame[] Frames, FlameNodeKind Kind)> frames;
        private readonly HashSet<ulong> entryStubs;
        private readonly Dictionary<int, string> threads;
        private readonly bool inverted;
        private readonly bool splitThreads;
        private readonly Func<string, bool>? scopeFrame;
        // scopeFrame as FindLastIndex takes it, made once (a lambda per path was an allocation per stack).
        private Predicate<(string Name, FlameNodeKind Kind)>? inScope;

        /// <summary>From the capture file's tables as the first pass read and named them (<see cref="ScopedPass"/>), not split by thread.</summary>
        public PathResolver(CaptureTables tables, bool inverted, Func<string, bool>? scopeFrame)
        {
            var nodes = tables.StackNodes;
            parents = new int[nodes.Count + 1];
            ips = new ulong[nodes.Count + 1];
            foreach (var node in nodes)
                (parents[node.Id], ips[node.Id]) = (node.ParentId, node.Ip);
            // As the frames table lists them: every ip with a FRAME record or a stack node.
            frames = new Dictionary<ulong, (Stacks.ShownFrame[] Frames, FlameNodeKind Kind)>();
            entryStubs = new HashSet<ulong>();
            foreach (var ip in tables.Frames.Keys.Concat(nodes.Select(n => n.Ip)))
            {
                if (frames.ContainsKey(ip))
                    continue;
                var frame = tables.Frame(ip);
                frames[ip] = (Stacks.StackFrames.OfAddress(tables, ip), frame.Kind switch
                {
                    FrameKind.Managed => FlameNodeKind.Managed,
                    FrameKind.Native => FlameNodeKind.Native,
                    _ => FlameNodeKind.Unknown,
                });
                if (frame.Kind == FrameKind.Managed && Symbols.ScriptPlumbing.IsEntryStub(frame.Function))
                    entryStubs.Add(ip);
            }
            threads = new Dictionary<int, string>();
            this.inverted = inverted;
            splitThreads = false;
            this.scopeFrame = scopeFrame;
        }

        public PathResolver(Capture capture, bool inverted, bool splitThreads)
        {
            // From the stacks and frames tables, which aggregated captures have too.
            parents = AllocationColumns.StackParents(capture.ArrowTable(ArrowLayout.Stacks));
            ips = AllocationColumns.StackIps(capture.ArrowTable(ArrowLayout.Stacks));
            frames = FrameTable(capture.ArrowTable(ArrowLayout.Frames));
            entryStubs = Symbols.ScriptPlumbing.HiddenIps(capture.ArrowTable(ArrowLayout.Frames));
            threads = splitThreads
                ? capture.Columns.Threads.ToDictionary(t => t.Stream, t => t.Name is null ? $"thread {t.OsThreadId}" : $"thread {t.OsThreadId} ({t.Name})")
                : new Dictionary<int, string>();
            this.inverted = inverted;
            this.splitThreads = splitThreads;
            scopeFrame = capture.ScopeFrame;
        }

        internal int[] Parents => parents;
        internal ulong[] Ips => ips;
        internal bool IsEntryStub(ulong ip) => entryStubs.Contains(ip);
        internal bool InScope(string name) => scopeFrame is not null && scopeFrame(name);

        /// <summary>The names of the frames of <paramref name="ip"/> as a path lists them (innermost first), and their kind.</summary>
        internal (string[] Names, FlameNodeKind Kind) FramesOf(ulong ip)
        {
            if (!frames.TryGetValue(ip, out var frame))
                return ([Stacks.StackFrames.Unlisted(ip).Name], FlameNodeKind.Unknown);
            var names = new string[frame.Frames.Length];
            for (var i = 0; i < names.Length; i++)
                names[i] = frame.Frames[i].NameWithLocation;
            return (names, frame.Kind);
        }

        public void Fill(int stream, int stack, List<(string Name, FlameNodeKind Kind)> path)
        {
            path.Clear();
            var depth = 0;
            for (var id = stack; id > 0 && id < parents.Length && depth < Format.CaptureFormat.MaxStackDepth; id = parents[id], depth++)
            {
                if (id != stack && entryStubs.Contains(ips[id]))
                    continue; // a notebook cell's entry stub that the cell's code runs under
                if (frames.TryGetValue(ips[id], out var frame))
                    foreach (var f in frame.Frames) // inlined functions first, innermost first
                        path.Add((f.NameWithLocation, frame.Kind));
                else
                    path.Add((Stacks.StackFrames.Unlisted(ips[id]).Name, FlameNodeKind.Unknown));
            }
            if (scopeFrame is not null)
            {
                // A scoped capture (a notebook cell's): each stack starts at its outermost frame of the
                // scope, not at the host code that ran it.
                var outermost = path.FindLastIndex(inScope ??= f => scopeFrame(f.Name));
                if (outermost >= 0)
                    path.RemoveRange(outermost + 1, path.Count - outermost - 1);
            }
            if (path.Count == 0)
                path.Add((NoStack, FlameNodeKind.Unknown));
            if (!inverted)
                path.Reverse(); // recorded innermost first
            if (splitThreads)
                path.Insert(0, (threads.GetValueOrDefault(stream) ?? $"thread stream {stream}", FlameNodeKind.Thread));
        }
    }

    /// <summary>
    /// Frames per ip, innermost first, with their kind (<see cref="Stacks.StackFrames"/>): the inlined functions the ip is in
    /// ("name [inlined] (file.c:12)"), then its function ("name (file.c:42)" where the frames table has its line, "name (no
    /// line: no PDB)" for a managed frame without one).
    /// </summary>
    private static Dictionary<ulong, (Stacks.ShownFrame[] Frames, FlameNodeKind Kind)> FrameTable(RecordBatch frames)
    {
        var kinds = (StringArray)frames.Column("kind");
        return AllocationColumns.FramesByIp(frames, (row, shown) => (shown, kinds.GetString(row) switch
        {
            "managed" => FlameNodeKind.Managed,
            "native" => FlameNodeKind.Native,
            _ => FlameNodeKind.Unknown,
        }));
    }
}
