using System.Text.Encodings.Web;
using System.Text.Json;

namespace MemNotebook.Recorder.Analysis;

/// <summary>Writes <see cref="CaptureStats"/> as the JSON of <c>memnb stats --json</c> (snake_case, fixed field set).</summary>
public static class StatsJson
{
    public static void Write(CaptureStats stats, Stream output, bool indented = true)
    {
        // The default encoder escapes '<', '>' and '&' too, so the JSON is safe to embed in HTML.
        using var json = new Utf8JsonWriter(output, new JsonWriterOptions { Indented = indented, Encoder = JavaScriptEncoder.Default });
        json.WriteStartObject();
        json.WriteNumber("format_version", stats.FormatVersion);
        json.WriteBoolean("aggregated", stats.Aggregated);
        json.WriteBoolean("complete", stats.Complete);
        json.WriteBoolean("truncated", stats.Truncated);
        json.WriteNumber("total_allocations", stats.TotalAllocations);
        json.WriteNumber("total_bytes", stats.TotalBytes);
        json.WriteBoolean("sampled", stats.Sampled);
        json.WriteNumber("estimated_bytes", stats.EstimatedBytes);
        json.WriteNumber("peak_bytes", stats.PeakBytes);
        json.WriteNumber("leaked_allocations", stats.LeakedAllocations);
        json.WriteNumber("leaked_bytes", stats.LeakedBytes);
        json.WriteNumber("freed_allocations", stats.FreedAllocations);
        json.WriteNumber("freed_bytes", stats.FreedBytes);
        json.WriteNumber("duration_ms", stats.DurationMs);
        json.WriteNumber("gc_count", stats.GcCount);
        json.WriteStartArray("by_type");
        foreach (var t in stats.ByType)
        {
            json.WriteStartObject();
            json.WriteString("type", t.Type);
            json.WriteNumber("count", t.Count);
            json.WriteNumber("bytes", t.Bytes);
            json.WriteNumber("leaked_count", t.LeakedCount);
            json.WriteNumber("leaked_bytes", t.LeakedBytes);
            json.WriteEndObject();
        }
        json.WriteEndArray();
        json.WriteStartArray("top_functions");
        foreach (var f in stats.TopFunctions)
        {
            json.WriteStartObject();
            json.WriteString("function", f.Function);
            json.WriteNumber("count", f.Count);
            json.WriteNumber("bytes", f.Bytes);
            json.WriteEndObject();
        }
        json.WriteEndArray();
        json.WriteStartArray("by_allocator");
        foreach (var a in stats.ByAllocator)
        {
            json.WriteStartObject();
            json.WriteString("allocator", a.Allocator);
            json.WriteNumber("count", a.Count);
            json.WriteNumber("bytes", a.Bytes);
            json.WriteEndObject();
        }
        json.WriteEndArray();
        json.WriteStartArray("top_stacks");
        foreach (var s in stats.TopStacks)
        {
            json.WriteStartObject();
            json.WriteStartArray("frames");
            foreach (var frame in s.Frames)
                json.WriteStringValue(frame);
            json.WriteEndArray();
            json.WriteNumber("count", s.Count);
            json.WriteNumber("bytes", s.Bytes);
            json.WriteEndObject();
        }
        json.WriteEndArray();
        json.WriteStartArray("threads");
        foreach (var t in stats.Threads)
        {
            json.WriteStartObject();
            json.WriteNumber("id", t.Id);
            if (t.Name is null)
                json.WriteNull("name");
            else
                json.WriteString("name", t.Name);
            json.WriteNumber("count", t.Count);
            json.WriteNumber("bytes", t.Bytes);
            json.WriteEndObject();
        }
        json.WriteEndArray();
        json.WriteEndObject();
    }

    public static string ToJson(CaptureStats stats, bool indented = true)
    {
        using var buffer = new MemoryStream();
        Write(stats, buffer, indented);
        return System.Text.Encoding.UTF8.GetString(buffer.ToArray());
    }
}
