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
    private static Dictionary<int, long>[] AggregatedBytesByStack(global::MemNotebook.Capture capture)
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

    public static void Write(global::MemNotebook.Capture capture, Stream output)
    {
        var stacks = capture.ArrowTable(ArrowLayout.Stacks);
        var parents = AllocationColumns.StackParents(stacks);
        var frameIndex = new Dictionary<(ulong, int), int>();
        var frameNames = new List<(string Name, string? File, int Line)>();
        var frameTable = capture.ArrowTable(ArrowLayout.Frames);
        var names = AllocationColumns.FrameNames(frameTable);
        var sources = AllocationColumns.SourceFrames(frameTable);
        var ipOf = AllocationColumns.StackIps(stacks);

        // Frame j of an ip: its inlined functions innermost first (named "function [inlined]"), then its own
        // function, each with its file and line where DWARF gave them.
        int FrameOf(ulong ip, int j)
        {
            if (!frameIndex.TryGetValue((ip, j), out var index))
            {
                index = frameNames.Count;
                var name = names.TryGetValue(ip, out var known) ? known : $"0x{ip:x}";
                frameNames.Add(sources.TryGetValue(ip, out var source)
                    ? (j < source.Length - 1 ? Capture.CaptureTables.InlinedName(source[j].Function ?? "") : name, source[j].File, source[j].Line)
                    : (name, null, 0));
                frameIndex.Add((ip, j), index);
            }
            return index;
        }

        List<int> SampleOf(int stackId)
        {
            var frames = new List<int>();
            var depth = 0;
            for (var id = stackId; id > 0 && id < parents.Length && depth <= Capture.CaptureFormat.MaxStackDepth; id = parents[id], depth++)
            {
                var count = sources.TryGetValue(ipOf[id], out var source) ? source.Length : 1;
                for (var j = 0; j < count; j++)
                    frames.Add(FrameOf(ipOf[id], j));
            }
            frames.Reverse();
            return frames;
        }

        string[] profileNames = ["allocated bytes", "alive at the peak", "leaked (alive at the end)"];
        var perStack = capture.IsAggregated
            ? AggregatedBytesByStack(capture)
            : new[] { capture.All, capture.Peak(), capture.Leaks() }
                .Select(view => view.ByStack().ToDictionary(kv => kv.Key, kv => kv.Value.Bytes)).ToArray();
        var samples = perStack.Select(bytes => bytes.Where(kv => kv.Value > 0).OrderBy(kv => kv.Key)
            .Select(kv => (Frames: SampleOf(kv.Key), Bytes: kv.Value)).ToArray()).ToArray();

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
            foreach (var (frames, _) in samples[p])
            {
                json.WriteStartArray();
                foreach (var f in frames)
                    json.WriteNumberValue(f);
                json.WriteEndArray();
            }
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
