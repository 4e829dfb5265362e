using Apache.Arrow;
using Apache.Arrow.Ipc;
using MemNotebook.Recorder.Analysis;
using MemNotebook.Recorder.Arrow;
using MemNotebook.Recorder.Format;
using MemNotebook.Recorder.Reports;
using MemNotebook.Recorder.Tests.Capture;
using Xunit;

namespace MemNotebook.Recorder.Tests.Cli;

/// <summary>
/// Small crafted captures that claim more than they hold (counts, sums, depths) or hold nothing, through the
/// verbs a user runs: one clear error naming the file and offset, exit code 2, nothing left behind — or, for an
/// honest capture without allocations, reports that say so.
/// </summary>
public class HostileCaptureTests : IDisposable
{
    private readonly CliHarness cli = new();

    public void Dispose() => cli.Dispose();

    /// <summary>Every verb that converts the capture to Arrow tables, with what it needs besides FILE.</summary>
    private string[][] ConvertingVerbs(string path) =>
    [
        ["summary", path], ["tree", path], ["table", path], ["timeline", path],
        ["flamegraph", "-o", cli.PathOf("f.html"), path], ["stats", "-o", cli.PathOf("s.html"), path],
        ["transform", "arrow", path, "-o", cli.PathOf("arrow")], ["transform", "csv", path, "-o", cli.PathOf("csv")],
        ["transform", "speedscope", path, "-o", cli.PathOf("s.json")],
    ];

    private static TestCaptureWriter OneAllocation(ulong endAllocations)
    {
        var w = new TestCaptureWriter();
        w.Chunk(0).Clock(1000, 1_000_000).Type(0, 0x10, "App.Thing").StackNode(1, 0, 0x100).Frame(0x100, 0, "App.Main")
            .Thread(2, 100, 1).Write();
        w.Chunk(2).Alloc(1100, 0, 24, 1, 0x1000).Write();
        w.Chunk(0).Clock(2000, 2_000_000).End(2000, endAllocations, 0, 24).Write();
        return w;
    }

    [Fact]
    public void A_forged_allocation_count_in_END_reserves_nothing_and_every_converting_verb_works()
    {
        // 2^60 × 62 bytes overflowed into a negative reservation; 2^60 rows were never there to reserve.
        var path = cli.File("forged-count.memnb", OneAllocation(1UL << 60).ToArray());
        foreach (var args in ConvertingVerbs(path))
        {
            if (Directory.Exists(path + ".arrow"))
                Directory.Delete(path + ".arrow", recursive: true);
            var result = CliHarness.Run(args);
            Assert.True(result.ExitCode == 0, $"{string.Join(' ', args)}: {result.Err}");
            Assert.DoesNotContain("   at ", result.Err);
        }
        Assert.Equal(1, MemNotebook.Capture.Load(path).All.Count);
    }

    [Fact]
    public void A_conversion_that_fails_in_its_second_pass_leaves_no_allocations_table()
    {
        // END claims 15M allocations (930 MB of table); the thread chunk, which only the second pass reads, names
        // a type no TYPE record defines.
        var w = new TestCaptureWriter();
        w.Chunk(0).Clock(1000, 1_000_000).Type(0, 0x10, "App.Thing").Thread(2, 100, 1).Write();
        var threadChunk = w.Length;
        w.Chunk(2).Alloc(1100, 0, 24, 0, 0x1000).Alloc(1200, 9, 24, 0, 0x2000).Write();
        w.Chunk(0).Clock(2000, 2_000_000).End(2000, 15_000_000, 0, 48).Write();
        var path = cli.File("fails-late.memnb", w.ToArray());
        var folder = cli.PathOf("arrow");
        var result = CliHarness.Run("transform", "arrow", path, "-o", folder);
        Assert.Equal((int)MemNotebook.Cli.ExitCode.BadCapture, result.ExitCode);
        Assert.Equal($"memnb: {path}: undefined type at offset {threadChunk} in ALLOC record (tag 0x01): type index 9 has no TYPE record (thread stream 2, record at payload byte 8)\n", result.Err);
        Assert.False(File.Exists(Path.Combine(folder, "allocations.arrow")), "a failed conversion left its allocations table");
    }

