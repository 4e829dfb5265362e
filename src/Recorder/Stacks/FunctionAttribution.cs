using MemNotebook.Recorder.Format;

namespace MemNotebook.Recorder.Stacks;

/// <summary>
/// Names the function an allocation is charged to: the innermost managed frame with a name that is
/// not allocation machinery (<see cref="AllocationMachinery"/>), else "[unknown]". A native
/// allocation's stack (<see cref="CaptureTables.NativeStacks"/>) starts at the C caller of malloc: it
/// is charged to the innermost named frame, native (a C function) or managed. Cached per stack id.
/// </summary>
public sealed class FunctionAttribution
{
    public const string Unknown = Symbols.FrameNaming.Unknown;

    private readonly CaptureTables tables;
    private readonly Dictionary<int, string> byStack = new();

    public FunctionAttribution(CaptureTables tables) => this.tables = tables;

    public string FunctionOf(int stackId)
    {
        if (byStack.TryGetValue(stackId, out var name))
            return name;
        name = Unknown;
        var nativeStack = tables.NativeStacks.Contains(stackId);
        foreach (var ip in tables.StackIps(stackId))
        {
            var frame = tables.Frame(ip);
            var eligible = frame.Kind == FrameKind.Managed || (nativeStack && frame.Kind == FrameKind.Native);
            if (eligible && frame.Function.Length > 0 && !AllocationMachinery.IsMachinery(frame.Function))
            {
                name = Symbols.FrameNaming.Shown(frame.Kind, frame.Function);
                break;
            }
        }
        byStack.Add(stackId, name);
        return name;
    }

    /// <summary>
    /// The function each stack node is charged to (<see cref="FunctionOf"/>), by id, as an index into the
    /// distinct names ("[unknown]" first). A managed stack's function is its own ip's when that one is eligible, else its
    /// parent's: each node is one step from its parent, where the parent comes first and the chain is within the depth
    /// limit; a native allocation's stack (its frames are judged otherwise) and any other node are walked as
    /// <see cref="FunctionOf"/> walks them. A few arrays of the nodes' count, where <see cref="FunctionOf"/> keeps a
    /// dictionary entry per stack asked.
    /// </summary>
    public static (int[] ByStack, List<string> Names) OfEveryStack(CaptureTables tables)
    {
        var nodes = tables.StackNodes;
        var names = new List<string> { FunctionAttribution.Unknown };
        var indexOfName = new Dictionary<string, int>(StringComparer.Ordinal) { [FunctionAttribution.Unknown] = 0 };
        // Per ip: the index of its name when a managed stack is charged to it, else −1.
        var ofIp = new Dictionary<ulong, int>();
        int IndexOf(string name)
        {
            if (!indexOfName.TryGetValue(name, out var index))
            {
                index = names.Count;
                names.Add(name);
                indexOfName.Add(name, index);
            }
            return index;
        }
        int ManagedFunctionOf(ulong ip)
        {
            if (ofIp.TryGetValue(ip, out var index))
                return index;
            var frame = tables.Frame(ip);
            index = frame.Kind == FrameKind.Managed && frame.Function.Length > 0 && !AllocationMachinery.IsMachinery(frame.Function)
                ? IndexOf(Symbols.FrameNaming.Shown(frame.Kind, frame.Function))
                : -1;
            ofIp.Add(ip, index);
            return index;
        }
        var attribution = new FunctionAttribution(tables);
        // managed[id]: the node's function when its stack is a managed one; chain[id]: frames to the root, 0 when not
        // known by the one-step rule.
        var managed = new int[nodes.Count + 1];
        var chain = new int[nodes.Count + 1];
        var byStack = new int[nodes.Count + 1];
        for (var id = 1; id <= nodes.Count; id++)
        {
            var node = nodes[id - 1];
            var parent = node.ParentId;
            if (parent >= 0 && parent < id && (parent == 0 || chain[parent] > 0) && (parent == 0 ? 0 : chain[parent]) <= CaptureFormat.MaxStackDepth)
            {
                var own = ManagedFunctionOf(node.Ip);
                managed[id] = own >= 0 ? own : parent == 0 ? 0 : managed[parent];
                chain[id] = parent == 0 ? 1 : chain[parent] + 1;
            }
            else
            {
                managed[id] = -1;
            }
            byStack[id] = managed[id] >= 0 && !tables.NativeStacks.Contains(id) ? managed[id] : IndexOf(attribution.FunctionOf(id));
        }
        return (byStack, names);
    }
}
