using System.Runtime.CompilerServices;

namespace MemNotebook.Recorder.Reports;

public sealed partial class FlameTree
{
    /// <summary>
    /// The unpruned tree of streamed totals as arrays by node id (<see cref="Build(Analysis.SelectedStacks, ReportSelection, bool)"/>):
    /// a page prunes it to a few thousand frames, so its other nodes never become <see cref="FlameNode"/>s (in the traced kernel
    /// every object takes the runtime's slow allocation path, and a walk over objects spread on the heap misses the cache at
    /// each node). Node 0 is the root; a node is made after its parent, so its id is above its parent's.
    /// </summary>
    private sealed class FlatTree
    {
        private const int Root = 0;
        // A node with this many children finds them by a dictionary, not by walking its list (most nodes have one).
        private const int ListedChildren = 8;

        private int count;
        private int[] parent;
        private string[] name;
        private FlameNodeKind[] kind;
        private long[] ownCount, ownBytes;
        // The children in the order they were made: the order the nodes' lists had before their sort.
        private int[] firstChild, lastChild, nextSibling, childCount;
        private readonly Dictionary<(int Parent, string Name, FlameNodeKind Kind), int> children = new();
        private readonly NodeBudget budget;

        public FlatTree(NodeBudget budget, int capacity)
        {
            this.budget = budget;
            capacity = Math.Max(capacity, 16);
            parent = new int[capacity];
            name = new string[capacity];
            kind = new FlameNodeKind[capacity];
            ownCount = new long[capacity];
            ownBytes = new long[capacity];
            firstChild = new int[capacity];
            lastChild = new int[capacity];
            nextSibling = new int[capacity];
            childCount = new int[capacity];
            Make(-1, "all", FlameNodeKind.Root);
        }

        public int Count => count;

        // Set by Finish: the totals (own plus every descendant's), the nodes in pre-order with each one's children biggest
        // first (as FlameNode.Sort orders them), and each node's place in that order.
        public long[] TotalBytes { get; private set; } = [];
        public long[] TotalCount { get; private set; } = [];
        public int[] PreOrder { get; private set; } = [];
        public int[] RankOf { get; private set; } = [];
        public int ParentOf(int node) => parent[node];

        /// <summary>The child of <paramref name="node"/> with this name and kind, made (last among its children) if it has none.</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public int Child(int node, string childName, FlameNodeKind childKind)
        {
            if (childCount[node] < ListedChildren)
            {
                for (var c = firstChild[node]; c > 0; c = nextSibling[c])
                    if (kind[c] == childKind && string.Equals(name[c], childName))
                        return c;
            }
            else if (children.TryGetValue((node, childName, childKind), out var found))
                return found;
            var made = Make(node, childName, childKind);
            if (childCount[node] == ListedChildren)
            {
                for (var c = firstChild[node]; c > 0; c = nextSibling[c])
                    children.Add((node, name[c], kind[c]), c);
            }
            else if (childCount[node] > ListedChildren)
                children.Add((node, childName, childKind), made);
            return made;
        }

        public void AddOwn(int node, long allocations, long bytes)
        {
            ownCount[node] += allocations;
            ownBytes[node] += bytes;
        }

        private int Make(int up, string nodeName, FlameNodeKind nodeKind)
        {
            if (count == parent.Length)
                Grow();
            var made = count++;
            (parent[made], name[made], kind[made]) = (up, nodeName, nodeKind);
            if (up >= 0)
            {
                if (firstChild[up] == 0)
                    firstChild[up] = made;
                else
                    nextSibling[lastChild[up]] = made;
                lastChild[up] = made;
                childCount[up]++;
                budget.Add(1);
            }
            return made;
        }

        private void Grow()
        {
            var size = parent.Length * 2;
            Array.Resize(ref parent, size);
            Array.Resize(ref name, size);
            Array.Resize(ref kind, size);
            Array.Resize(ref ownCount, size);
            Array.Resize(ref ownBytes, size);
            Array.Resize(ref firstChild, size);
            Array.Resize(ref lastChild, size);
            Array.Resize(ref nextSibling, size);
            Array.Resize(ref childCount, size);
        }

