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
        if (stats.Sampled)
        {
            json.WriteNumber("exact_large_objects", stats.ExactLargeObjects);
            json.WriteNumber("exact_large_bytes", stats.ExactLargeBytes);
        }
        json.WriteNumber("peak_bytes", stats.PeakBytes);
        if (stats.Native)
        {
            json.WriteBoolean("native", true);
            json.WriteNumber("native_peak_bytes", stats.NativePeakBytes);
            json.WriteNumber("native_peak_time_ns", stats.NativePeakTimeNs);
        }
        json.WriteNumber("leaked_allocations", stats.LeakedAllocations);
        json.WriteNumber("leaked_bytes", stats.LeakedBytes);
        json.WriteNumber("freed_allocations", stats.FreedAllocations);
        json.WriteNumber("freed_bytes", stats.FreedBytes);
        json.WriteNumber("duration_ms", stats.DurationMs);
        json.WriteNumber("gc_count", stats.GcCount);
        Section(json, "by_type", stats.ByType, t =>
        {
            json.WriteString("type", t.Type);
            Totals(json, t.Count, t.Bytes);
            json.WriteNumber("leaked_count", t.LeakedCount);
            json.WriteNumber("leaked_bytes", t.LeakedBytes);
        });
        Section(json, "top_functions", stats.TopFunctions, f =>
        {
            json.WriteString("function", f.Function);
            Totals(json, f.Count, f.Bytes);
        });
        Section(json, "by_allocator", stats.ByAllocator, a =>
        {
            json.WriteString("allocator", a.Allocator);
            Totals(json, a.Count, a.Bytes);
        });
        Section(json, "top_stacks", stats.TopStacks, s =>
        {
            json.WriteStartArray("frames");
            foreach (var frame in s.Frames)
                json.WriteStringValue(frame);
            json.WriteEndArray();
            Totals(json, s.Count, s.Bytes);
        });
        Section(json, "threads", stats.Threads, t =>
        {
            json.WriteNumber("id", t.Id);
            if (t.Name is null)
                json.WriteNull("name");
            else
                json.WriteString("name", t.Name);
            Totals(json, t.Count, t.Bytes);
        });
        json.WriteEndObject();
    }

    /// <summary>An array of one object per item, its fields written by <paramref name="fields"/>.</summary>
    private static void Section<T>(Utf8JsonWriter json, string name, IEnumerable<T> items, Action<T> fields)
    {
        json.WriteStartArray(name);
        foreach (var item in items)
        {
            json.WriteStartObject();
            fields(item);
            json.WriteEndObject();
        }
        json.WriteEndArray();
    }

    private static void Totals(Utf8JsonWriter json, long count, long bytes)
    {
        json.WriteNumber("count", count);
        json.WriteNumber("bytes", bytes);
    }

    public static string ToJson(CaptureStats stats, bool indented = true)
    {
        using var buffer = new MemoryStream();
        Write(stats, buffer, indented);
        return System.Text.Encoding.UTF8.GetString(buffer.ToArray());
    }
}