    [Fact]
    public void Aggregate_rows_whose_bytes_sum_past_63_bits_are_refused_naming_the_row_and_offset()
    {
        var w = new TestCaptureWriter(flags: 1);
        w.Chunk(0).Clock(1000, 5_000).Type(0, 0x10, "App.Big").Type(1, 0x20, "App.Bigger").StackNode(1, 0, 0x10).Write();
        var tableChunk = w.Length;
        const ulong half = 3UL << 61; // 1.5 × 2^62: two of them are 3 × 2^62 > 2^63 − 1
        w.Chunk(0).AggTable(1500, true, 0, [new(1, 0, 1, half, 0, 0, 1, half), new(1, 1, 1, half, 0, 0, 1, half)])
            .End(1600, 2, 0, 0).Write();
        var path = cli.File("agg-overflow.memnb", w.ToArray());
        var expected = $"memnb: {path}: totals out of range at offset {tableChunk} in AGG_TABLE record (tag 0x30): row 1 (stack 1, type index 1, 1 allocations, {half} bytes) brings the table's allocations or bytes past 2^63 − 1 (meta stream 0, record at payload byte 0)\n";
        var stats = CliHarness.Run("stats", path);
        Assert.Equal(((int)MemNotebook.Cli.ExitCode.BadCapture, "", expected), (stats.ExitCode, stats.Out, stats.Err));
        var summary = CliHarness.Run("summary", "--all", path);
        Assert.Equal(((int)MemNotebook.Cli.ExitCode.BadCapture, expected), (summary.ExitCode, summary.Err));
        Assert.Throws<CaptureFormatException>(() => MemNotebook.Capture.Load(path));
    }

    [Fact]
    public void Allocations_whose_bytes_sum_past_63_bits_are_refused_at_the_allocation_that_overflows()
    {
        // 2^23 allocations of 2^40 bytes (the largest size the reader takes) make 2^63: a zstd chunk of
        // identical ALLOC records, a few KB on disk.
        var w = new TestCaptureWriter();
        w.Chunk(0).Clock(1000, 1_000_000).Type(0, 0x10, "App.Huge").Thread(2, 100, 1).Write();
        byte[] record = [0x01, 0x00, 0x00, 0x80, 0x80, 0x80, 0x80, 0x80, 0x20, 0x00, 0x00]; // dt 0, type 0, 2^40, stack +0, address +0
        const int perChunk = 4 << 20;
        var chunks = new List<long>();
        for (var c = 0; c < 2; c++)
        {
            chunks.Add(w.Length);
            var payload = new byte[record.Length * perChunk];
            for (var i = 0; i < perChunk; i++)
                record.CopyTo(payload, i * record.Length);
            w.Chunk(2).RawRecord(payload).Write(zstd: true);
        }
        w.Chunk(0).Clock(2000, 2_000_000).End(2000, 2 * perChunk, 0, 0).Write();
        Assert.True(w.Length < 64 << 10, $"{w.Length} bytes");
        var path = cli.File("alloc-overflow.memnb", w.ToArray());
        var result = CliHarness.Run("stats", "--json", path);
        // The 2^23-th allocation, the last of the second chunk, brings the total to 2^63.
        Assert.Equal(((int)MemNotebook.Cli.ExitCode.BadCapture, ""), (result.ExitCode, result.Out));
        Assert.Equal($"memnb: {path}: allocated bytes out of range at offset {chunks[1]} in ALLOC record (tag 0x01): this allocation of {1L << 40} bytes brings the capture's total past 2^63 − 1 bytes ({long.MaxValue - (1L << 40) + 1} before it) (thread stream 2, record at payload byte {(perChunk - 1) * record.Length})\n", result.Err);
    }

