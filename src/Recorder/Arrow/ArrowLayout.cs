using Apache.Arrow;
using Apache.Arrow.Types;

namespace MemNotebook.Recorder.Arrow;

/// <summary>
/// The Arrow tables of a converted capture (docs/capture-format.md, "Arrow tables"): one IPC file per
/// table in a folder, plus capture.json with what is not a table (header, END, truncation, clock).
/// </summary>
public static class ArrowLayout
{
    /// <summary>Bumped when a table or column changes; a cached folder of another version is rebuilt.</summary>
    public const int Version = 9;

    public const string Allocations = "allocations";
    public const string Stacks = "stacks";
    public const string Frames = "frames";
    public const string Types = "types";
    public const string Threads = "threads";
    public const string Timeline = "timeline";
    public const string GcEvents = "gc_events";
    public const string Aggregates = "aggregates";
    public const string MetadataFile = "capture.json";
    public const string FileExtension = ".arrow";

    public static readonly string[] TableNames = [Allocations, Stacks, Frames, Types, Threads, Timeline, GcEvents];

    /// <summary>The tables of an aggregated capture: <see cref="Aggregates"/> instead of <see cref="Allocations"/>.</summary>
    public static readonly string[] AggregatedTableNames = [Aggregates, Stacks, Frames, Types, Threads, Timeline, GcEvents];

    public static string[] TableNamesFor(bool aggregated) => aggregated ? AggregatedTableNames : TableNames;

    /// <summary>Rows per record batch of the allocations table: the conversion holds one batch at a time.</summary>
    public const int BatchRows = 64 * 1024;

    public static string TablePath(string folder, string table) => Path.Combine(folder, table + FileExtension);

    /// <summary>The cache folder of a capture: <c>x.memnb</c> → <c>x.memnb.arrow/</c>.</summary>
    public static string CacheFolder(string capturePath) => Path.GetFullPath(capturePath) + ".arrow";

    /// <summary>
    /// The allocator column's type: dictionary-encoded strings, the index being the allocator kind
    /// (0 managed, 1 malloc … 9 mmap) — one byte a row instead of a string and its offset.
    /// </summary>
    public static readonly DictionaryType AllocatorType = new(Int8Type.Default, StringType.Default, ordered: false);

    /// <summary>
    /// The allocator column's dictionary: every allocator name, at the index of its kind. Its buffers are
    /// managed arrays, so a batch disposed after writing does not free what the next batches share.
    /// </summary>
    public static StringArray AllocatorDictionary()
    {
        var names = Format.CaptureFormat.AllAllocatorNames.Select(System.Text.Encoding.UTF8.GetBytes).ToArray();
        var offsets = new int[names.Length + 1];
        for (var i = 0; i < names.Length; i++)
            offsets[i + 1] = offsets[i] + names[i].Length;
        return new StringArray(names.Length, new ArrowBuffer(System.Runtime.InteropServices.MemoryMarshal.AsBytes(offsets.AsSpan()).ToArray()),
            new ArrowBuffer(names.SelectMany(n => n).ToArray()), ArrowBuffer.Empty);
    }

    /// <summary>
    /// The stacks table's function column: dictionary-encoded strings (an int32 index a node into the distinct
    /// functions), so a capture of millions of stack nodes does not write and read a name per node.
    /// </summary>
    public static readonly DictionaryType FunctionType = new(Int32Type.Default, StringType.Default, ordered: false);

    public static readonly Schema AllocationsSchema = new Schema.Builder()
        .Field(F("id", Int64Type.Default))
        .Field(F("thread_stream", Int32Type.Default))
        .Field(F("os_thread_id", Int64Type.Default))
        .Field(F("timestamp_ns", Int64Type.Default))
        .Field(F("allocator", AllocatorType))
        .Field(F("size", Int64Type.Default))
        .Field(F("type_id", Int32Type.Default))
        .Field(F("stack_id", Int32Type.Default))
        .Field(F("address", UInt64Type.Default))
        .Field(F("freed_at_ns", Int64Type.Default, nullable: true))
        .Field(F("sampled", BooleanType.Default))
        .Build();

