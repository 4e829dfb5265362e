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
/// The type lives in the <c>MemNotebook</c> namespace, so code in <c>MemNotebook.Recorder.*</c> names it
/// <c>Capture</c>; the capture file's reader, records and tables are in <c>MemNotebook.Recorder.Format</c>.
/// </remarks>
public sealed class Capture
{
    private readonly Dictionary<string, DataFrame> frames = new();
    // What a capture holds once its tables are loaded: built by the constructor, or on first use for a capture
    // made with LoadLazily (the reports of a notebook cell come from a streaming pass; the tables wait for the user).
    private readonly Lazy<Tables> tables;
    private AllocationView? allView;
    private readonly Lazy<(long Bytes, long TimeNs, bool AtEnd)> peak;
    private AggregateEntry[]? aggregateRows;
    private DataFrame? aggregates;

    /// <summary>The loaded tables: the Arrow folder, its metadata and batches; the whole capture and its rows when scoped.</summary>
    private sealed record Tables(string Folder, CaptureMetadata Metadata, Dictionary<string, RecordBatch> Batches,
        AllocationColumns? Columns, Capture? Unscoped, int[]? ScopeRows);

    private Dictionary<string, RecordBatch> batches => tables.Value.Batches;
    private AllocationColumns? columns => tables.Value.Columns;
    private Capture? unscoped => tables.Value.Unscoped;
    private int[]? scopeRows => tables.Value.ScopeRows;

    private AllocationView? all => IsAggregated ? null : allView ??= new AllocationView(this, scopeRows, Scope ?? "all allocations");

    private (long Bytes, long TimeNs, bool AtEnd) PeakOf => peak.Value;

    private (long Bytes, long TimeNs, bool AtEnd) ComputePeak() =>
        IsAggregated ? FindAggregatedPeak(Metadata.AggregatePeakBytes ?? 0) : scopeRows is { } rows ? FindScopedPeak(rows) : FindPeak();

    private Capture(string path, string folder, CaptureMetadata metadata, Dictionary<string, RecordBatch> batches)
    {
        Path = path;
        var columns = metadata.Aggregated ? null
            : new AllocationColumns(batches[ArrowLayout.Allocations], batches[ArrowLayout.Stacks],
                batches[ArrowLayout.Frames], batches[ArrowLayout.Types], batches[ArrowLayout.Threads]);
        tables = new Lazy<Tables>(new Tables(folder, metadata, batches, columns, null, null));
        peak = new(ComputePeak);
    }

    /// <summary>A scoped capture: the same tables, with <see cref="All"/> limited to <paramref name="rows"/>.</summary>
    private Capture(Capture whole, int[] rows, string scope)
    {
        Path = whole.Path;
        tables = new Lazy<Tables>(ScopedTables(whole, rows));
        peak = new(ComputePeak);
        Scope = scope;
    }

    private static Tables ScopedTables(Capture whole, int[] rows) =>
        new(whole.ArrowFolder, whole.Metadata, whole.batches, whole.columns, whole, rows);

    /// <summary>A capture whose tables are loaded (and scoped) when first used, by <paramref name="load"/>.</summary>
    private Capture(string path, string? scope, Func<string, bool>? scopeFrame, Func<Capture> load)
    {
        Path = path;
        Scope = scope;
        ScopeFrame = scopeFrame;
        tables = new Lazy<Tables>(() =>
        {
            var whole = load();
            return scopeFrame is null || whole.IsAggregated ? whole.tables.Value : ScopedTables(whole, whole.ScopedRows(scopeFrame));
        }, LazyThreadSafetyMode.ExecutionAndPublication);
        peak = new(ComputePeak);
    }