    [Fact]
    public void An_arrow_folder_whose_sizes_sum_past_63_bits_is_refused_naming_the_table_and_row()
    {
        var w = new TestCaptureWriter();
        w.Chunk(0).Clock(1000, 1_000_000).Type(0, 0x10, "App.Thing").Thread(2, 100, 1).Write();
        w.Chunk(2).Alloc(1100, 0, 24, 0, 0x1000).Alloc(1200, 0, 24, 0, 0x2000).Write();
        w.Chunk(0).Clock(2000, 2_000_000).End(2000, 2, 0, 48).Write();
        var folder = cli.PathOf("two-arrow");
        Assert.Equal(0, CliHarness.Run("transform", "arrow", cli.File("two.memnb", w.ToArray()), "-o", folder).ExitCode);
        // The same table with sizes of 1.5 × 2^62 bytes: each within 63 bits, their sum not.
        var table = ArrowLayout.TablePath(folder, ArrowLayout.Allocations);
        var two = ArrowTableReader.ReadTable(table, ArrowLayout.AllocationsSchema);
        var columns = Enumerable.Range(0, two.ColumnCount).Select(c => two.Schema.FieldsList[c].Name == "size"
            ? new Int64Array.Builder().Append(3L << 61).Append(3L << 61).Build()
            : two.Column(c));
        var forged = new RecordBatch(two.Schema, columns, 2);
        File.Delete(table);
        using (var file = File.Create(table))
        using (var writer = new ArrowFileWriter(file, two.Schema))
        {
            writer.WriteRecordBatch(forged);
            writer.WriteEnd();
        }
        var result = CliHarness.Run("summary", folder);
        Assert.Equal(((int)MemNotebook.Cli.ExitCode.BadCapture, ""), (result.ExitCode, result.Out));
        Assert.Equal($"memnb: {table}: size out of range at row 1: {3L << 61} brings the column's sum past 2^63 − 1\n", result.Err);
    }

    [Fact]
    public void A_free_of_more_objects_than_the_thread_chunks_can_hold_is_refused_before_it_takes_memory()
    {
        // One allocation, then a FREE of every other sequence number up to 40M: 20M runs of one object
        // (320 MB of runs) from a zstd chunk of a few KB, refused by the pass that skips the thread chunks (they
        // hold one allocation at most), with the error a single read gives.
        var w = new TestCaptureWriter();
        w.Chunk(0).Clock(1000, 1_000_000).Type(0, 0x10, "App.Thing").Thread(2, 100, 1).Write();
        w.Chunk(2).Alloc(1100, 0, 24, 0, 0x1000).Write();
        var gcChunk = w.Length;
        const int count = 20_000_000;
        var free = new byte[count + 8];
        var n = 0;
        free[n++] = 0x24;
        free[n++] = 2; // thread stream
        foreach (var b in new byte[] { 0x80, 0xDA, 0xC4, 0x09 }) // varint 20,000,000
            free[n++] = b;
        free[n++] = 0; // the first sequence number
        for (var i = 1; i < count; i++)
            free[n++] = 2;
        w.Chunk(1).GcEnd(1200, 1).RawRecord(free[..n]).Write(zstd: true);
        w.Chunk(0).Clock(2000, 2_000_000).End(2000, 1, 0, 24).Write();
        Assert.True(w.Length < 64 << 10, $"{w.Length} bytes");
        var path = cli.File("many-runs.memnb", w.ToArray());
        var before = GC.GetAllocatedBytesForCurrentThread();
        var error = Assert.Throws<CaptureFormatException>(() => CaptureStats.Compute(path));
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Equal($"{path}: FREE of a non-existent allocation at offset {gcChunk} in FREE record (tag 0x24): sequence 2 of thread stream 2, which has 1 allocations so far (GC stream 1, record at payload byte 9)", error.Message);
        Assert.True(allocated < 96 << 20, $"{allocated:N0} bytes allocated");
        var result = CliHarness.Run("summary", path);
        Assert.Equal(((int)MemNotebook.Cli.ExitCode.BadCapture, $"memnb: {error.Message}\n"), (result.ExitCode, result.Err));
    }

