using System.Runtime.InteropServices;
using Apache.Arrow;

namespace MemNotebook.Recorder.Analysis;

/// <summary>The function names of each stack from the stacks and frames tables (innermost first).</summary>
internal sealed class StackFrameNames
{
    private readonly Dictionary<ulong, string> nameOfIp = new();
    private readonly Dictionary<ulong, string[]> inlinedOfIp = new();
    private readonly int[] parentOf;
    private readonly ulong[] ipOf;
    private readonly HashSet<ulong> hidden;

    public StackFrameNames(RecordBatch stacks, RecordBatch frames)
    {
        var frameIps = Values<ulong>(frames, "ip");
        var functions = AllocationColumns.ShownFunctions(frames);
        for (var i = 0; i < frameIps.Length; i++)
            nameOfIp[frameIps[i]] = functions[i];
        // Inlined functions of a native frame (layout 2): shown before it, innermost first.
        if (frames.Schema.GetFieldIndex("inlined") >= 0)
        {
            var inlined = (StringArray)frames.Column("inlined");
            for (var i = 0; i < frameIps.Length; i++)
                if (!inlined.IsNull(i))
                    inlinedOfIp[frameIps[i]] = Symbols.InlinedColumn.Decode(inlined.GetString(i))
                        .Select(f => Symbols.FrameNaming.Inlined(Symbols.FrameNaming.OrUnknown(f.Function ?? ""))).ToArray();
        }
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
        for (var at = stackId; at > 0 && at < parentOf.Length && depth <= Capture.CaptureFormat.MaxStackDepth; at = parentOf[at], depth++)
        {
            if (at != stackId && hidden.Contains(ipOf[at]))
                continue; // a notebook cell's entry stub that the cell's code runs under
            if (inlinedOfIp.TryGetValue(ipOf[at], out var inlined))
                names.AddRange(inlined);
            names.Add(Symbols.FrameNaming.OrUnknown(nameOfIp.GetValueOrDefault(ipOf[at]) ?? ""));
        }
        return names;
    }

    private static ReadOnlySpan<T> Values<T>(RecordBatch batch, string column) where T : struct
    {
        var data = batch.Column(column).Data;
        return MemoryMarshal.Cast<byte, T>(data.Buffers[1].Span).Slice(data.Offset, data.Length);
    }
}
