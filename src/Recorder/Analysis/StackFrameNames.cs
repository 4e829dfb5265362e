using System.Runtime.InteropServices;
using Apache.Arrow;

namespace MemNotebook.Recorder.Analysis;

/// <summary>The function names of each stack from the stacks and frames tables (innermost first).</summary>
internal sealed class StackFrameNames
{
    private readonly Dictionary<ulong, string> nameOfIp = new();
    private readonly int[] parentOf;
    private readonly ulong[] ipOf;

    public StackFrameNames(RecordBatch stacks, RecordBatch frames)
    {
        var frameIps = Values<ulong>(frames, "ip");
        var functions = (StringArray)frames.Column("function");
        for (var i = 0; i < frameIps.Length; i++)
            nameOfIp[frameIps[i]] = functions.GetString(i) ?? "";
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
        for (var at = stackId; at > 0 && at < parentOf.Length && names.Count <= Capture.CaptureFormat.MaxStackDepth; at = parentOf[at])
            names.Add(CaptureStats.FrameName(nameOfIp.GetValueOrDefault(ipOf[at]) ?? ""));
        return names;
    }

    private static ReadOnlySpan<T> Values<T>(RecordBatch batch, string column) where T : struct
    {
        var data = batch.Column(column).Data;
        return MemoryMarshal.Cast<byte, T>(data.Buffers[1].Span).Slice(data.Offset, data.Length);
    }
}