    /// <summary>
    /// <paramref name="chunks"/> zstd chunks of <paramref name="perChunk"/> identical 6-byte ALLOC records (24 bytes, no
    /// stack) on one thread, then a GC that frees every other one: a few KB that hold tens of millions of allocations.
    /// </summary>
    internal static TestCaptureWriter Expanding(int chunks, int perChunk)
    {
        var w = new TestCaptureWriter();
        w.Chunk(0).Clock(1000, 1_000_000).Type(0, 0x10, "App.Thing").Thread(2, 100, 1).Write();
        byte[] record = [0x01, 0x00, 0x00, 0x18, 0x00, 0x00]; // dt 0, type 0, 24 bytes, stack +0, address +0
        var payload = new byte[record.Length * perChunk];
        for (var i = 0; i < perChunk; i++)
            record.CopyTo(payload, i * record.Length);
        for (var c = 0; c < chunks; c++)
            w.Chunk(2).RawRecord(payload).Write(zstd: true);
        // FREE of sequence numbers 0, 2, 4, …: the first, then differences of 2.
        var total = chunks * perChunk;
        var free = new List<byte> { 0x24, 2 };
        for (var n = (ulong)(total / 2); ; n >>= 7)
        {
            free.Add((byte)(n < 0x80 ? n : (n & 0x7F) | 0x80));
            if (n < 0x80)
                break;
        }
        free.Add(0);
        free.AddRange(Enumerable.Repeat((byte)2, total / 2 - 1));
        w.Chunk(1).GcStart(1100, 1, 0, 1, 24UL * (ulong)total).GcEnd(1200, 1).RawRecord([.. free]).Write(zstd: true);
        w.Chunk(0).Clock(2000, 2_000_000).End(2000, (ulong)total, (ulong)total / 2, 12UL * (ulong)total).Write();
        return w;
    }

    private static string DefaultLimitError(string path, long allocations, long fileBytes) =>
        $"memnb: {path}: too many allocations: {allocations:N0}, more than the 16,777,216 a capture of {fileBytes:N0} bytes is read with by default (64 a byte, at least 16,777,216); if it is a genuine capture, raise the limit with --max-allocations N (memnb), maxAllocations (Capture.Load) or MEMNB_MAX_ALLOCATIONS=N\n";

