using MemNotebook.Recorder.Reports;
using Xunit;

namespace MemNotebook.Recorder.Tests.Reports;

public class FlameTreePruneTests
{
    // A node with own bytes (one allocation if any) and children; totals are own plus the children's.
    private static FlameNode Node(string name, long own, params FlameNode[] children)
    {
        var node = new FlameNode(name, name == "all" ? FlameNodeKind.Root : FlameNodeKind.Managed);
        node.AddOwn(own > 0 ? 1 : 0, own);
        node.Add(own > 0 ? 1 : 0, own);
        foreach (var child in children)
        {
            node.AddChild(child);
            node.Add(child.Count, child.TotalBytes);
        }
        return node;
    }

    // 10 nodes, 158 bytes, 8 allocations.
    private static FlameTree Sample() => FlameTree.Of(Node("all", 0,
        Node("A", 0, Node("A1", 60), Node("A2", 30), Node("A3", 10)),
        Node("B", 25, Node("B1", 20), Node("B2", 5)),
        Node("C", 5),
        Node("D", 3)));

    private static string[] Flatten(FlameNode node, string indent = "")
    {
        var rows = new List<string> { $"{indent}{node.Name} {node.Kind} total={node.TotalBytes} own={node.OwnBytes} count={node.Count} own_count={node.OwnCount}" };
        foreach (var child in node.Children)
            rows.AddRange(Flatten(child, indent + "  "));
        return rows.ToArray();
    }

    private static IEnumerable<FlameNode> All(FlameNode node) => node.Children.SelectMany(All).Prepend(node);

    [Fact]
    public void A_tree_within_the_limit_is_returned_unchanged()
    {
        var tree = Sample();
        Assert.Equal(10, tree.NodeCount);
        Assert.Same(tree, tree.Prune(10));
        Assert.Same(tree, tree.Prune(20_000));
        Assert.Equal(0, tree.MergedFrames);
    }

    [Fact]
    public void Smallest_frames_are_merged_first_into_one_node_per_parent_with_exact_totals()
    {
        var pruned = Sample().Prune(8);
        Assert.Equal(new[]
        {
            "all Root total=158 own=0 count=8 own_count=0",
            "  A Managed total=100 own=0 count=3 own_count=0",
            "    A1 Managed total=60 own=60 count=1 own_count=1",
            "    A2 Managed total=30 own=30 count=1 own_count=1",
            "    A3 Managed total=10 own=10 count=1 own_count=1",
            "  B Managed total=50 own=25 count=3 own_count=1",
            "    [2 smaller frames] Unknown total=25 own=25 count=2 own_count=2",
            "  [2 smaller frames] Unknown total=8 own=8 count=2 own_count=2",
        }, Flatten(pruned.Root));
        Assert.Equal(8, pruned.NodeCount);
        Assert.Equal(4, pruned.MergedFrames); // B1, B2, C, D
        Assert.Equal((158L, 8L), (pruned.TotalBytes, pruned.Count));
    }

    [Fact]
    public void The_smallest_possible_page_is_the_root_and_one_merged_node_holding_everything()
    {
        var pruned = Sample().Prune(2);
        Assert.Equal(new[]
        {
            "all Root total=158 own=0 count=8 own_count=0",
            "  [4 smaller frames] Unknown total=158 own=158 count=8 own_count=8",
        }, Flatten(pruned.Root));
        Assert.Equal(9, pruned.MergedFrames);
        Assert.Throws<ArgumentOutOfRangeException>(() => Sample().Prune(1));
    }

    [Fact]
    public void The_pruning_order_is_fewest_bytes_then_fewest_allocations_then_the_later_node_first()
    {
        // The order the pruning removes nodes in, by a radix sort for large trees: the comparison's order, ties (equal
        // bytes and counts) and keys of every width (a byte of the key that every node has alike, totals past 2^32) included.
        var random = new Random(5);
        foreach (var (n, range) in new[] { (10, 4L), (65, 3L), (1_000, 50L), (5_000, 1L << 40), (3_000, 1L << 62) })
        {
            var bytes = new long[n];
            var counts = new long[n];
            for (var i = 1; i < n; i++)
                (bytes[i], counts[i]) = (random.NextInt64(range), random.NextInt64(Math.Min(range, 1L << 20)));
            var expected = Enumerable.Range(1, n - 1).OrderBy(i => bytes[i]).ThenBy(i => counts[i]).ThenByDescending(i => i);
            Assert.Equal(expected, FlameTree.SmallestFirstOrder(bytes, counts));
        }
        // A negative total (no tree of allocations has one) is ordered by comparisons.
        Assert.Equal([2, 3, 1], FlameTree.SmallestFirstOrder([0, 5, -1, 5], [0, 1, 1, 1]));
    }

    [Fact]
    public void Every_limit_is_respected_and_every_total_stays_exact_on_a_random_tree()
    {
        var random = new Random(3);
        var root = new FlameNode("all", FlameNodeKind.Root);
        for (var s = 0; s < 2_000; s++)
        {
            var bytes = random.Next(1, 1_000);
            root.Add(1, bytes);
            var node = root;
            for (var d = random.Next(1, 12); d > 0; d--)
            {
                node = node.ChildFor($"f{random.Next(0, 30)}", d % 3 == 0 ? FlameNodeKind.Native : FlameNodeKind.Managed);
                node.Add(1, bytes);
            }
            node.AddOwn(1, bytes);
        }
        var tree = FlameTree.Of(root);
        Assert.True(tree.NodeCount > 5_000);
        foreach (var limit in new[] { 2, 3, 10, 100, 1_000, tree.NodeCount - 1, tree.NodeCount })
        {
            var pruned = tree.Prune(limit);
            Assert.True(pruned.NodeCount <= limit, $"{pruned.NodeCount} nodes for a limit of {limit}");
            Assert.Equal((tree.TotalBytes, tree.Count), (pruned.TotalBytes, pruned.Count));
            var nodes = All(pruned.Root).ToList();
            Assert.Equal(pruned.NodeCount, nodes.Count);
            Assert.Equal((tree.TotalBytes, tree.Count), (nodes.Sum(n => n.OwnBytes), nodes.Sum(n => n.OwnCount)));
            foreach (var node in nodes)
            {
                Assert.Equal(node.TotalBytes, node.OwnBytes + node.Children.Sum(c => c.TotalBytes));
                Assert.Equal(node.Count, node.OwnCount + node.Children.Sum(c => c.Count));
                if (node.Name.EndsWith("smaller frames]", StringComparison.Ordinal) || node.Name == "[1 smaller frame]")
                    Assert.Equal((FlameNodeKind.Unknown, 0, node.TotalBytes), (node.Kind, node.Children.Count, node.OwnBytes));
            }
            // Merged frames = the tree's nodes minus those kept (the merged nodes are the only unknown ones).
            var merged = tree.NodeCount - (pruned.NodeCount - nodes.Count(n => n.Kind == FlameNodeKind.Unknown));
            Assert.Equal(merged, pruned.MergedFrames);
        }
    }

    [Fact]
    public void The_page_says_how_many_frames_were_merged_and_keeps_the_exact_total()
    {
        var html = FlameGraphPage.ToHtml(Sample(), "", maxNodes: 8);
        Assert.Contains("4 of the tree's 10 frames are merged", html);
        Assert.Contains("[2 smaller frames]", html);
        Assert.DoesNotContain("fg-merged", FlameGraphPage.ToHtml(Sample(), ""));
    }
}
