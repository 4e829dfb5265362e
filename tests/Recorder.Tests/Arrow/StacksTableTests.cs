using Apache.Arrow.Ipc;
using MemNotebook.Recorder.Arrow;
using MemNotebook.Recorder.Tests.Capture;
using Xunit;
using LoadedCapture = MemNotebook.Capture;

namespace MemNotebook.Recorder.Tests.Arrow;

/// <summary>The stacks table of a capture with more nodes than one of its record batches holds.</summary>
public class StacksTableTests
{
    // Nodes in groups of 100: each group's first node is a root, the others are chains under it. Node k's ip is
    // Ips[k % 3]; 0x30 has no FRAME record (an unknown frame, charged to no function).
    private const int GroupSize = 100;
    private static readonly ulong[] Ips = [0x30, 0x10, 0x20];
    private static readonly Dictionary<ulong, string> Functions = new() { [0x10] = "App.A", [0x20] = "App.B" };

    private static int ParentOf(int id) => (id - 1) % GroupSize == 0 ? 0 : id - 1;

    /// <summary>The function a node is charged to, walked up from the node: the oracle the table is checked against.</summary>
    private static string FunctionOf(int id)
    {
        for (; id != 0; id = ParentOf(id))
            if (Functions.TryGetValue(Ips[id % 3], out var name))
                return name;
        return "[unknown]";
    }

    [Fact]
    public async Task A_table_of_more_nodes_than_a_batch_is_written_in_batches_that_share_one_function_dictionary_and_reads_back_whole()
    {
        using var scratch = new ScratchFolder();
        var count = SmallTables.StackBatchRows + 1_000;
        var w = new TestCaptureWriter();
        var meta = w.Chunk(0).Clock(0, 0).Type(0, 1, "A").Frame(0x10, 0, "App.A").Frame(0x20, 0, "App.B").Thread(2, 11, 1);
        for (var first = 1; first <= count; first += 10_000)
        {
            var nodes = new List<(ulong Up, ulong IpNumber, ulong? Ip)>();
            for (var id = first; id < first + 10_000 && id <= count; id++)
            {
                // The ips are numbered as they first appear (nodes 1, 2, 3: 0x10, 0x20, 0x30).
                var number = (ulong)((id % 3 + 2) % 3);
                nodes.Add(((ulong)(id - 1 - ParentOf(id)), number, id <= 3 ? Ips[id % 3] : null));
            }
            meta.StackNodes(nodes.ToArray());
        }
        meta.Write();
        // Two allocations: at the last node (App.B's chain) and at a group's root whose ip is unknown.
        w.Chunk(2).Alloc(10, 0, 24, count, 0x1000).Alloc(20, 0, 32, 201, 0x2000).Write();
        var folder = ArrowConverter.Convert(scratch.Write("wide.memnb", w), Path.Combine(scratch.Root, "out")).Folder;

        using (var file = File.OpenRead(ArrowLayout.TablePath(folder, ArrowLayout.Stacks)))
        using (var reader = new ArrowFileReader(file))
            Assert.Equal(2, await reader.RecordBatchCountAsync());
        var capture = LoadedCapture.Load(folder);
        var stacks = capture.Stacks;
        Assert.Equal(count, stacks.Rows.Count);
        int[] ids = [1, 2, 3, 100, 101, 201, 301, SmallTables.StackBatchRows - 1, SmallTables.StackBatchRows, SmallTables.StackBatchRows + 1, count];
        foreach (var id in ids)
        {
            var row = id - 1;
            Assert.Equal(id, (int)stacks["stack_id"][row]);
            Assert.Equal(ParentOf(id), (int)stacks["parent_id"][row]);
            Assert.Equal(Ips[id % 3], (ulong)stacks["ip"][row]);
            Assert.Equal((id - 1) % GroupSize + 1, (int)stacks["depth"][row]);
            Assert.Equal(FunctionOf(id), (string)stacks["function"][row]);
        }
        // Node 201 is a root with the unknown ip; the last node's chain reaches App.B first.
        Assert.Equal("[unknown]", FunctionOf(201));
        Assert.Equal(["App.B", "[unknown]"], capture.Allocations["function"].Cast<string>().ToArray());
        // Every row's function is the oracle's.
        var functions = stacks["function"];
        Assert.Equal(0, Enumerable.Range(1, count).Count(id => (string)functions[id - 1] != FunctionOf(id)));
    }
}