    [Fact]
    public void A_capture_of_more_allocations_than_its_size_justifies_is_refused_by_every_verb_naming_the_count_and_the_limit()
    {
        // 18M allocations (432 MB of objects, ~1.1 GB of table) in a file of a few KB: beyond the 16,777,216 any capture
        // may hold, and beyond 64 a byte. Refused before any conversion: no table, no folder.
        var w = Expanding(3, 6_000_000);
        Assert.True(w.Length < 16 << 10, $"{w.Length} bytes");
        var path = cli.File("expanding.memnb", w.ToArray());
        var expected = DefaultLimitError(path, 18_000_000, w.Length);
        foreach (var args in ConvertingVerbs(path).Append(["stats", "--json", path]))
        {
            var result = CliHarness.Run(args);
            Assert.Equal(((int)MemNotebook.Cli.ExitCode.BadCapture, "", expected), (result.ExitCode, result.Out, result.Err));
        }
        Assert.Equal([Path.GetFileName(path)], Directory.EnumerateFileSystemEntries(cli.Root).Select(Path.GetFileName));
        var error = Assert.Throws<AllocationLimitException>(() => MemNotebook.Capture.Load(path));
        Assert.Equal((path, 18_000_000L, AllocationLimit.Floor), (error.Path, error.Allocations, error.Limit));
        Assert.Throws<AllocationLimitException>(() => CaptureStats.Compute(path));

        // One below the count is still refused, naming the limit given; the count itself reads the capture exactly.
        var below = CliHarness.Run("stats", "--max-allocations", "17999999", path);
        Assert.Equal(((int)MemNotebook.Cli.ExitCode.BadCapture, $"memnb: {path}: too many allocations: 18,000,000, more than the limit of 17,999,999 given (--max-allocations, maxAllocations); raise it to read the capture\n"),
            (below.ExitCode, below.Err));
        var raised = CliHarness.Run("stats", "--json", "--max-allocations", "18000000", path);
        Assert.Equal((0, ""), (raised.ExitCode, raised.Err));
        using var json = System.Text.Json.JsonDocument.Parse(raised.Out);
        var root = json.RootElement;
        Assert.Equal((18_000_000L, 24L * 18_000_000, 9_000_000L, 24L * 9_000_000, 9_000_000L),
            (root.GetProperty("total_allocations").GetInt64(), root.GetProperty("total_bytes").GetInt64(), root.GetProperty("freed_allocations").GetInt64(),
                root.GetProperty("freed_bytes").GetInt64(), root.GetProperty("leaked_allocations").GetInt64()));
    }

    [Fact]
    public void A_limit_given_below_the_count_refuses_a_capture_and_its_cached_tables_and_the_count_itself_converts_it()
    {
        // Three allocations whose records take more than 6 bytes: the chunk headers allow up to 4, so they are counted.
        var w = new TestCaptureWriter();
        w.Chunk(0).Clock(1000, 1_000_000).Type(0, 0x10, "App.Thing").StackNode(1, 0, 0x100).Frame(0x100, 0, "App.Main")
            .Thread(2, 100, 1).Write();
        w.Chunk(2).Alloc(1100, 0, 24, 1, 0x1000).Alloc(1200, 0, 48, 1, 0x2000).Alloc(1300, 0, 72, 1, 0x3000).Write();
        w.Chunk(0).Clock(2000, 2_000_000).End(2000, 3, 0, 144).Write();
        var path = cli.File("three.memnb", w.ToArray());
        var refused = $"memnb: {path}: too many allocations: 3, more than the limit of 2 given (--max-allocations, maxAllocations); raise it to read the capture\n";
        var summary = CliHarness.Run("summary", "--all", "--max-allocations", "2", path);
        Assert.Equal(((int)MemNotebook.Cli.ExitCode.BadCapture, "", refused), (summary.ExitCode, summary.Out, summary.Err));
        Assert.False(Directory.Exists(path + ".arrow"));
        var arrow = CliHarness.Run("transform", "arrow", "--max-allocations", "2", path, "-o", cli.PathOf("out"));
        Assert.Equal(((int)MemNotebook.Cli.ExitCode.BadCapture, refused), (arrow.ExitCode, arrow.Err));
        Assert.False(Directory.Exists(cli.PathOf("out")));

        var converted = CliHarness.Run("summary", "--all", "--max-allocations", "3", path);
        Assert.Equal((0, ""), (converted.ExitCode, converted.Err));
        Assert.StartsWith("Functions, all allocations: 144 B in 3 allocations\n", converted.Out);
        Assert.Equal((3, 144L), (MemNotebook.Capture.Load(path, maxAllocations: 3).All.Count, MemNotebook.Capture.Load(path).All.Bytes));
        // The tables cached by that conversion are refused as the capture is.
        Assert.True(Directory.Exists(path + ".arrow"));
        var cached = CliHarness.Run("table", "--max-allocations", "2", path);
        Assert.Equal(((int)MemNotebook.Cli.ExitCode.BadCapture, refused), (cached.ExitCode, cached.Err));
        Assert.Equal(3, Assert.Throws<AllocationLimitException>(() => MemNotebook.Capture.Load(path, maxAllocations: 1)).Allocations);
        var bad = CliHarness.Run("stats", "--max-allocations", "0", path);
        Assert.Equal(((int)MemNotebook.Cli.ExitCode.Usage, "memnb stats: --max-allocations must be 1 or more, not 0\n"), (bad.ExitCode, bad.Err.Split("usage:")[0]));
    }

