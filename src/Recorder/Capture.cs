using Apache.Arrow;
using MemNotebook.Recorder.Analysis;
using MemNotebook.Recorder.Arrow;
using Microsoft.Data.Analysis;

namespace MemNotebook;

/// <summary>
/// A capture loaded as DataFrames over its Arrow tables, with the analysis views every report uses.
/// <code>Capture.Load("app.memnb").Peak().TopFunctions(1)</code> names the function that allocated the
/// most bytes still alive at the high-water mark.
/// </summary>
/// <remarks>
/// The type lives in the <c>MemNotebook</c> namespace: <c>MemNotebook.Recorder.Capture</c> is the
/// namespace of the capture reader, and a type cannot share its name.
/// </remarks>
public sealed class Capture
{
    private readonly Dictionary<string, DataFrame> frames = new();
    private readonly Dictionary<string, RecordBatch> batches;

    private Capture(string path, string folder, CaptureMetadata metadata, Dictionary<string, RecordBatch> batches)
    {
        Path = path;
        ArrowFolder = folder;
        Metadata = metadata;
        this.batches = batches;
        Columns = new AllocationColumns(batches[ArrowLayout.Allocations], batches[ArrowLayout.Stacks],
            batches[ArrowLayout.Frames], batches[ArrowLayout.Types], batches[ArrowLayout.Threads]);
        All = new AllocationView(this, null, "all allocations");
        (PeakBytes, PeakTimeNs, PeakIsAtEnd) = FindPeak();
    }

    /// <summary>
    /// Loads a capture: a raw <c>.memnb</c> file (converted to Arrow once, cached in <c>x.memnb.arrow/</c>
    /// beside it) or such an Arrow folder. A bad capture throws <see cref="Recorder.Capture.CaptureFormatException"/>,
    /// a bad Arrow folder <see cref="InvalidDataException"/>, each naming the file.
    /// </summary>
    public static Capture Load(string path, IProgress<double>? progress = null)
    {
        string folder;
        if (Directory.Exists(path))
            folder = path;
        else if (File.Exists(path))
            folder = ArrowConverter.EnsureConverted(path, progress).Folder;
        else
            throw new FileNotFoundException($"{path}: no such capture or Arrow folder", path);
        var metadataPath = System.IO.Path.Combine(folder, ArrowLayout.MetadataFile);
        if (!File.Exists(metadataPath))
            throw new InvalidDataException($"{folder}: not a MemNotebook Arrow folder (no {ArrowLayout.MetadataFile})");
        var metadata = CaptureMetadata.Read(metadataPath);
        if (metadata.ArrowLayoutVersion > ArrowLayout.Version)
            throw new InvalidDataException($"{metadataPath}: written by a newer MemNotebook (Arrow layout {metadata.ArrowLayoutVersion}, this one reads {ArrowLayout.Version})");
        var loaded = new Dictionary<string, RecordBatch>();
        foreach (var table in ArrowLayout.TableNames)
        {
            var file = ArrowLayout.TablePath(folder, table);
            if (!File.Exists(file))
                throw new InvalidDataException($"{file}: missing table {table} of the Arrow folder {folder}");
            loaded[table] = ArrowTableReader.ReadTable(file, ArrowLayout.SchemaOf(table));
        }
        return new Capture(path, folder, metadata, loaded);
    }

    /// <summary>The path given to <see cref="Load"/>.</summary>
    public string Path { get; }

    /// <summary>The folder of the Arrow tables (the cache folder of a raw capture).</summary>
    public string ArrowFolder { get; }

    public CaptureMetadata Metadata { get; }
    public bool Complete => Metadata.Complete;
    public bool Truncated => Metadata.Truncated;
    public long DurationNs => Metadata.DurationNs;

    /// <summary>Tracked bytes alive at the high-water mark: the largest GC_START live_bytes, or END's.</summary>
    public long PeakBytes { get; }

