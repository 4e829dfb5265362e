using System.Text.Encodings.Web;
using System.Text.Json;
using MemNotebook.Recorder.Analysis;
using MemNotebook.Recorder.Arrow;

namespace MemNotebook.Recorder.Exports;

/// <summary>
/// Writes a capture as speedscope's file format (https://www.speedscope.app/file-format-schema.json):
/// three sampled profiles — allocated bytes, bytes alive at the peak, leaked bytes — each with one
/// sample per distinct stack (frames root first) weighted by its bytes. Native frames with DWARF lines
/// carry their file and line, and the functions inlined into them are frames of their own.
/// </summary>
public static class SpeedscopeExport
{
    // Bytes per stack from an aggregated capture's totals: allocated, alive at the peak, leaked.
    private static Dictionary<int, long>[] AggregatedBytesByStack(Capture capture)
    {
        var result = new[] { new Dictionary<int, long>(), new Dictionary<int, long>(), new Dictionary<int, long>() };
        foreach (var row in capture.AggregateRows)
        {
            long[] bytes = [row.Bytes, row.PeakBytes, row.LeakedBytes];
            for (int p = 0; p < bytes.Length; p++)
                result[p][row.StackId] = result[p].GetValueOrDefault(row.StackId) + bytes[p];
        }
        return result;
    }

    /// <summary>
    /// The most frame references the samples of a capture of <paramref name="captureBytes"/> bytes may hold: 16M, or
    /// 64 per byte of the capture (a stack is a handful of bytes per frame in the capture, its whole depth in the file).
    /// </summary>
    public static long MaxFrameReferences(long captureBytes) => Math.Max(1L << 24, 64 * Math.Max(0, captureBytes));