        /// <summary>The totals from the own allocations up, and the pre-order of the sorted tree.</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void Finish()
        {
            var n = count;
            var totalBytes = new long[n];
            var totalCount = new long[n];
            Array.Copy(ownBytes, totalBytes, n);
            Array.Copy(ownCount, totalCount, n);
            // Children after their parents: one sweep back to front adds each node's totals into its parent's.
            for (var i = n - 1; i > 0; i--)
            {
                totalBytes[parent[i]] += totalBytes[i];
                totalCount[parent[i]] += totalCount[i];
            }
            TotalBytes = totalBytes;
            TotalCount = totalCount;
            // Each node's children in one stretch, in the order they were made, then sorted as FlameNode.Sort sorts a list
            // (the same introspective sort over the same sequence with the same comparison: the same order, ties included).
            var start = new int[n + 1];
            for (var i = 1; i < n; i++)
                start[parent[i] + 1]++;
            for (var i = 0; i < n; i++)
                start[i + 1] += start[i];
            var sorted = new int[Math.Max(0, n - 1)];
            for (var i = 0; i < n; i++)
            {
                var at = start[i];
                for (var c = firstChild[i]; c > 0; c = nextSibling[c])
                    sorted[at++] = c;
            }
            var names = name;
            Comparison<int> biggestFirst = (a, b) =>
                FlameNode.BiggestFirst(totalBytes[a], totalCount[a], names[a], totalBytes[b], totalCount[b], names[b]);
            for (var i = 0; i < n; i++)
                if (start[i + 1] - start[i] > 1)
                    sorted.AsSpan(start[i], start[i + 1] - start[i]).Sort(biggestFirst);
            var preOrder = new int[n];
            var rank = new int[n];
            var pending = new Stack<int>();
            pending.Push(Root);
            var k = 0;
            while (pending.Count > 0)
            {
                var node = pending.Pop();
                rank[node] = k;
                preOrder[k++] = node;
                for (var j = start[node + 1] - 1; j >= start[node]; j--)
                    pending.Push(sorted[j]);
            }
            PreOrder = preOrder;
            RankOf = rank;
        }

        /// <summary>A <see cref="FlameNode"/> with this node's name, kind and totals, without children.</summary>
        public FlameNode Copy(int node)
        {
            var copy = new FlameNode(name[node], kind[node]);
            copy.Add(TotalCount[node], TotalBytes[node]);
            copy.AddOwn(ownCount[node], ownBytes[node]);
            return copy;
        }

        /// <summary>The whole tree as <see cref="FlameNode"/>s, children biggest first; and each node's.</summary>
        public (FlameNode Root, FlameNode[] Nodes) Materialize()
        {
            var nodes = new FlameNode[count];
            foreach (var node in PreOrder)
            {
                nodes[node] = Copy(node);
                if (node != Root)
                    nodes[parent[node]].AddChild(nodes[node]);
            }
            return (nodes[Root], nodes);
        }
    }

    /// <summary>
    /// Builds the tree of a selection's totals per stack as arrays. Not inverted, each stack node's path is made once and
    /// shared by every stack below it (the frames of an address named, and matched against the scope, once per address): the
    /// nodes are made in the order that adding each stack's path in turn from the root makes them, so the tree is the same.
    /// Inverted (or past the format's depth), a stack's path is made from its frames as <see cref="PathResolver.Fill"/> lists them.
    /// </summary>
    private sealed class FlatBuilder(PathResolver paths, FlatTree tree)
    {
        private readonly int[] parents = paths.Parents;
        private readonly ulong[] ips = paths.Ips;
        // Per stack node: its chain's length (0 unknown, −1 past the depth limit or never ending); the node its path ends at
        // when that path is cut at a frame of the scope (−1: no such frame from the root to it), once resolved; the node its
        // whole path ends at when it has no frame of the scope (−1 unknown).
        private readonly int[] depth = new int[paths.Parents.Length];
        private readonly int[] cut = new int[paths.Parents.Length];
        private readonly bool[] resolved = new bool[paths.Parents.Length];
        private readonly int[] uncut = FilledArray(paths.Parents.Length, -1);
        private readonly Dictionary<ulong, AddressFrames> frames = new();
        private readonly List<int> chain = new();
        private readonly List<(string Name, FlameNodeKind Kind)> path = new();

        /// <summary>The frames of an address from the root down, and the first of them that is the scope's (−1: none).</summary>
        private sealed record AddressFrames(string[] Names, FlameNodeKind Kind, int FirstOfScope);

        private static int[] FilledArray(int length, int value)
        {
            var array = new int[length];
            Array.Fill(array, value);
            return array;
        }