    [Fact]
    public void A_speedscope_export_that_would_expand_a_small_capture_by_its_depth_is_refused_and_writes_nothing()
    {
        // A chain of 1,000 frames with 6,000 leaves under it, one allocation on each: every sample lists 1,001
        // frames, 18M in the three profiles, from a capture of ~100 KB.
        const int depth = 1000, leaves = 6000;
        var w = new TestCaptureWriter();
        var meta = w.Chunk(0).Clock(1000, 1_000_000).Type(0, 0x10, "App.Thing").Thread(2, 100, 1);
        for (var i = 1; i <= depth; i++)
            meta.StackNode((ulong)i, (ulong)i - 1, 0x1000 + (ulong)i).Frame(0x1000 + (ulong)i, 0, $"App.F{i}");
        for (var j = 0; j < leaves; j++)
            meta.StackNode((ulong)(depth + 1 + j), depth, 0x100000 + (ulong)j);
        meta.Write(zstd: true);
        var thread = w.Chunk(2);
        for (var j = 0; j < leaves; j++)
            thread.Alloc(1100 + (ulong)j, 0, 24, depth + 1 + j, 0x10000 + 24 * (ulong)j);
        thread.Write(zstd: true);
        w.Chunk(0).Clock(90_000, 2_000_000).End(90_000, leaves, 0, 24 * leaves).Write();
        var path = cli.File("deep.memnb", w.ToArray());
        var output = cli.PathOf("deep.json");
        var result = CliHarness.Run("transform", "speedscope", path, "-o", output);
        Assert.Equal((int)MemNotebook.Cli.ExitCode.BadCapture, result.ExitCode);
        Assert.Equal($"memnb: {path}: too large for speedscope: its 3 profiles would list 18,018,000 frames in 18,000 samples up to 1,001 frames deep, more than the 16,777,216 a capture of {w.Length:N0} bytes may expand to; the flame graph (memnb flamegraph) shares stack prefixes and shows it\n", result.Err);
        Assert.False(File.Exists(output));
    }

    /// <summary>
    /// A chain of <paramref name="depth"/> named frames with <paramref name="leaves"/> named leaves under it, one
    /// allocation of 24 bytes on each leaf.
    /// </summary>
    private static TestCaptureWriter DeepStacks(int depth, int leaves)
    {
        var w = new TestCaptureWriter();
        var meta = w.Chunk(0).Clock(1000, 1_000_000).Type(0, 0x10, "App.Thing").Thread(2, 100, 1);
        for (var i = 1; i <= depth; i++)
            meta.StackNode((ulong)i, (ulong)i - 1, 0x1000 + (ulong)i).Frame(0x1000 + (ulong)i, 0, $"App.F{i}");
        for (var j = 0; j < leaves; j++)
            meta.StackNode((ulong)(depth + 1 + j), (ulong)depth, 0x100000 + (ulong)j).Frame(0x100000 + (ulong)j, 0, $"App.Leaf{j}");
        meta.Write(zstd: true);
        var thread = w.Chunk(2);
        for (var j = 0; j < leaves; j++)
            thread.Alloc(1100 + (ulong)j, 0, 24, depth + 1 + j, 0x10000 + 24 * (ulong)j);
        thread.Write(zstd: true);
        w.Chunk(0).Clock(90_000, 2_000_000).End(90_000, (ulong)leaves, 0, 24UL * (ulong)leaves).Write();
        return w;
    }

