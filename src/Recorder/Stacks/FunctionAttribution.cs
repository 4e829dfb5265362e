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
}