    /// <summary>When the high-water mark was reached (ns since the start): the first GC start with the peak's live bytes, or the end.</summary>
    public long PeakTimeNs { get; }

    /// <summary>True when the high-water mark is the end of the capture (then <see cref="Peak"/> is <see cref="Leaks"/>).</summary>
    public bool PeakIsAtEnd { get; }

    /// <summary>
    /// id, thread_stream, os_thread_id, timestamp_ns, allocator, size, type_id, stack_id, address,
    /// freed_at_ns (null: alive at the end). Join type_id with <see cref="Types"/>, stack_id with <see cref="Stacks"/>.
    /// </summary>
    public DataFrame Allocations => Frame(ArrowLayout.Allocations);

    /// <summary>stack_id, parent_id (0: root), ip, depth, function (the function its allocations are charged to).</summary>
    public DataFrame Stacks => Frame(ArrowLayout.Stacks);

    /// <summary>ip, kind (managed, native, unknown), function, module, offset.</summary>
    public DataFrame Frames => Frame(ArrowLayout.Frames);

    /// <summary>type_id, class_id, name, is_array.</summary>
    public DataFrame Types => Frame(ArrowLayout.Types);

    /// <summary>thread_stream, os_thread_id, managed_thread_id, name.</summary>
    public DataFrame Threads => Frame(ArrowLayout.Threads);

    /// <summary>Memory snapshots: time_ns, rss_bytes, gen0..poh_bytes, tracked_live_bytes.</summary>
    public DataFrame Timeline => Frame(ArrowLayout.Timeline);

    /// <summary>gc_index, start_ns, end_ns, generations, reason, pause_ns, live_bytes_at_start, gen0..poh_bytes (after).</summary>
    public DataFrame GcEvents => Frame(ArrowLayout.GcEvents);

    /// <summary>Every allocation.</summary>
    public AllocationView All { get; }

    internal AllocationColumns Columns { get; }

    /// <summary>The Arrow record batch of a table (one per table, as loaded).</summary>
    public RecordBatch ArrowTable(string table) => batches[table];

    public AllocationView Peak() => All.Peak();
    public AllocationView Leaks() => All.Leaks();
    public AllocationView Temporary(int threshold = 1) => All.Temporary(threshold);
    public AllocationView Between(long t0Ns, long t1Ns) => All.Between(t0Ns, t1Ns);
    public AllocationView AliveAt(long timeNs) => All.AliveAt(timeNs);

    public DataFrame TopFunctions(int n = 10, Measure by = Measure.Bytes, Attribution attribution = Attribution.Own) =>
        All.TopFunctions(n, by, attribution);

    public DataFrame TopTypes(int n = 10, Measure by = Measure.Bytes) => All.TopTypes(n, by);
    public DataFrame SizeHistogram() => All.SizeHistogram();
    public DataFrame ByThread() => All.ByThread();

    /// <summary>What grew or shrank from this capture to <paramref name="other"/>, by function and type (all allocations).</summary>
    public DataFrame Diff(Capture other) => All.Diff(other.All);