    [Fact]
    public void Inclusive_functions_of_deep_stacks_take_memory_by_stack_node_not_by_stack_times_depth()
    {
        // 6,000 stacks 1,001 frames deep: a list of functions per stack was 24 MB (60,000 such stacks, 240 MB).
        const int depth = 1000, leaves = 6000;
        var path = cli.File("deep-summary.memnb", DeepStacks(depth, leaves).ToArray());
        var capture = MemNotebook.Capture.Load(path);
        var stacks = capture.ArrowTable(ArrowLayout.Stacks);
        var frames = capture.ArrowTable(ArrowLayout.Frames);
        var before = GC.GetAllocatedBytesForCurrentThread();
        var (sets, names) = AllocationColumns.InclusiveTable(stacks, frames);
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.True(allocated < 4 << 20, $"{allocated:N0} bytes allocated");
        // Each leaf's set: itself, then App.F1000 … App.F1 (innermost first), every name once.
        var leaf = new List<string>();
        foreach (var f in sets[depth + 1 + 17])
            leaf.Add(names[f]);
        Assert.Equal(new[] { "App.Leaf17" }.Concat(Enumerable.Range(1, depth).Reverse().Select(i => $"App.F{i}")), leaf);
        var unknown = new List<int>();
        foreach (var f in sets[0])
            unknown.Add(f);
        Assert.Equal([0], unknown);
        var summary = SummaryReport.Build(capture.All, top: 3);
        // Every chain function holds every allocation (ties by name, ordinal); 7,000 functions in all.
        Assert.Equal([("App.F1", 24L * leaves, (long)leaves), ("App.F10", 24L * leaves, leaves), ("App.F100", 24L * leaves, leaves)],
            summary.Rows.Select(r => (r.Function, r.TotalBytes, r.Count)));
        Assert.Equal(depth + leaves, summary.Functions);
    }

    [Fact]
    public void An_inverted_tree_that_would_repeat_a_deep_chain_under_every_leaf_is_refused_with_one_error()
    {
        // 2,200 leaves under a chain of 1,000 frames: inverted, each leaf has the whole chain below it, 2.2M nodes (the
        // 60,000 leaves of a 376 KB capture took 14.6 GB and did not finish in two minutes). Not inverted, 3,200 nodes.
        const int depth = 1000, leaves = 2200;
        var w = DeepStacks(depth, leaves);
        var path = cli.File("deep-inverted.memnb", w.ToArray());
        var expected = $"memnb: {path}: too large for a tree: it would have more than 2,097,152 frames, the most a capture of {w.Length:N0} bytes may make (FlameTree.MaxNodes); the tree without --inverted shares stack prefixes\n";
        var tree = CliHarness.Run("tree", "--inverted", path);
        Assert.Equal(((int)MemNotebook.Cli.ExitCode.BadCapture, "", expected), (tree.ExitCode, tree.Out, tree.Err));
        var html = cli.PathOf("inverted.html");
        var flamegraph = CliHarness.Run("flamegraph", "--inverted", "-o", html, path);
        Assert.Equal(((int)MemNotebook.Cli.ExitCode.BadCapture, expected), (flamegraph.ExitCode, flamegraph.Err));
        Assert.False(File.Exists(html));
        var plain = CliHarness.Run("tree", path);
        Assert.Equal((0, ""), (plain.ExitCode, plain.Err));
        Assert.Equal(depth + leaves + 1, FlameTree.Build(MemNotebook.Capture.Load(path), ReportSelection.Peak).NodeCount);
    }

