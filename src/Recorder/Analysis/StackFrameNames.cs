using System.Runtime.InteropServices;
using Apache.Arrow;

namespace MemNotebook.Recorder.Analysis;

/// <summary>The frame names of each stack from the stacks and frames tables, innermost first (<see cref="Stacks.StackFrames"/>).</summary>
internal sealed class StackFrameNames
{
    private readonly Dictionary<ulong, Stacks.ShownFrame[]> framesOfIp;
    private readonly int[] parentOf;
    private readonly ulong[] ipOf;
    private readonly HashSet<ulong> hidden;

    public StackFrameNames(RecordBatch stacks, RecordBatch frames)
    {
        framesOfIp = AllocationColumns.FramesByIp(frames);
        hidden = Symbols.ScriptPlumbing.HiddenIps(frames);
        var ids = Values<int>(stacks, "stack_id");
        var parents = Values<int>(stacks, "parent_id");
        var ips = Values<ulong>(stacks, "ip");
        parentOf = new int[ids.Length + 1];
        ipOf = new ulong[ids.Length + 1];
        for (var i = 0; i < ids.Length; i++)
        {
            parentOf[ids[i]] = parents[i];
            ipOf[ids[i]] = ips[i];
        }
    }

    public IReadOnlyList<string> Names(int stackId)
    {
        var names = new List<string>();
        var depth = 0;
        for (var at = stackId; at > 0 && at < parentOf.Length && depth <= Format.CaptureFormat.MaxStackDepth; at = parentOf[at], depth++)
        {
            if (at != stackId && hidden.Contains(ipOf[at]))
                continue; // a notebook cell's entry stub that the cell's code runs under
            foreach (var frame in framesOfIp.GetValueOrDefault(ipOf[at]) ?? AllocationColumns.UnlistedFrames(ipOf[at]))
                names.Add(frame.Name);
        }
        return names;
    }

    private static ReadOnlySpan<T> Values<T>(RecordBatch batch, string column) where T : struct
    {
        var data = batch.Column(column).Data;
        return MemoryMarshal.Cast<byte, T>(data.Buffers[1].Span).Slice(data.Offset, data.Length);
    }
}