    /// <summary>The numbers of <c>memnb stats</c>, computed from the tables (they agree with the streaming <see cref="CaptureStats.Compute(string, int, Recorder.Capture.CaptureReaderOptions?)"/>).</summary>
    public CaptureStats Stats(int top = CaptureStats.DefaultTop)
    {
        var leaks = Leaks();
        var leakedByType = leaks.TopTypes(int.MaxValue);
        var leaked = Rows(leakedByType, "type");
        var types = Rows(TopTypes(int.MaxValue), "type")
            .Select(t =>
            {
                var l = leaked.GetValueOrDefault(t.Key);
                return new TypeStats(t.Key, t.Value.Count, t.Value.Bytes, l.Count, l.Bytes);
            })
            .OrderByDescending(t => t.Bytes).ThenByDescending(t => t.Count).ThenBy(t => t.Type, StringComparer.Ordinal)
            .ToArray();
        var functions = Rows(TopFunctions(top), "function").Select(f => new FunctionStats(f.Key, f.Value.Count, f.Value.Bytes)).ToArray();
        var byThread = ByThread();
        var threadTotals = new Dictionary<int, (long Count, long Bytes)>();
        for (long i = 0; i < byThread.Rows.Count; i++)
            threadTotals[(int)byThread["thread_stream"][i]] = ((long)byThread["count"][i], (long)byThread["bytes"][i]);
        var threads = Columns.Threads
            .Select(t =>
            {
                var totals = threadTotals.GetValueOrDefault(t.Stream);
                return new ThreadStats((ulong)t.OsThreadId, t.Name, totals.Count, totals.Bytes);
            })
            .OrderByDescending(t => t.Bytes).ThenByDescending(t => t.Count).ThenBy(t => t.Id)
            .ToArray();
        var total = All.Bytes;
        var gcStarts = GcEvents["start_ns"];
        return new CaptureStats
        {
            Path = Path,
            FormatVersion = Metadata.FormatVersion,
            Complete = Metadata.Complete,
            Truncated = Metadata.Truncated,
            TruncatedAtOffset = Metadata.TruncatedAtOffset,
            TruncationReason = Metadata.TruncationReason,
            TotalAllocations = All.Count,
            TotalBytes = total,
            PeakBytes = PeakBytes,
            LeakedAllocations = leaks.Count,
            LeakedBytes = leaks.Bytes,
            FreedAllocations = All.Count - leaks.Count,
            FreedBytes = total - leaks.Bytes,
            DurationMs = Metadata.DurationNs / 1e6,
            DurationEstimated = Metadata.ClockEstimated,
            GcCount = gcStarts.Length - gcStarts.NullCount,
            Dropped = Metadata.EndDropped ?? 0,
            ByType = types,
            TopFunctions = functions,
            Threads = threads,
        };
    }

    public override string ToString() =>
        $"{Path}: {All.Count:N0} allocations ({ByteUnits.Format(All.Bytes)}), peak {ByteUnits.Format(PeakBytes)}, " +
        $"{Leaks().Count:N0} leaked";

    private static Dictionary<string, (long Count, long Bytes)> Rows(DataFrame ranked, string key)
    {
        var rows = new Dictionary<string, (long, long)>(StringComparer.Ordinal);
        for (long i = 0; i < ranked.Rows.Count; i++)
            rows[(string)ranked[key][i]] = ((long)ranked["count"][i], (long)ranked["bytes"][i]);
        return rows;
    }

    /// <summary>
    /// The high-water mark as the format defines it: managed objects die only in a GC, so live bytes
    /// peak at a GC start or at the end. The earliest of equal candidates wins.
    /// </summary>
    private (long Bytes, long TimeNs, bool AtEnd) FindPeak()
    {
        var gcs = batches[ArrowLayout.GcEvents];
        var starts = (Int64Array)gcs.Column("start_ns");
        var live = (Int64Array)gcs.Column("live_bytes_at_start");
        long bestBytes = 0, bestTime = 0;
        var found = false;
        for (var i = 0; i < gcs.Length; i++)
        {
            if (starts.GetValue(i) is not long start)
                continue;
            var bytes = live.GetValue(i)!.Value;
            if (!found || bytes > bestBytes || (bytes == bestBytes && start < bestTime))
                (bestBytes, bestTime, found) = (bytes, start, true);
        }
        var endLive = Metadata.EndLiveBytes ?? All.Leaks().Bytes;
        if (!found || endLive > bestBytes)
            return (endLive, Metadata.DurationNs, true);
        return (bestBytes, bestTime, false);
    }

    private DataFrame Frame(string table)
    {
        if (frames.TryGetValue(table, out var frame))
            return frame;
        frame = DataFrames.FromArrow(batches[table]);
        frames[table] = frame;
        return frame;
    }
}