    /// <summary>Writes the capture; a capture whose samples would list more frames than <see cref="MaxFrameReferences"/> throws <see cref="InvalidDataException"/>.</summary>
    public static void Write(Capture capture, Stream output)
    {
        var stacks = capture.ArrowTable(ArrowLayout.Stacks);
        var parents = AllocationColumns.StackParents(stacks);
        var frameIndex = new Dictionary<(ulong, int), int>();
        var frameNames = new List<(string Name, string? File, int Line)>();
        var frameTable = capture.ArrowTable(ArrowLayout.Frames);
        var framesOfIp = AllocationColumns.FramesByIp(frameTable);
        // A notebook cell's entry stubs are left out of the stacks they pass through (Symbols.ScriptPlumbing); a stack
        // one ends keeps it. Counted below as frames all the same: the limit is an upper bound.
        var hidden = Symbols.ScriptPlumbing.HiddenIps(frameTable);
        var ipOf = AllocationColumns.StackIps(stacks);

        Stacks.ShownFrame[] FramesOfIp(ulong ip) => framesOfIp.GetValueOrDefault(ip) ?? AllocationColumns.UnlistedFrames(ip);

        // Frame j of an ip (innermost first: its inlined functions, then its own function; Stacks.StackFrames),
        // each with its file and line where DWARF gave them.
        int FrameOf(ulong ip, int j)
        {
            if (!frameIndex.TryGetValue((ip, j), out var index))
            {
                index = frameNames.Count;
                var frame = FramesOfIp(ip)[j];
                frameNames.Add((frame.NoLine is null ? frame.Name : frame.NameWithLocation, frame.File, frame.Line));
                frameIndex.Add((ip, j), index);
            }
            return index;
        }

        int FrameCount(ulong ip) => framesOfIp.TryGetValue(ip, out var frames) ? frames.Length : 1;

        string[] profileNames = ["allocated bytes", "alive at the peak", "leaked (alive at the end)"];
        var perStack = capture.IsAggregated
            ? AggregatedBytesByStack(capture)
            : new[] { capture.All, capture.Peak(), capture.Leaks() }
                .Select(view => view.ByStack().ToDictionary(kv => kv.Key, kv => kv.Value.Bytes)).ToArray();
        var samples = perStack.Select(bytes => bytes.Where(kv => kv.Value > 0).OrderBy(kv => kv.Key)
            .Select(kv => (StackId: kv.Key, Bytes: kv.Value)).ToArray()).ToArray();

        // Each sample lists its whole stack, so the file grows with stacks times depth, not with the stack nodes
        // the capture holds: the frames are numbered once per stack node, in the order a walk of every sample
        // from its leaf meets them, and the samples are written as they are walked, not held.
        var frameDepth = new long[parents.Length];
        var framed = new bool[parents.Length];
        long references = 0;
        var deepest = 0L;
        var chain = new List<int>();
        foreach (var profile in samples)
        {
            foreach (var (stackId, _) in profile)
            {
                chain.Clear();
                for (var id = stackId; id > 0 && id < parents.Length && !framed[id] && chain.Count <= Format.CaptureFormat.MaxStackDepth; id = parents[id])
                {
                    framed[id] = true;
                    chain.Add(id);
                    for (var j = 0; j < FrameCount(ipOf[id]) && !hidden.Contains(ipOf[id]); j++)
                        FrameOf(ipOf[id], j);
                }
                if (stackId > 0 && stackId < parents.Length && hidden.Contains(ipOf[stackId]))
                    FrameOf(ipOf[stackId], 0); // an entry stub that allocated: the sample's leaf
                var top = chain.Count == 0 ? stackId : parents[chain[^1]];
                var depth = top > 0 && top < parents.Length ? frameDepth[top] : 0;
                for (var i = chain.Count - 1; i >= 0; i--)
                    frameDepth[chain[i]] = depth += FrameCount(ipOf[chain[i]]);
                var frames = stackId > 0 && stackId < parents.Length ? frameDepth[stackId] : 0;
                references += frames;
                deepest = Math.Max(deepest, frames);
            }
        }
        var limit = MaxFrameReferences(capture.SourceBytes);
        if (references > limit)
            throw new InvalidDataException(string.Create(System.Globalization.CultureInfo.InvariantCulture,
                $"{capture.Path}: too large for speedscope: its {samples.Length} profiles would list {references:N0} frames in {samples.Sum(p => p.Length):N0} samples up to {deepest:N0} frames deep, more than the {limit:N0} a capture of {capture.SourceBytes:N0} bytes may expand to; the flame graph (memnb flamegraph) shares stack prefixes and shows it"));

        void WriteSample(Utf8JsonWriter json, int stackId)
        {
            chain.Clear();
            for (var id = stackId; id > 0 && id < parents.Length && chain.Count <= Format.CaptureFormat.MaxStackDepth; id = parents[id])
                chain.Add(id);
            json.WriteStartArray();
            for (var i = chain.Count - 1; i >= 0; i--)
            {
                var ip = ipOf[chain[i]];
                if (i > 0 && hidden.Contains(ip))
                    continue;
                for (var j = FrameCount(ip) - 1; j >= 0; j--)
                    json.WriteNumberValue(FrameOf(ip, j));
            }
            json.WriteEndArray();
            // The writer holds what it wrote until flushed.
            if (json.BytesPending > 1 << 20)
                json.Flush();
        }

        using var json = new Utf8JsonWriter(output, new JsonWriterOptions { Encoder = JavaScriptEncoder.Default });
        json.WriteStartObject();
        json.WriteString("$schema", "https://www.speedscope.app/file-format-schema.json");
        json.WriteString("name", Path.GetFileName(capture.Path));
        json.WriteString("exporter", "memnb");
        json.WriteNumber("activeProfileIndex", 1);
        json.WriteStartObject("shared");
        json.WriteStartArray("frames");
        foreach (var (name, file, line) in frameNames)
        {
            json.WriteStartObject();
            json.WriteString("name", name);
            if (file is not null)
                json.WriteString("file", file);
            if (line > 0)
                json.WriteNumber("line", line);
            json.WriteEndObject();
        }
        json.WriteEndArray();
        json.WriteEndObject();
        json.WriteStartArray("profiles");
        for (var p = 0; p < profileNames.Length; p++)
        {
            json.WriteStartObject();
            json.WriteString("type", "sampled");
            json.WriteString("name", profileNames[p]);
            json.WriteString("unit", "bytes");
            json.WriteNumber("startValue", 0);
            json.WriteNumber("endValue", samples[p].Sum(s => s.Bytes));
            json.WriteStartArray("samples");
            foreach (var (stackId, _) in samples[p])
                WriteSample(json, stackId);
            json.WriteEndArray();
            json.WriteStartArray("weights");
            foreach (var (_, bytes) in samples[p])
                json.WriteNumberValue(bytes);
            json.WriteEndArray();
            json.WriteEndObject();
        }
        json.WriteEndArray();
        json.WriteEndObject();
    }
}