    /// <summary>
    /// The capture at <paramref name="path"/> as <see cref="Load"/> gives it, scoped as <see cref="Within"/> scopes when
    /// <paramref name="scopeFrame"/> is given (<see cref="WithinSubmissions"/>: <see cref="IsSubmissionFrame"/>,
    /// <see cref="SubmissionScope"/>), with its tables loaded — converted to Arrow the first time — only when a member
    /// first needs them (or <see cref="EnsureLoaded"/> is called). What a <c>#!memprofile</c> cell's variable holds: its
    /// reports come from a streaming pass over the capture file (<see cref="ScopedPass"/>), so nothing waits for the
    /// tables. An error loading them is thrown by the member that needed them.
    /// </summary>
    public static Capture LoadLazily(string path, Func<string, bool>? scopeFrame = null, string? scope = null,
        ArrowCacheLocation cache = ArrowCacheLocation.Default, IProgress<double>? progress = null)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (scopeFrame is not null)
            ArgumentNullException.ThrowIfNull(scope);
        return new Capture(path, scopeFrame is null ? null : scope, scopeFrame, () => Load(path, progress, cache: cache));
    }

    /// <summary>True once the tables are loaded (always, except for a capture of <see cref="LoadLazily"/> not yet used).</summary>
    public bool IsLoaded => tables.IsValueCreated;

    /// <summary>Loads the tables now if they are not (<see cref="LoadLazily"/>); returns this capture.</summary>
    public Capture EnsureLoaded()
    {
        _ = tables.Value;
        return this;
    }

    /// <summary>
    /// What this capture is limited to, e.g. "allocations made by the cell's code"; null for the whole capture.
    /// </summary>
    public string? Scope { get; }

    /// <summary>The whole capture this one is scoped from (itself when it is not scoped).</summary>
    public Capture Unscoped => unscoped ?? this;

    /// <summary>
    /// The allocations made while a frame whose function matches <paramref name="function"/> was on the
    /// stack, as a capture of their own: <see cref="All"/>, every view, ranking and report, the
    /// <see cref="Allocations"/> table and the peak (the high-water mark of these allocations alone:
    /// their live bytes at each GC start and at the end) cover those allocations only. The memory
    /// timeline, GC events and metadata stay the process's. <c>#!memprofile</c> scopes a cell's capture
    /// to the frames of the cell's code (<c>Submission#N…</c>), leaving out the kernel compiling it.
    /// </summary>
    public Capture Within(Func<string, bool> function, string scope)
    {
        ArgumentNullException.ThrowIfNull(function);
        var whole = Unscoped;
        return new Capture(whole, whole.ScopedRows(function), scope) { ScopeFrame = function };
    }

    /// <summary>The rows of this (whole) capture's allocations with a frame matching <paramref name="function"/> on the stack.</summary>
    private int[] ScopedRows(Func<string, bool> function)
    {
        var whole = this;
        var c = whole.Columns;
        var parents = c.StackParents();
        var ips = c.StackIps();
        var names = c.FrameNames();
        var matches = new sbyte[parents.Length]; // 0 unknown, 1 yes, -1 no
        // One path buffer for every lookup: a capture of millions of rows is scoped without an allocation per row
        // (in a traced kernel every allocation takes the runtime's slow path).
        var path = new List<int>();
        bool Matches(int stack)
        {
            if ((uint)stack < (uint)matches.Length && matches[stack] != 0)
                return matches[stack] > 0;
            path.Clear();
            var result = false;
            for (var s = stack; s > 0 && s < parents.Length; s = parents[s])
            {
                if (matches[s] != 0)
                {
                    result = matches[s] > 0;
                    break;
                }
                path.Add(s);
                if (names.TryGetValue(ips[s], out var name) && function(name))
                {
                    result = true;
                    break;
                }
            }
            foreach (var s in path)
                matches[s] = (sbyte)(result ? 1 : -1);
            return result;
        }
        var stacks = c.StackId;
        var rows = new List<int>();
        for (var r = 0; r < c.Count; r++)
            if (Matches(stacks[r]))
                rows.Add(r);
        return rows.ToArray();
    }

    /// <summary>
    /// The allocations of <paramref name="rows"/> (rows of the whole capture's allocations table, ascending, each
    /// once) as a capture of their own, like <see cref="Within"/>: every view, ranking and report and the peak cover
    /// those rows only. For a scope no frame can describe, such as what MemNotebook.Testing charges to one test.
    /// </summary>
    public Capture WithinRows(IReadOnlyList<int> rows, string scope)
    {
        ArgumentNullException.ThrowIfNull(rows);
        var whole = Unscoped;
        var count = whole.Columns.Count;
        var copy = new int[rows.Count];
        for (var i = 0; i < copy.Length; i++)
        {
            copy[i] = rows[i];
            if (copy[i] < 0 || copy[i] >= count)
                throw new ArgumentOutOfRangeException(nameof(rows), $"row {copy[i]} at index {i} is outside the {count:N0} allocations of {Path}");
            if (i > 0 && copy[i] <= copy[i - 1])
                throw new ArgumentException($"rows must be ascending and distinct: row {copy[i]} at index {i} follows {copy[i - 1]}", nameof(rows));
        }
        return new Capture(whole, copy, scope);
    }

    /// <summary>
    /// The frames a scoped capture is limited to (<see cref="Within"/>), null for a whole capture: flame
    /// graphs and trees of a scoped capture start at the outermost such frame of each stack.
    /// </summary>
    public Func<string, bool>? ScopeFrame { get; private init; }

    /// <summary>What <see cref="WithinSubmissions"/> scopes to.</summary>
    public const string SubmissionScope = "allocations made by the cell's code";

    /// <summary>
    /// The allocations made by C# script code: a notebook cell (.NET Interactive and every Roslyn-scripting
    /// host compile each cell into a class <c>Submission#N</c>, under which its methods, lambdas, local
    /// functions and declared types are named) and whatever it called. What a <c>#!memprofile</c> cell
    /// shows; <c>Capture.Load(path).WithinSubmissions()</c> gives the same view of such a capture later.
    /// </summary>
    public Capture WithinSubmissions() => Within(IsSubmissionFrame, SubmissionScope);

    /// <summary>
    /// True for a function of C# script code, as shown (<c>cell 3</c>, <c>cell 3 › Work</c>, <c>lambda in cell 3 › Work</c>:
    /// <see cref="Recorder.Symbols.FrameNaming"/>) or as recorded (<c>Submission#3.&lt;Initialize&gt;</c>, <c>Submission#3+Order..ctor</c>).
    /// </summary>
    public static bool IsSubmissionFrame(string function) => SubmissionOf(function) is not null;

    /// <summary>
    /// The allocations made by the code of one cell, the script class <c>Submission#<paramref name="submission"/></c>
    /// (what a <c>#!memprofile</c> cell shows, out of a capture of a whole kernel). Throws
    /// <see cref="ArgumentException"/> naming the cells there are when the capture has no frame of that one.
    /// </summary>
    public Capture WithinSubmission(int submission)
    {
        var submissions = Submissions();
        if (!submissions.Contains(submission))
            throw new ArgumentException(submissions.Count == 0
                ? $"{Path}: no notebook cell {submission}: the capture has no frame of a cell's code (Submission#N), so it was not recorded in a notebook"
                : $"{Path}: no notebook cell {submission}: the cells whose code is in the capture are {string.Join(", ", submissions)} (Submission#N)");
        return Within(f => SubmissionOf(f) == submission, $"allocations made by the code of cell {submission} (Submission#{submission})");
    }

    /// <summary>The numbers N of the cells (<c>Submission#N</c>) with a frame in the capture, ascending.</summary>
    public IReadOnlyList<int> Submissions() =>
        Unscoped.Columns.FrameNames().Values.Select(SubmissionOf).OfType<int>().Distinct().Order().ToArray();

    /// <summary>N for a function of cell N (<c>Submission#N</c>), shown or recorded, else null.</summary>
    public static int? SubmissionOf(string function) => Recorder.Symbols.FrameNaming.CellOf(function);

    /// <summary>
    /// The managed high-water mark of <paramref name="rows"/> alone: the live bytes of their managed objects at
    /// each GC start (objects die only in a GC) and at the end; the earliest of equal candidates wins, the end
    /// only when greater. Native blocks have a peak of their own (<see cref="NativePeakBytes"/>).
    /// </summary>
    private (long Bytes, long TimeNs, bool AtEnd) FindScopedPeak(int[] rows)
    {
        var gcTimes = GcStarts().Select(g => g.TimeNs).Order().ToArray();
        var liveAt = LiveBytesAt(Columns, rows, gcTimes);
        var finder = new ManagedPeakFinder();
        for (var i = 0; i < gcTimes.Length; i++)
            finder.GcStarted(gcTimes[i], liveAt[i]);
        return finder.Find(ManagedBytesAliveAtEnd(rows), Metadata.DurationNs);
    }

    /// <summary>
    /// Bytes of the managed objects of <paramref name="rows"/> alive at each of <paramref name="ascendingTimes"/>:
    /// allocated at or before it and not freed by then (native blocks left out). Two sorted sweeps, no allocation per
    /// row: times and sizes in separate arrays sorted by time (Array.Sort with keys, several times faster than sorting
    /// tuples through their comparer; sizes of equal times may come in any order, which no sum can tell).
    /// </summary>
    internal static long[] LiveBytesAt(AllocationColumns c, IReadOnlyList<int> rowList, IReadOnlyList<long> ascendingTimes)
    {
        var rows = rowList as int[] ?? rowList.ToArray();
        var time = c.TimestampNs;
        var freed = c.FreedAtNs;
        var size = c.Size;
        var types = c.TypeId;
        var allocTimes = new long[rows.Length];
        var allocSizes = new long[rows.Length];
        var freeTimes = new long[rows.Length];
        var freeSizes = new long[rows.Length];
        int allocCount = 0, freeCount = 0;
        foreach (var r in rows)
        {
            if (types[r] < 0)
                continue;
            (allocTimes[allocCount], allocSizes[allocCount]) = (time[r], size[r]);
            allocCount++;
            if (freed[r] != -1)
            {
                (freeTimes[freeCount], freeSizes[freeCount]) = (freed[r], size[r]);
                freeCount++;
            }
        }
        System.Array.Sort(allocTimes, allocSizes, 0, allocCount);
        System.Array.Sort(freeTimes, freeSizes, 0, freeCount);
        var liveAt = new long[ascendingTimes.Count];
        long live = 0;
        int a = 0, f = 0;
        for (var i = 0; i < liveAt.Length; i++)
        {
            var t = ascendingTimes[i];
            while (a < allocCount && allocTimes[a] <= t) live += allocSizes[a++];
            while (f < freeCount && freeTimes[f] <= t) live -= freeSizes[f++];
            liveAt[i] = live;
        }
        return liveAt;
    }

    /// <summary>
    /// Loads a capture: a raw <c>.memnb</c> file (converted to Arrow once, cached per <paramref name="cache"/>: in
    /// <c>x.memnb.arrow/</c> beside it, or in the per-user cache, <see cref="ArrowCache"/>) or such an Arrow folder. A bad capture throws <see cref="Recorder.Format.CaptureFormatException"/>,
    /// a bad Arrow folder <see cref="InvalidDataException"/>, each naming the file. A capture file of more
    /// allocations than <paramref name="maxAllocations"/> (null: <see cref="Recorder.Format.AllocationLimit"/>'s
    /// default, 64 a byte of the file and at least 16,777,216, or <c>MEMNB_MAX_ALLOCATIONS</c>) throws an
    /// <see cref="Recorder.Format.AllocationLimitException"/> before it is converted.
    /// </summary>
    public static Capture Load(string path, IProgress<double>? progress = null, long? maxAllocations = null,
        ArrowCacheLocation cache = ArrowCacheLocation.Default)
    {
        string folder;
        if (Directory.Exists(path))
            folder = path;
        else if (File.Exists(path))
            folder = ArrowConverter.EnsureConverted(path, progress, maxAllocations, cache).Folder;
        else
            throw new FileNotFoundException($"{path}: no such capture or Arrow folder", path);
        var metadataPath = System.IO.Path.Combine(folder, ArrowLayout.MetadataFile);
        if (!File.Exists(metadataPath))
            throw new InvalidDataException($"{folder}: not a MemNotebook Arrow folder (no {ArrowLayout.MetadataFile})");
        var metadata = CaptureMetadata.Read(metadataPath);
        if (metadata.ArrowLayoutVersion > ArrowLayout.Version)
            throw new InvalidDataException($"{metadataPath}: written by a newer MemNotebook (Arrow layout {metadata.ArrowLayoutVersion}, this one reads {ArrowLayout.Version})");
        var loaded = new Dictionary<string, RecordBatch>();
        foreach (var table in ArrowLayout.TableNamesFor(metadata.Aggregated))
        {
            var file = ArrowLayout.TablePath(folder, table);
            if (!File.Exists(file))
                throw new InvalidDataException($"{file}: missing table {table} of the Arrow folder {folder}");
            loaded[table] = ArrowTableReader.ReadTable(file, ArrowLayout.SchemaOf(table));
        }
        if (metadata.Aggregated)
            CheckTotals(ArrowLayout.TablePath(folder, ArrowLayout.Aggregates), loaded[ArrowLayout.Aggregates], "count", "bytes");
        else
            CheckTotals(ArrowLayout.TablePath(folder, ArrowLayout.Allocations), loaded[ArrowLayout.Allocations], "size");
        return new Capture(path, folder, metadata, loaded);
    }

    /// <summary>
    /// Every view and ranking sums parts of these columns: each value must be 0 or more and the column's sum
    /// within 63 bits, so that no sum a report makes can overflow (a capture file is checked so by its reader;
    /// an Arrow folder may come from anywhere).
    /// </summary>
    private static void CheckTotals(string file, RecordBatch table, params string[] columns)
    {
        foreach (var column in columns)
        {
            var data = table.Column(column).Data;
            var values = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, long>(data.Buffers[1].Span).Slice(data.Offset, data.Length);
            long sum = 0;
            for (var row = 0; row < values.Length; row++)
            {
                if (values[row] < 0 || values[row] > long.MaxValue - sum)
                    throw new InvalidDataException(values[row] < 0
                        ? $"{file}: {column} out of range at row {row}: {values[row]}, below 0"
                        : $"{file}: {column} out of range at row {row}: {values[row]} brings the column's sum past 2^63 − 1");
                sum += values[row];
            }
        }
    }

    /// <summary>
    /// Runs <paramref name="sql"/> (DuckDB's dialect) over this capture's tables and returns the result, e.g.
    /// <c>capture.Sql("SELECT type, sum(size) AS bytes FROM allocations_named GROUP BY type ORDER BY bytes DESC")</c>.
    /// The tables and views are listed in docs/sql.md; <see cref="Sql(IEnumerable{Capture}, string)"/> queries several
    /// captures together.
    /// </summary>
    public DataFrame Sql(string sql) => Sql([this], sql);

    /// <summary>
    /// Runs <paramref name="sql"/> over the tables of <paramref name="captures"/> (docs/sql.md: allocations, stacks,
    /// frames, types, threads, timeline, gc_events, aggregates, allocations_named, stack_frames), each with a
    /// <c>capture</c> column first naming the capture (its file name without <c>.memnb</c>):
    /// <c>Capture.Sql(new[] { before, after }, "SELECT capture, sum(size) FROM allocations GROUP BY capture")</c>.
    /// Whole captures are queried, also for a scoped one. A query DuckDB refuses throws
    /// <see cref="Recorder.Sql.SqlQueryException"/> with DuckDB's message, the SQL and the tables there are.
    /// </summary>
    public static DataFrame Sql(IEnumerable<Capture> captures, string sql)
    {
        ArgumentNullException.ThrowIfNull(captures);
        ArgumentNullException.ThrowIfNull(sql);
        var list = captures.Select(c => c.Unscoped).ToList();
        var names = Recorder.Sql.SqlCaptures.Names(list.Select(c => c.Path));
        using var session = Recorder.Sql.SqlSession.Open(list.Select((c, i) => Recorder.Sql.SqlCaptures.Of(c, names[i])).ToList());
        return session.Query(sql);
    }

    /// <summary>The path given to <see cref="Load"/>.</summary>
    public string Path { get; }

    /// <summary>
    /// Bytes of what was loaded: the capture file, or the files of the Arrow folder given to <see cref="Load"/>. What
    /// an export may expand to is bounded by it.
    /// </summary>
    public long SourceBytes => File.Exists(Path) ? new FileInfo(Path).Length
        : Directory.Exists(Path) ? new DirectoryInfo(Path).EnumerateFiles().Sum(f => f.Length) : 0;

    /// <summary>The folder of the Arrow tables (the cache folder of a raw capture).</summary>
    public string ArrowFolder => tables.Value.Folder;

    public CaptureMetadata Metadata => tables.Value.Metadata;
    public bool Complete => Metadata.Complete;
    public bool Truncated => Metadata.Truncated;
    public long DurationNs => Metadata.DurationNs;

    /// <summary>
    /// True for an aggregated capture (recorded with <c>--aggregate</c>): it holds totals per (stack, type)
    /// only, so <see cref="Aggregates"/> and the rankings over it work, and every per-allocation member
    /// throws <see cref="NotSupportedException"/>.
    /// </summary>
    public bool IsAggregated => Metadata.Aggregated;

    /// <summary>
    /// True for a sampled capture (a kernel or process without the tracer at startup): each allocation row is
    /// one object picked by the runtime's allocation sampling (about one per 100 KB allocated), not every
    /// allocation, and it has no lifetimes. Counts and bytes of its views are of the sampled objects;
    /// <see cref="EstimatedBytes"/> and <see cref="EstimatedTypes"/> estimate what they stand for.
    /// </summary>
    public bool IsSampled => Metadata.Sampled;

    /// <summary>The estimated bytes allocated (every allocation; a sampled capture's estimate, an exact capture's total).</summary>
    public long EstimatedBytes => All.EstimatedBytes;

    /// <summary>Types by estimated bytes: type, samples, sampled_bytes, estimated_bytes, estimated_count.</summary>
    public DataFrame EstimatedTypes(int n = 10) => All.EstimatedTypes(n);

    /// <summary>
    /// Managed bytes alive at the high-water mark, as the tracer tracks them: the largest GC_START live_bytes,
    /// or END's (objects die only in a GC, so these are the only candidates). Native blocks are not in it: a
    /// capture recorded with native allocations has <see cref="NativePeakBytes"/> besides.
    /// </summary>
    public long PeakBytes => PeakOf.Bytes;

    /// <summary>When the high-water mark was reached (ns since the start): the first GC start with the peak's live bytes, or the end.</summary>
    public long PeakTimeNs => PeakOf.TimeNs;

    /// <summary>True when the high-water mark is the end of the capture (then <see cref="Peak"/> is <see cref="Leaks"/>).</summary>
    public bool PeakIsAtEnd => PeakOf.AtEnd;

    /// <summary>
    /// True for a capture recorded with native allocations (<c>memnb run --native</c>, header flag bit 1): its
    /// allocations hold malloc &amp; co. and mmap blocks besides managed objects, and it has a native peak.
    /// </summary>
    public bool HasNative => Metadata.Native;

    /// <summary>
    /// The native high-water mark: the most bytes of native blocks alive at once (each at the size asked for, an
    /// mmap region at its length), from the allocations and their releases in time order across threads; of this
    /// capture's allocations only when scoped. 0 for a capture without native allocations (<see cref="HasNative"/>).
    /// </summary>
    public long NativePeakBytes => NativePeak.Bytes;

    /// <summary>When <see cref="NativePeakBytes"/> was first reached (ns since the start; 0 when it is 0).</summary>
    public long NativePeakTimeNs => NativePeak.TimeNs;

    private NativePeak NativePeak => nativePeak ??= HasNative && columns is not null ? NativePeakFinder.Of(columns, scopeRows) : default;

    private NativePeak? nativePeak;

    /// <summary>
    /// id, thread_stream, os_thread_id, timestamp_ns, allocator, size, type_id, stack_id, address,
    /// freed_at_ns (null: alive at the end). Join type_id with <see cref="Types"/>, stack_id with <see cref="Stacks"/>.
    /// </summary>
    public DataFrame Allocations => columns is null ? throw PerAllocation(nameof(Allocations))
        : Scope is null ? Frame(ArrowLayout.Allocations) : scopedAllocations ??= All.Allocations;

    private DataFrame? scopedAllocations;

    /// <summary>The allocations table of the whole capture (views filter it by row).</summary>
    internal DataFrame AllAllocationRows => columns is null ? throw PerAllocation(nameof(Allocations)) : Unscoped.Frame(ArrowLayout.Allocations);

    /// <summary>
    /// The allocations table's <paramref name="rows"/> (of the whole capture's table) as a DataFrame like
    /// <see cref="Allocations"/>: gathered from the Arrow columns, its type and function columns named as there.
    /// </summary>
    internal DataFrame AllocationRows(int[] rows)
    {
        var whole = Unscoped;
        if (whole.columns is null)
            throw PerAllocation(nameof(Allocations));
        var frame = DataFrames.FromArrow(RowGather.Take(whole.batches[ArrowLayout.Allocations], rows));
        ReadableColumns.AddTo(frame, whole.columns, rows);
        return frame;
    }

    /// <summary>
    /// Totals per (stack, type): stack_id, function, type, count, bytes, peak_count, peak_bytes (alive at
    /// the high-water mark), leaked_count, leaked_bytes (alive when recording stopped); bytes descending.
    /// For an aggregated capture these are its last AGG_TABLE (when that table is not the final one,
    /// <see cref="Complete"/> is false and leaked means alive when it was written). For a normal capture
    /// they are computed from the allocations (one pass, on first use; peak = alive at
    /// <see cref="PeakTimeNs"/> as in <see cref="Peak"/>), so both kinds give the same numbers.
    /// </summary>
    public DataFrame Aggregates => aggregates ??= AggregatesFrame(AggregateRows);

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

    /// <summary>Every allocation (not available for an aggregated capture).</summary>
    public AllocationView All => all ?? throw PerAllocation(nameof(All));

    internal AllocationColumns Columns => columns ?? throw PerAllocation("the allocations table");

    /// <summary>The Arrow record batch of a table (one per table, as loaded).</summary>
    public RecordBatch ArrowTable(string table) => batches[table];

    public AllocationView Peak() => AllFor(nameof(Peak)).Peak();
    public AllocationView Leaks() => AllFor(nameof(Leaks)).Leaks();
    public AllocationView Temporary(int threshold = 1) => AllFor(nameof(Temporary)).Temporary(threshold);
    public AllocationView Between(long t0Ns, long t1Ns) => AllFor(nameof(Between)).Between(t0Ns, t1Ns);
    public AllocationView AliveAt(long timeNs) => AllFor(nameof(AliveAt)).AliveAt(timeNs);

    /// <summary>The fast filters of <see cref="All"/>: <c>capture.LargerThan(85_000).Allocations</c>.</summary>
    public AllocationView LargerThan(long bytes) => AllFor(nameof(LargerThan)).LargerThan(bytes);
    public AllocationView OfType(string name) => AllFor(nameof(OfType)).OfType(name);
    public AllocationView InFunction(string name) => AllFor(nameof(InFunction)).InFunction(name);

    /// <summary>
    /// Functions ranked over all allocations: function, count, bytes. For an aggregated capture the own
    /// attribution comes from <see cref="Aggregates"/> (the same numbers); inclusive needs allocations.
    /// </summary>
    public DataFrame TopFunctions(int n = 10, Measure by = Measure.Bytes, Attribution attribution = Attribution.Own) =>
        IsAggregated && attribution == Attribution.Own
            ? TopFunctions(n, AggregateMeasure.Total, by)
            : AllFor("TopFunctions with inclusive attribution").TopFunctions(n, by, attribution);

    /// <summary>Types ranked over all allocations: type, count, bytes (from <see cref="Aggregates"/> for an aggregated capture).</summary>
    public DataFrame TopTypes(int n = 10, Measure by = Measure.Bytes) =>
        IsAggregated ? TopTypes(n, AggregateMeasure.Total, by) : All.TopTypes(n, by);

    /// <summary>
    /// Functions ranked by one measure of <see cref="Aggregates"/>: function, count, bytes; functions
    /// with nothing in that measure left out. Works for both kinds of capture.
    /// </summary>
    public DataFrame TopFunctions(int n, AggregateMeasure measure, Measure by = Measure.Bytes) =>
        RankAggregates(e => e.Function, "function", n, measure, by);

    /// <summary>Types ranked by one measure of <see cref="Aggregates"/>: type, count, bytes. Works for both kinds of capture.</summary>
    public DataFrame TopTypes(int n, AggregateMeasure measure, Measure by = Measure.Bytes) =>
        RankAggregates(e => e.Type, "type", n, measure, by);

    public DataFrame SizeHistogram() => AllFor(nameof(SizeHistogram)).SizeHistogram();
    public DataFrame ByThread() => AllFor(nameof(ByThread)).ByThread();

    /// <summary>What grew or shrank from this capture to <paramref name="other"/>, by function and type (all allocations).</summary>
    public DataFrame Diff(Capture other) => AllFor(nameof(Diff)).Diff(other.AllFor(nameof(Diff)));

    /// <summary>The numbers of <c>memnb stats</c>, computed from the tables (they agree with the streaming <see cref="CaptureStats.Compute(string, int, Recorder.Format.CaptureReaderOptions?)"/>).</summary>
    public CaptureStats Stats(int top = CaptureStats.DefaultTop)
    {
        if (IsAggregated)
            return AggregatedStats(top);
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
        var exact = All.ExactLargeObjects;
        var gcStarts = GcEvents["start_ns"];
        return CaptureStats.Create(Path, Metadata, gcStarts.Length - gcStarts.NullCount, All.Count, All.Bytes,
            leaks.Count, leaks.Bytes, PeakBytes, types, functions, threads, AllocatorTotals(),
            CaptureStats.RankStacks(StackTotals(), Columns.FrameNames)) with
        {
            Sampled = IsSampled,
            EstimatedBytes = All.EstimatedBytes,
            ExactLargeObjects = exact.Count,
            ExactLargeBytes = exact.Bytes,
            NativePeakBytes = NativePeakBytes,
            NativePeakTimeNs = NativePeakTimeNs,
        };
    }

    /// <summary>Count and bytes per allocator (type ids below 0 are native allocators).</summary>
    private AllocatorStats[] AllocatorTotals()
    {
        var c = Columns;
        var types = c.TypeId;
        var size = c.Size;
        var totals = new Dictionary<int, (long Count, long Bytes)>();
        foreach (var r in All.Rows)
        {
            ref var t = ref System.Runtime.InteropServices.CollectionsMarshal.GetValueRefOrAddDefault(totals, Math.Max(0, -types[r]), out _);
            t = (t.Count + 1, t.Bytes + size[r]);
        }
        return CaptureStats.RankAllocators(totals.Select(kv => new AllocatorStats(Recorder.Format.CaptureFormat.AllocatorName(kv.Key), kv.Value.Count, kv.Value.Bytes)));
    }

    private List<(int StackId, long Count, long Bytes)> StackTotals()
    {
        var c = Columns;
        var stacks = c.StackId;
        var size = c.Size;
        var totals = new Dictionary<int, (long Count, long Bytes)>();
        foreach (var r in All.Rows)
        {
            ref var t = ref System.Runtime.InteropServices.CollectionsMarshal.GetValueRefOrAddDefault(totals, stacks[r], out _);
            t = (t.Count + 1, t.Bytes + size[r]);
        }
        return totals.Select(kv => (kv.Key, kv.Value.Count, kv.Value.Bytes)).ToList();
    }

    public override string ToString() => IsSampled
        ? $"{Path} (sampled): {All.Count:N0} sampled objects ({ByteUnits.Format(All.Bytes)}), estimated {ByteUnits.Format(EstimatedBytes)} allocated"
        : IsAggregated
        ? $"{Path} (aggregated): {Metadata.Allocations:N0} allocations ({ByteUnits.Format(AggregateRows.Sum(e => e.Bytes))}), " +
          $"peak {ByteUnits.Format(PeakBytes)}, {Metadata.Allocations - Metadata.Frees:N0} leaked"
        : HasNative
        ? $"{Path}: {All.Count:N0} allocations ({ByteUnits.Format(All.Bytes)}), managed peak {ByteUnits.Format(PeakBytes)}, " +
          $"native peak {ByteUnits.Format(NativePeakBytes)}, {Leaks().Count:N0} leaked"
        : $"{Path}: {All.Count:N0} allocations ({ByteUnits.Format(All.Bytes)}), peak {ByteUnits.Format(PeakBytes)}, " +
        $"{Leaks().Count:N0} leaked";

    private static Dictionary<string, (long Count, long Bytes)> Rows(DataFrame ranked, string key)
    {
        var rows = new Dictionary<string, (long, long)>(StringComparer.Ordinal);
        for (long i = 0; i < ranked.Rows.Count; i++)
            rows[(string)ranked[key][i]] = ((long)ranked["count"][i], (long)ranked["bytes"][i]);
        return rows;
    }

    /// <summary>The managed peak of the whole capture (<see cref="ManagedPeakFinder"/>) from its GC starts and END's live bytes.</summary>
    private (long Bytes, long TimeNs, bool AtEnd) FindPeak()
    {
        var finder = new ManagedPeakFinder();
        foreach (var (start, live) in GcStarts())
            finder.GcStarted(start, live);
        return finder.Find(Metadata.EndLiveBytes ?? ManagedBytesAliveAtEnd(null), Metadata.DurationNs);
    }

    /// <summary>(start, live bytes at the start) of every GC with a start, in table order.</summary>
    private IEnumerable<(long TimeNs, long LiveBytes)> GcStarts()
    {
        var gcs = batches[ArrowLayout.GcEvents];
        var starts = (Int64Array)gcs.Column("start_ns");
        var live = (Int64Array)gcs.Column("live_bytes_at_start");
        for (var i = 0; i < gcs.Length; i++)
            if (starts.GetValue(i) is long start)
                yield return (start, live.GetValue(i)!.Value);
    }

    /// <summary>Bytes of the managed objects among <paramref name="rows"/> (null: every row) never freed: END's live_bytes when there is no END.</summary>
    private long ManagedBytesAliveAtEnd(int[]? rows)
    {
        var c = Columns;
        var freed = c.FreedAtNs;
        var size = c.Size;
        var types = c.TypeId;
        long live = 0;
        var count = rows?.Length ?? c.Count;
        for (var i = 0; i < count; i++)
        {
            var r = rows is null ? i : rows[i];
            if (types[r] >= 0 && freed[r] == -1)
                live += size[r];
        }
        return live;
    }

    private AllocationView AllFor(string member) => all ?? throw PerAllocation(member);

    private NotSupportedException PerAllocation(string member) => new(
        $"{Path}: {member} needs individual allocations, but this is an aggregated capture (recorded with --aggregate): " +
        "it holds totals per stack and type only. What works on it: Aggregates, TopFunctions(n, AggregateMeasure, Measure), " +
        "TopTypes(n, AggregateMeasure, Measure), TopFunctions/TopTypes over all allocations, Stats(), PeakBytes, Stacks, " +
        "Frames, Types, Threads, Timeline, GcEvents. Record without --aggregate for time windows, temporary objects, " +
        "addresses, threads and sizes of single objects.");

    internal readonly record struct AggregateEntry(int StackId, int TypeId, string Function, string Type, long Count, long Bytes,
        long PeakCount, long PeakBytes, long LeakedCount, long LeakedBytes);

    internal IReadOnlyList<AggregateEntry> AggregateRows => aggregateRows ??= IsAggregated ? ReadAggregates() : ComputeAggregates();

    /// <summary>The aggregates table as written by the conversion (already in order).</summary>
    private AggregateEntry[] ReadAggregates()
    {
        var batch = batches[ArrowLayout.Aggregates];
        var stack = (Int32Array)batch.Column("stack_id");
        var function = (StringArray)batch.Column("function");
        var type = (StringArray)batch.Column("type");
        Int64Array L(string name) => (Int64Array)batch.Column(name);
        var (count, bytes, peakCount, peakBytes, leakedCount, leakedBytes) =
            (L("count"), L("bytes"), L("peak_count"), L("peak_bytes"), L("leaked_count"), L("leaked_bytes"));
        var rows = new AggregateEntry[batch.Length];
        for (var i = 0; i < rows.Length; i++)
            rows[i] = new AggregateEntry(stack.GetValue(i)!.Value, 0, function.GetString(i) ?? "", type.GetString(i) ?? "",
                count.GetValue(i)!.Value, bytes.GetValue(i)!.Value, peakCount.GetValue(i)!.Value, peakBytes.GetValue(i)!.Value,
                leakedCount.GetValue(i)!.Value, leakedBytes.GetValue(i)!.Value);
        return rows;
    }

    /// <summary>One pass over the allocations: totals, alive at the peak and leaked per (stack, type id).</summary>
    private AggregateEntry[] ComputeAggregates()
    {
        var c = Columns;
        var size = c.Size;
        var stacks = c.StackId;
        var types = c.TypeId;
        var time = c.TimestampNs;
        var freed = c.FreedAtNs;
        var peakAt = PeakTimeNs;
        var totals = new Dictionary<(int Stack, int Type), long[]>();
        foreach (var r in All.Rows)
        {
            ref var t = ref System.Runtime.InteropServices.CollectionsMarshal.GetValueRefOrAddDefault(totals, (stacks[r], types[r]), out _);
            t ??= new long[6];
            var leaked = freed[r] == -1;
            var atPeak = PeakIsAtEnd ? leaked : time[r] <= peakAt && (leaked || freed[r] > peakAt);
            t[0]++;
            t[1] += size[r];
            if (atPeak)
            {
                t[2]++;
                t[3] += size[r];
            }
            if (leaked)
            {
                t[4]++;
                t[5] += size[r];
            }
        }
        return totals
            .Select(kv => new AggregateEntry(kv.Key.Stack, kv.Key.Type, c.OwnFunction(kv.Key.Stack), c.TypeName(kv.Key.Type),
                kv.Value[0], kv.Value[1], kv.Value[2], kv.Value[3], kv.Value[4], kv.Value[5]))
            .OrderByDescending(e => e.Bytes).ThenByDescending(e => e.Count).ThenBy(e => e.StackId).ThenBy(e => e.TypeId)
            .ToArray();
    }

    private static DataFrame AggregatesFrame(IReadOnlyList<AggregateEntry> rows) => new(
        new Int32DataFrameColumn("stack_id", rows.Select(e => e.StackId)),
        new StringDataFrameColumn("function", rows.Select(e => e.Function)),
        new StringDataFrameColumn("type", rows.Select(e => e.Type)),
        new Int64DataFrameColumn("count", rows.Select(e => e.Count)),
        new Int64DataFrameColumn("bytes", rows.Select(e => e.Bytes)),
        new Int64DataFrameColumn("peak_count", rows.Select(e => e.PeakCount)),
        new Int64DataFrameColumn("peak_bytes", rows.Select(e => e.PeakBytes)),
        new Int64DataFrameColumn("leaked_count", rows.Select(e => e.LeakedCount)),
        new Int64DataFrameColumn("leaked_bytes", rows.Select(e => e.LeakedBytes)));

    private static (long Count, long Bytes) Pick(AggregateEntry e, AggregateMeasure measure) => measure switch
    {
        AggregateMeasure.Total => (e.Count, e.Bytes),
        AggregateMeasure.Peak => (e.PeakCount, e.PeakBytes),
        AggregateMeasure.Leaked => (e.LeakedCount, e.LeakedBytes),
        _ => throw new ArgumentOutOfRangeException(nameof(measure), measure, "Total, Peak or Leaked"),
    };

    private DataFrame RankAggregates(Func<AggregateEntry, string> key, string keyName, int n, AggregateMeasure measure, Measure by)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(n);
        var totals = new Dictionary<string, AllocationView.Totals>(StringComparer.Ordinal);
        foreach (var e in AggregateRows)
        {
            var (count, bytes) = Pick(e, measure);
            if (count == 0)
                continue;
            var k = key(e);
            var sum = totals.GetValueOrDefault(k);
            totals[k] = new AllocationView.Totals(sum.Count + count, sum.Bytes + bytes);
        }
        return AllocationView.Ranked(totals, keyName, n, by);
    }

    /// <summary>The stats of an aggregated capture from its aggregates (as <c>memnb stats</c> computes them from the table).</summary>
    private CaptureStats AggregatedStats(int top)
    {
        var rows = AggregateRows;
        var types = rows.GroupBy(e => e.Type, StringComparer.Ordinal)
            .Select(g => new TypeStats(g.Key, g.Sum(e => e.Count), g.Sum(e => e.Bytes), g.Sum(e => e.LeakedCount), g.Sum(e => e.LeakedBytes)))
            .OrderByDescending(t => t.Bytes).ThenByDescending(t => t.Count).ThenBy(t => t.Type, StringComparer.Ordinal)
            .ToArray();
        var functions = rows.GroupBy(e => e.Function, StringComparer.Ordinal)
            .Select(g => new FunctionStats(g.Key, g.Sum(e => e.Count), g.Sum(e => e.Bytes)))
            .OrderByDescending(f => f.Bytes).ThenByDescending(f => f.Count).ThenBy(f => f.Function, StringComparer.Ordinal)
            .Take(top)
            .ToArray();
        long count = rows.Sum(e => e.Count), bytes = rows.Sum(e => e.Bytes);
        var gcStarts = GcEvents["start_ns"];
        return CaptureStats.Create(Path, Metadata, gcStarts.Length - gcStarts.NullCount, count, bytes,
            leakedCount: rows.Sum(e => e.LeakedCount), leakedBytes: rows.Sum(e => e.LeakedBytes), PeakBytes, types, functions, threads: [],
            count == 0 ? [] : [new AllocatorStats(Recorder.Format.CaptureFormat.AllocatorName(0), count, bytes)],
            CaptureStats.RankStacks(
                rows.GroupBy(e => e.StackId).Select(g => (g.Key, g.Sum(e => e.Count), g.Sum(e => e.Bytes))),
                new StackFrameNames(batches[ArrowLayout.Stacks], batches[ArrowLayout.Frames]).Names));
    }

    /// <summary>An aggregated capture knows the peak's bytes, not its time (<see cref="ManagedPeakFinder.TimeOf"/>).</summary>
    private (long Bytes, long TimeNs, bool AtEnd) FindAggregatedPeak(long peak) => ManagedPeakFinder.TimeOf(peak, GcStarts(), Metadata.DurationNs);

    private DataFrame Frame(string table)
    {
        // A scoped capture shares the whole capture's tables (built once, on first use), its allocations aside.
        if (unscoped is not null && table != ArrowLayout.Allocations)
            return unscoped.Frame(table);
        if (frames.TryGetValue(table, out var frame))
            return frame;
        frame = DataFrames.FromArrow(batches[table]);
        if (table == ArrowLayout.Allocations && columns is not null)
            ReadableColumns.AddTo(frame, columns);
        frames[table] = frame;
        return frame;
    }
}