    public static readonly Schema StacksSchema = new Schema.Builder()
        .Field(F("stack_id", Int32Type.Default))
        .Field(F("parent_id", Int32Type.Default))
        .Field(F("ip", UInt64Type.Default))
        .Field(F("depth", Int32Type.Default))
        .Field(F("function", FunctionType))
        .Build();

    public static readonly Schema FramesSchema = new Schema.Builder()
        .Field(F("ip", UInt64Type.Default))
        .Field(F("kind", StringType.Default))
        .Field(F("function", StringType.Default))
        .Field(F("module", StringType.Default))
        .Field(F("offset", UInt64Type.Default))
        .Field(F("file", StringType.Default, nullable: true))
        .Field(F("line", Int32Type.Default, nullable: true))
        .Field(F("inlined", StringType.Default, nullable: true))
        .Field(F("raw_function", StringType.Default))
        .Field(F("no_line", StringType.Default, nullable: true))
        .Build();

    public static readonly Schema TypesSchema = new Schema.Builder()
        .Field(F("type_id", Int32Type.Default))
        .Field(F("class_id", UInt64Type.Default))
        .Field(F("name", StringType.Default))
        .Field(F("is_array", BooleanType.Default))
        .Build();

    public static readonly Schema ThreadsSchema = new Schema.Builder()
        .Field(F("thread_stream", Int32Type.Default))
        .Field(F("os_thread_id", Int64Type.Default))
        .Field(F("managed_thread_id", UInt64Type.Default))
        .Field(F("name", StringType.Default, nullable: true))
        .Build();

    public static readonly Schema TimelineSchema = new Schema.Builder()
        .Field(F("time_ns", Int64Type.Default))
        .Field(F("rss_bytes", Int64Type.Default))
        .Field(F("gen0_bytes", Int64Type.Default))
        .Field(F("gen1_bytes", Int64Type.Default))
        .Field(F("gen2_bytes", Int64Type.Default))
        .Field(F("loh_bytes", Int64Type.Default))
        .Field(F("poh_bytes", Int64Type.Default))
        .Field(F("tracked_live_bytes", Int64Type.Default))
        .Build();

    public static readonly Schema GcEventsSchema = new Schema.Builder()
        .Field(F("gc_index", Int64Type.Default))
        .Field(F("start_ns", Int64Type.Default, nullable: true))
        .Field(F("end_ns", Int64Type.Default, nullable: true))
        .Field(F("generations", Int32Type.Default))
        .Field(F("reason", Int32Type.Default))
        .Field(F("pause_ns", Int64Type.Default, nullable: true))
        .Field(F("live_bytes_at_start", Int64Type.Default))
        .Field(F("gen0_bytes", Int64Type.Default))
        .Field(F("gen1_bytes", Int64Type.Default))
        .Field(F("gen2_bytes", Int64Type.Default))
        .Field(F("loh_bytes", Int64Type.Default))
        .Field(F("poh_bytes", Int64Type.Default))
        .Build();

    /// <summary>One row per (stack, type) of an aggregated capture's last AGG_TABLE; leaked = alive when it was written.</summary>
    public static readonly Schema AggregatesSchema = new Schema.Builder()
        .Field(F("stack_id", Int32Type.Default))
        .Field(F("function", StringType.Default))
        .Field(F("type", StringType.Default))
        .Field(F("count", Int64Type.Default))
        .Field(F("bytes", Int64Type.Default))
        .Field(F("peak_count", Int64Type.Default))
        .Field(F("peak_bytes", Int64Type.Default))
        .Field(F("leaked_count", Int64Type.Default))
        .Field(F("leaked_bytes", Int64Type.Default))
        .Build();

    public static Schema SchemaOf(string table) => table switch
    {
        Aggregates => AggregatesSchema,
        Allocations => AllocationsSchema,
        Stacks => StacksSchema,
        Frames => FramesSchema,
        Types => TypesSchema,
        Threads => ThreadsSchema,
        Timeline => TimelineSchema,
        GcEvents => GcEventsSchema,
        _ => throw new ArgumentException($"no table named {table}", nameof(table)),
    };

    public static string KindName(Format.FrameKind kind) => kind switch
    {
        Format.FrameKind.Managed => "managed",
        Format.FrameKind.Native => "native",
        _ => "unknown",
    };

    private static Field F(string name, IArrowType type, bool nullable = false) => new(name, type, nullable);
}
