using System.Text.Encodings.Web;
using System.Text.Json;
using MemNotebook.Recorder.Analysis;
using MemNotebook.Recorder.Arrow;

namespace MemNotebook.Recorder.Exports;

/// <summary>
/// Writes a capture as speedscope's file format (https://www.speedscope.app/file-format-schema.json):
/// three sampled profiles — allocated bytes, bytes alive at the peak, leaked bytes — each with one
/// sample per distinct stack (frames root first) weighted by its bytes.
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
        var frameIndex = new Dictionary<ulong, int>();
        var frameNames = new List<string>();
        var names = AllocationColumns.FrameNames(capture.ArrowTable(ArrowLayout.Frames));
        var ipOf = AllocationColumns.StackIps(stacks);

        int FrameOf(ulong ip)
        {
            if (!frameIndex.TryGetValue(ip, out var index))
            {
                index = frameNames.Count;
                frameNames.Add(names.TryGetValue(ip, out var name) ? name : $"0x{ip:x}");
                frameIndex.Add(ip, index);
            }
            return index;
        }

        List<int> SampleOf(int stackId)
        {
            var frames = new List<int>();
            for (var id = stackId; id > 0 && id < parents.Length && frames.Count <= Capture.CaptureFormat.MaxStackDepth; id = parents[id])
                frames.Add(FrameOf(ipOf[id]));
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
        foreach (var name in frameNames)
        {
            json.WriteStartObject();
            json.WriteString("name", name);
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
