using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace MemNotebook.Recorder.Reports;

/// <summary>
/// A <see cref="FlameTree"/> as nested JSON (<c>{"name", "kind", "total", "own", "count", "own_count", "t", "children"}</c>; <c>t</c>, with time buckets only, holds the own allocations per bucket as flat (bucket, count, bytes) triples),
/// the data a flame-graph page embeds. Safe inside an HTML <c>&lt;script type="application/json"&gt;</c>
/// block: the encoder escapes <c>&lt;</c>, <c>&gt;</c>, <c>&amp;</c>, quotes and everything outside ASCII
/// (U+2028 and U+2029 included), so no name can close the block or open a comment.
/// </summary>
public static class FlameJson
{
    private static readonly JsonWriterOptions Options = new()
    {
        Encoder = JavaScriptEncoder.Default,
        // Two levels (object, children array) per frame, for the deepest stack a capture holds.
        MaxDepth = 2 * (Format.CaptureFormat.MaxStackDepth + 4),
    };

    public static void Write(FlameTree tree, Stream output)
    {
        using var json = new Utf8JsonWriter(output, Options);
        json.WriteStartObject();
        json.WriteString("mode", tree.Selection.Mode.ToString().ToLowerInvariant());
        if (tree.Selection.Mode == ReportMode.Temporary)
            json.WriteNumber("temporary_threshold", tree.Selection.TemporaryThreshold);
        json.WriteString("description", tree.Description);
        json.WriteBoolean("inverted", tree.Inverted);
        json.WriteBoolean("split_threads", tree.SplitThreads);
        json.WriteNumber("total_bytes", tree.TotalBytes);
        json.WriteNumber("count", tree.Count);
        if (tree.Time is { } time)
        {
            json.WriteStartObject("time");
            json.WriteNumber("buckets", time.Buckets);
            json.WriteNumber("bucket_ns", time.BucketNs);
            json.WriteNumber("duration_ns", time.DurationNs);
            json.WriteEndObject();
        }
        json.WritePropertyName("root");
        WriteNode(json, tree.Root);
        json.WriteEndObject();
    }

    public static string ToJson(FlameTree tree)
    {
        using var buffer = new MemoryStream();
        Write(tree, buffer);
        return Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
    }

    private static void WriteNode(Utf8JsonWriter json, FlameNode node)
    {
        json.WriteStartObject();
        json.WriteString("name", node.Name);
        json.WriteString("kind", node.Kind.ToString().ToLowerInvariant());
        json.WriteNumber("total", node.TotalBytes);
        json.WriteNumber("own", node.OwnBytes);
        json.WriteNumber("count", node.Count);
        json.WriteNumber("own_count", node.OwnCount);
        if (node.OwnByTimeBucket is { Count: > 0 } buckets)
        {
            // Flat (bucket, count, bytes) triples, buckets ascending (as OwnByTimeBucket holds them).
            json.WriteStartArray("t");
            foreach (var (bucket, count, bytes) in buckets)
            {
                json.WriteNumberValue(bucket);
                json.WriteNumberValue(count);
                json.WriteNumberValue(bytes);
            }
            json.WriteEndArray();
        }
        if (node.Children.Count > 0)
        {
            json.WriteStartArray("children");
            foreach (var child in node.Children)
                WriteNode(json, child);
            json.WriteEndArray();
        }
        json.WriteEndObject();
    }
}