        private bool Outside(int id) => id <= 0 || id >= parents.Length;

        /// <summary>The node of <paramref name="tree"/> the path of <paramref name="stack"/> ends at, made with the nodes above it.</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public int Add(int stack, bool inverted)
        {
            int node;
            if (inverted || Outside(stack) || Depth(stack) < 0)
            {
                paths.Fill(0, stack, path);
                node = 0;
                foreach (var (frameName, frameKind) in path)
                    node = tree.Child(node, frameName, frameKind);
                return node;
            }
            if (!paths.IsEntryStub(ips[stack]))
            {
                Resolve(stack);
                node = cut[stack] >= 0 ? cut[stack] : Uncut(stack);
            }
            else
            {
                // An entry stub is left out of the paths that run through it, not of its own stack's.
                var up = parents[stack];
                var above = -1;
                if (!Outside(up))
                {
                    Resolve(up);
                    above = cut[up];
                }
                var own = Frames(ips[stack]);
                node = above >= 0 ? Extend(above, own, 0)
                    : own.FirstOfScope >= 0 ? Extend(0, own, own.FirstOfScope)
                    : Extend(Outside(up) ? 0 : Uncut(up), own, 0);
            }
            return node == 0 ? tree.Child(0, NoStack, FlameNodeKind.Unknown) : node;
        }

        private int Extend(int node, AddressFrames own, int from)
        {
            for (var i = from; i < own.Names.Length; i++)
                node = tree.Child(node, own.Names[i], own.Kind);
            return node;
        }

        /// <summary>The length of the chain from <paramref name="id"/> to the root; −1 past the format's depth limit.</summary>
        private int Depth(int id)
        {
            if (depth[id] != 0)
                return depth[id];
            chain.Clear();
            var up = id;
            while (!Outside(up) && depth[up] == 0 && chain.Count <= Format.CaptureFormat.MaxStackDepth)
            {
                chain.Add(up);
                up = parents[up];
            }
            if (chain.Count > Format.CaptureFormat.MaxStackDepth)
                return depth[id] = -1;
            var below = Outside(up) ? 0 : depth[up];
            for (var i = chain.Count - 1; i >= 0; i--)
            {
                below = below < 0 || below + 1 > Format.CaptureFormat.MaxStackDepth ? -1 : below + 1;
                depth[chain[i]] = below;
            }
            return depth[id];
        }

        /// <summary>Sets <see cref="cut"/> of <paramref name="id"/> and the nodes above it, from the root down.</summary>
        private void Resolve(int id)
        {
            chain.Clear();
            for (var up = id; !Outside(up) && !resolved[up]; up = parents[up])
                chain.Add(up);
            for (var i = chain.Count - 1; i >= 0; i--)
            {
                var node = chain[i];
                var up = parents[node];
                var above = Outside(up) ? -1 : cut[up];
                if (paths.IsEntryStub(ips[node]))
                    cut[node] = above;
                else
                {
                    var own = Frames(ips[node]);
                    cut[node] = above >= 0 ? Extend(above, own, 0)
                        : own.FirstOfScope >= 0 ? Extend(0, own, own.FirstOfScope)
                        : -1;
                }
                resolved[node] = true;
            }
        }

        /// <summary>The node the whole path of <paramref name="id"/> ends at (no frame on it is the scope's), made from the root down.</summary>
        private int Uncut(int id)
        {
            chain.Clear();
            var up = id;
            for (; !Outside(up) && uncut[up] < 0; up = parents[up])
                chain.Add(up);
            var node = Outside(up) ? 0 : uncut[up];
            for (var i = chain.Count - 1; i >= 0; i--)
            {
                var at = chain[i];
                if (!paths.IsEntryStub(ips[at]))
                    node = Extend(node, Frames(ips[at]), 0);
                uncut[at] = node;
            }
            return node;
        }

        private AddressFrames Frames(ulong ip)
        {
            if (frames.TryGetValue(ip, out var known))
                return known;
            var (shown, frameKind) = paths.FramesOf(ip);
            var names = new string[shown.Length];
            // Listed innermost first: from the root down is the other way.
            for (var i = 0; i < shown.Length; i++)
                names[shown.Length - 1 - i] = shown[i];
            var first = -1;
            for (var i = 0; i < names.Length && first < 0; i++)
                if (paths.InScope(names[i]))
                    first = i;
            return frames[ip] = new AddressFrames(names, frameKind, first);
        }
    }
}