    /// <summary>One allocation on each of <paramref name="threads"/> threads, on stacks spread over <paramref name="stacks"/> flat stack nodes.</summary>
    private static TestCaptureWriter ManyThreadsManyStacks(int threads, int stacks)
    {
        var w = new TestCaptureWriter();
        var meta = w.Chunk(0).Clock(1000, 1_000_000).Type(0, 0x10, "App.Thing");
        for (var i = 1; i <= stacks; i++)
            meta.StackNode((ulong)i, 0, 0x1000 + (ulong)i);
        meta.Frame(0x1001, 0, "App.Main");
        for (var t = 0; t < threads; t++)
            meta.Thread(2 + (ulong)t, 100 + (ulong)t, 1 + (ulong)t);
        meta.Write(zstd: true);
        for (var t = 0; t < threads; t++)
            w.Chunk(2 + t).Alloc(1100 + (ulong)t, 0, 24, 1 + t * (stacks / threads), 0x10000 + 64 * (ulong)t).Write();
        w.Chunk(0).Clock(90_000, 2_000_000).End(90_000, (ulong)threads, 0, 24UL * (ulong)threads).Write();
        return w;
    }

    [Theory]
    [InlineData(0)]
    [InlineData(40)]
    public void A_tree_split_by_thread_takes_no_array_of_every_stack_per_thread(int timeBuckets)
    {
        // 400 threads with one allocation each over 20,000 stacks: two arrays of every stack per thread were
        // 128 MB (a thousand threads over 60,000 stacks, a GB, from a capture of ~100 KB).
        const int threads = 400, stacks = 20_000;
        var path = cli.File("threads.memnb", ManyThreadsManyStacks(threads, stacks).ToArray());
        var capture = MemNotebook.Capture.Load(path);
        var view = capture.All;
        _ = view.Rows;
        _ = capture.Columns.StackParents();
        var before = GC.GetAllocatedBytesForCurrentThread();
        var tree = FlameTree.Build(view, ReportSelection.Peak, splitThreads: true, timeBuckets: timeBuckets);
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.True(allocated < 24 << 20, $"{allocated:N0} bytes allocated");
        Assert.Equal((threads, 24L * threads), (tree.Count, tree.TotalBytes));
        Assert.Equal(threads, tree.Root.Children.Count);
    }

    private static TestCaptureWriter Empty()
    {
        var w = new TestCaptureWriter();
        w.Chunk(0).Clock(1000, 1_000_000).Thread(2, 100, 1).Clock(2000, 2_000_000).End(2000, 0, 0, 0).Write();
        return w;
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_capture_without_allocations_gives_a_valid_empty_table_and_reports_that_say_so(bool withEnd)
    {
        // Without END: a process killed in its first 10 ms, the file header and nothing else.
        var path = cli.File("empty.memnb", withEnd ? Empty().ToArray() : new TestCaptureWriter().ToArray());
        foreach (var (verb, heading) in new[]
                 {
                     ("summary", "Functions, alive at the peak: 0 B in 0 allocations"),
                     ("tree", "Biggest allocation paths, alive at the peak: 0 B in 0 allocations"),
                     ("table", "Allocations by thread, type, function and size, alive at the peak: 0 B in 0 allocations"),
                 })
        {
            var result = CliHarness.Run(verb, path);
            Assert.Equal((0, "", heading + "\n\n  (no allocations)\n"), (result.ExitCode, result.Err, result.Out));
        }
        foreach (var args in ConvertingVerbs(path))
        {
            var result = CliHarness.Run(args);
            Assert.True(result.ExitCode == 0, $"{string.Join(' ', args)}: {result.Err}");
        }
        // The table opens as Arrow: the file header, the schema, no batches.
        using (var file = File.OpenRead(Path.Combine(cli.PathOf("arrow"), "allocations.arrow")))
        using (var reader = new ArrowFileReader(file))
        {
            Assert.Equal(ArrowLayout.AllocationsSchema.FieldsList.Select(f => f.Name), reader.Schema.FieldsList.Select(f => f.Name));
            Assert.Equal(0, await reader.RecordBatchCountAsync());
        }
        var capture = MemNotebook.Capture.Load(path);
        Assert.Equal((0, 0L, 0L), (capture.All.Count, capture.All.Bytes, capture.PeakBytes));
        Assert.Equal(0, capture.Stats().TotalAllocations);
    }
}
