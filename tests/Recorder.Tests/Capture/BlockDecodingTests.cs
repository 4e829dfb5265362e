using MemNotebook.Recorder.Analysis;
using MemNotebook.Recorder.Arrow;
using MemNotebook.Recorder.Format;
using Xunit;

namespace MemNotebook.Recorder.Tests.Capture;

/// <summary>
/// The reader's bulk paths: consecutive ALLOC records as column blocks (a fast path with a checked
/// fallback per record) and FREE records as runs of consecutive sequence numbers. Each must deliver
/// exactly what record-by-record decoding would, and fail on the same record with the same message.
/// </summary>
public class BlockDecodingTests
{
    private const ulong HighTypeIndex = 3_000_000; // above the reader's dense type table

    private readonly record struct Alloc(ulong Ticks, ulong Type, ulong Size, long Stack, ulong Address);

    /// <summary>Records the blocks and runs as delivered, and each row as a single record.</summary>
    private sealed class BulkLog : CaptureVisitor
    {
        public List<(int Stream, long First, int Count)> Blocks { get; } = new();
        public List<AllocationRecord> Rows { get; } = new();
        public List<(int Stream, long First, long Count, long Ticks, long GcIndex)> FreeRuns { get; } = new();
        public List<FreeRecord> Frees { get; } = new();

        public override void OnFree(in FreeRecord free) => Frees.Add(free);

        public override void OnAllocations(in AllocationBlock block)
        {
            Blocks.Add((block.ThreadStream, block.FirstSequence, block.Count));
            for (var i = 0; i < block.Count; i++)
                Rows.Add(block[i]);
        }

        public override void OnAllocation(in AllocationRecord allocation) => Rows.Add(allocation);

        public override void OnFreeRun(int threadStream, long firstSequence, long count, long ticks, long gcIndex) =>
            FreeRuns.Add((threadStream, firstSequence, count, ticks, gcIndex));
    }

    /// <summary>Types 0, 1 and <see cref="HighTypeIndex"/>; stack nodes 1–3 (3 is first used late); thread stream 2.</summary>
    private static TestCaptureWriter Meta(ushort flags = 0)
    {
        var w = new TestCaptureWriter(flags: flags);
        w.Chunk(0).Clock(10, 100).Type(0, 1, "A").Type(1, 2, "B[]", 1).Type(HighTypeIndex, 3, "C")
            .StackNode(1, 0, 0x10).StackNode(2, 1, 0x20).StackNode(3, 2, 0x30).Thread(2, 99, 1).Write();
        return w;
    }

    /// <summary>
    /// 10,000 allocations: sizes of one to four varint bytes, a type above the dense table, address
    /// steps backwards, stack 0 and a stack first used at row 7,000, a timestamp step of five bytes.
    /// </summary>
    private static List<Alloc> Workload()
    {
        var list = new List<Alloc>();
        ulong ticks = 20, address = 0x10000;
        for (var i = 0; i < 10_000; i++)
        {
            ticks += i == 5_000 ? 1UL << 30 : (ulong)(i % 3);
            var size = i % 1000 == 999 ? 3_000_000UL : i % 100 == 50 ? 100_000UL : (ulong)(24 + i % 300);
            var type = i % 777 == 0 ? HighTypeIndex : (ulong)(i % 2);
            long stack = i < 7_000 ? i % 3 : 1 + i % 3;
            address = i % 10 == 3 ? address - 4096 : address + 64;
            list.Add(new Alloc(ticks, type, size, stack, address));
            address += size;
        }
        return list;
    }

    private static AllocationRecord Expected(Alloc a, int sequence) =>
        new(2, sequence, (long)a.Ticks, (int)a.Type, (long)a.Size, (int)a.Stack, a.Address);

    [Fact]
    public void Consecutive_allocations_arrive_as_blocks_of_4096_that_match_the_records_one_by_one()
    {
        var w = Meta();
        var chunk = w.Chunk(2);
        var work = Workload();
        foreach (var a in work)
            chunk.Alloc(a.Ticks, a.Type, a.Size, a.Stack, a.Address);
        chunk.Write(zstd: true);

        var bulk = new BulkLog();
        CaptureReader.Read(new MemoryStream(w.ToArray()), "blocks.memnb", bulk);
        Assert.Equal(new[] { (2, 0L, 4096), (2, 4096L, 4096), (2, 8192L, 1808) }, bulk.Blocks);
        Assert.Equal(work.Select(Expected), bulk.Rows);

        // The default OnAllocations hands each row to OnAllocation: the same records.
        var log = RecordLog.Read(w.ToArray());
        var allocations = log.Lines.Where(l => l.StartsWith("AllocationRecord", StringComparison.Ordinal)).ToList();
        Assert.Equal(work.Select((a, i) => Expected(a, i).ToString()), allocations);
        Assert.Equal(10, log.Result!.FirstTicks); // the CLOCK
        Assert.Equal((long)work[^1].Ticks, log.Result.LastTicks);
    }

    [Fact]
    public void A_block_ends_at_the_first_record_that_is_not_an_alloc_and_sequences_count_every_kind()
    {
        var w = Meta(flags: CaptureFormat.FlagNative);
        w.Chunk(2).Alloc(20, 0, 24, 1, 0x1000).Alloc(21, 1, 32, 2, 0x1020)
            .NativeAlloc(22, 1, 100, 2, 0x9000)
            .Alloc(23, 0, 16, 1, 0x1040)
            .NativeFree(24, 1, 0x9000)
            .Alloc(25, 0, 16, 0, 0x1050).Alloc(26, 0, 16, 0, 0x1060)
            .Write();

        var bulk = new BulkLog();
        CaptureReader.Read(new MemoryStream(w.ToArray()), "mixed.memnb", bulk);
        Assert.Equal(new[] { (2, 0L, 2), (2, 3L, 1), (2, 4L, 2) }, bulk.Blocks);
        Assert.Equal(new long[] { 0, 1, 2, 3, 4, 5 }, bulk.Rows.Select(r => r.Sequence));
        Assert.Equal(new[] { 0, 1, -1, 0, 0, 0 }, bulk.Rows.Select(r => r.TypeIndex));
        Assert.Equal(new ulong[] { 0x1000, 0x1020, 0x9000, 0x1040, 0x1050, 0x1060 }, bulk.Rows.Select(r => r.Address));
        // A native release is delivered on its own, with its time.
        Assert.Equal(new[] { new FreeRecord(2, 2, 24, -1) }, bulk.Frees);
        Assert.Empty(bulk.FreeRuns);
    }

    /// <summary>A chunk of <paramref name="good"/> allocations, then <paramref name="bad"/>; returns the bad record's payload byte.</summary>
    private static (TestCaptureWriter Writer, int Offset) WithBadRecordAt(int good, Action<TestCaptureWriter.ChunkBuilder> bad)
    {
        var w = Meta();
        var chunk = w.Chunk(2);
        for (var i = 0; i < good; i++)
            chunk.Alloc((ulong)(20 + i), 0, 24, 1, (ulong)(0x1000 + 24 * i));
        var offset = chunk.Payload.Length;
        bad(chunk);
        chunk.Alloc(1_000_000, 0, 24, 1, 0x100000);
        chunk.Write();
        return (w, offset);
    }

    private static CaptureFormatException Reject(TestCaptureWriter w) =>
        Assert.Throws<CaptureFormatException>(() => RecordLog.Read(w.ToArray()));

    [Theory]
    [InlineData(0)]
    [InlineData(4095)]
    [InlineData(5000)]
    public void A_bad_record_inside_a_block_is_named_by_its_own_payload_byte(int good)
    {
        var (w, offset) = WithBadRecordAt(good, c => c.Alloc((ulong)(20 + good), 7, 24, 1, 0x200000));
        var error = Reject(w);
        Assert.Equal((byte)0x01, error.Tag);
        Assert.Equal($"undefined type: type index 7 has no TYPE record (thread stream 2, record at payload byte {offset})", error.Problem);

        (w, offset) = WithBadRecordAt(good, c => c.Alloc((ulong)(20 + good), 0, 24, 4, 0x200000));
        Assert.Equal($"undefined stack: stack id 4, only 3 stack nodes are defined (thread stream 2, record at payload byte {offset})",
            Reject(w).Problem);

        (w, offset) = WithBadRecordAt(good, c => c.Alloc((ulong)(20 + good), 0, 1UL << 41, 1, 0x200000));
        Assert.Equal($"size out of range: an allocation of {1L << 41} bytes (thread stream 2, record at payload byte {offset})",
            Reject(w).Problem);

        (w, offset) = WithBadRecordAt(good, c => c.Record(0x01).Varint(ulong.MaxValue).Varint(0).Varint(24).SVarint(0).SVarint(0));
        Assert.StartsWith("timestamp out of range:", Reject(w).Problem);
        Assert.EndsWith($"(thread stream 2, record at payload byte {offset})", Reject(w).Problem);

        // dt, then a varint of eleven bytes in place of the type index.
        (w, offset) = WithBadRecordAt(good, c => c.Record(0x01).Varint(1)
            .RawRecord(0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01));
        Assert.Equal($"varint overflow: a varint does not fit in 64 bits (thread stream 2, record at payload byte {offset})",
            Reject(w).Problem);
    }

    [Fact]
    public void Stacks_checked_across_many_words_of_the_checked_set_still_refuse_a_loop_met_later()
    {
        // 300 stack nodes (chains of up to 7 under the root, ids across five 64-bit words of the reader's set of checked
        // stacks), then 1001 ↔ 1002 defined as each other's parents; 20,000 allocations over the 300 in a scattered order
        // (stack differences of one to three varint bytes) arrive as they were written, and an allocation on 1001 after
        // them is refused as a loop.
        var w = new TestCaptureWriter();
        var meta = w.Chunk(0).Clock(10, 100).Type(0, 1, "A");
        for (var id = 1; id <= 300; id++)
            meta.StackNode((ulong)id, id % 7 == 1 ? 0UL : (ulong)(id - 1), (ulong)(0x1000 + 16 * id));
        for (var id = 301; id <= 1000; id++)
            meta.StackNode((ulong)id, 0, (ulong)(0x1000 + 16 * id));
        meta.StackNode(1001, 1002, 0x90000).StackNode(1002, 1001, 0x90010).Thread(2, 99, 1).Write();
        var chunk = w.Chunk(2);
        var work = new List<Alloc>();
        for (var i = 0; i < 20_000; i++)
            work.Add(new Alloc((ulong)(20 + i), 0, 24, i % 1000 == 999 ? 1000 : 1 + (i * 137L) % 300, (ulong)(0x100000 + 24 * i)));
        foreach (var a in work)
            chunk.Alloc(a.Ticks, a.Type, a.Size, a.Stack, a.Address);
        var offset = chunk.Payload.Length;
        chunk.Alloc(30_000, 0, 24, 1001, 0x900000);
        chunk.Write(zstd: true);

        var bulk = new BulkLog();
        var error = Assert.Throws<CaptureFormatException>(() => CaptureReader.Read(new MemoryStream(w.ToArray()), "stacks.memnb", bulk));
        Assert.Equal($"stack cycle: the parent chain of stack 1001 loops (thread stream 2, record at payload byte {offset})", error.Problem);
        // The four full blocks before it were delivered; the block the bad record is in is not.
        Assert.Equal(work.Take(4 * 4096).Select(Expected), bulk.Rows);
    }

    [Fact]
    public void An_alloc_cut_short_at_the_end_of_its_chunk_is_refused_after_a_full_block()
    {
        var w = Meta();
        var chunk = w.Chunk(2);
        for (var i = 0; i < 4096 + 10; i++)
            chunk.Alloc((ulong)(20 + i), 0, 24, 1, (ulong)(0x1000 + 24 * i));
        var offset = chunk.Payload.Length;
        chunk.Record(0x01).Varint(1).Varint(0);
        chunk.Write();
        Assert.Equal($"record runs past the end of its chunk: a chunk holds whole records only (thread stream 2, record at payload byte {offset})",
            Reject(w).Problem);
    }

    /// <summary>Three allocations on stream 2, then one GC chunk with the given FREE.</summary>
    private static TestCaptureWriter WithFrees(int allocations, params ulong[][] frees)
    {
        var w = Meta();
        var chunk = w.Chunk(2);
        for (var i = 0; i < allocations; i++)
            chunk.Alloc((ulong)(20 + i), 0, 8, 1, (ulong)(0x1000 + 8 * i));
        chunk.Write();
        var gc = w.Chunk(1).GcStart(1000, 1, 0, 1, 0).GcEnd(1001, 1);
        foreach (var free in frees)
            gc.Free(2, free);
        gc.Write();
        return w;
    }

    [Fact]
    public void Consecutive_freed_numbers_arrive_as_runs_and_one_by_one_by_default()
    {
        var w = WithFrees(20, [0, 1, 2, 5, 6, 9], [10, 11, 12, 13, 19]);
        var bulk = new BulkLog();
        CaptureReader.Read(new MemoryStream(w.ToArray()), "runs.memnb", bulk);
        Assert.Equal(new[]
        {
            (2, 0L, 3L, 1001L, 1L), (2, 5L, 2L, 1001L, 1L), (2, 9L, 1L, 1001L, 1L),
            (2, 10L, 4L, 1001L, 1L), (2, 19L, 1L, 1001L, 1L),
        }, bulk.FreeRuns);

        var frees = RecordLog.Read(w.ToArray()).Lines.Where(l => l.StartsWith("FreeRecord", StringComparison.Ordinal));
        Assert.Equal(new long[] { 0, 1, 2, 5, 6, 9, 10, 11, 12, 13, 19 }.Select(s => new FreeRecord(2, s, 1001, 1).ToString()), frees);
    }

    [Fact]
    public void The_first_bad_number_of_a_free_is_the_one_reported()
    {
        // 3 … 5 freed, then 1 … 9: 3 is the first freed twice.
        var error = Reject(WithFrees(20, [3, 4, 5], [1, 2, 3, 4, 5, 6, 7, 8, 9]));
        Assert.StartsWith("FREE of an already freed allocation: sequence 3 of thread stream 2", error.Problem);

        // Within one word of the freed set, and across words and pages.
        error = Reject(WithFrees(200_000, [130_000], [..Enumerable.Range(65_000, 70_000).Select(i => (ulong)i)]));
        Assert.StartsWith("FREE of an already freed allocation: sequence 130000 of thread stream 2", error.Problem);

        // A run that reaches past the allocations so far: the first number that does not exist.
        error = Reject(WithFrees(3, [1, 2, 3, 4]));
        Assert.StartsWith("FREE of a non-existent allocation: sequence 3 of thread stream 2, which has 3 allocations so far", error.Problem);

        // A double free in the run before a repeated number: the double free comes first.
        error = Reject(WithFrees(20, [2], [1, 2, 3, 3]));
        Assert.StartsWith("FREE of an already freed allocation: sequence 2", error.Problem);
        error = Reject(WithFrees(20, [1, 2, 3, 3]));
        Assert.StartsWith("FREE sequence numbers not ascending: 3 of stream 2 appears twice", error.Problem);
    }

    [Fact]
    public void The_conversion_reports_a_free_of_an_allocation_not_made_yet_as_a_single_read_does()
    {
        // The conversion's second pass only checks that each FREE names allocations made before it (its
        // first pass checked the rest): a failing FREE is decoded in full, for the same error.
        using var scratch = new Arrow.ScratchFolder();
        foreach (var frees in new ulong[][][] { [[1, 2, 3, 4]], [[0], [2, 7]], [[5]] })
        {
            var w = WithFrees(3, frees);
            var single = Reject(w);
            var path = scratch.Write($"free-{frees.Length}-{frees[0][0]}.memnb", w);
            var converting = Assert.Throws<CaptureFormatException>(() => ArrowConverter.Convert(path, path + ".arrow"));
            Assert.Equal(single.Problem.Replace("test.memnb", path), converting.Problem);
            Assert.Equal(single.Offset, converting.Offset);
            Assert.StartsWith("FREE of a non-existent allocation", converting.Problem);
        }
    }

    [Fact]
    public void Random_corruption_of_blocks_and_frees_gives_format_errors_only_and_the_same_rows_everywhere()
    {
        // Stored chunks (a flipped byte changes records, not a zstd frame): 6,000 allocations on two
        // streams, frees in runs, so the fast path, its fallback and the FREE runs all meet bad bytes.
        var w = Meta();
        var a = w.Chunk(2);
        for (var i = 0; i < 6_000; i++)
            a.Alloc((ulong)(20 + i), (ulong)(i % 2), (ulong)(24 + i % 500), 1 + i % 3, (ulong)(0x10000 + i * 600));
        a.Write();
        w.Chunk(0).Thread(3, 98, 2).Write();
        var b = w.Chunk(3);
        for (var i = 0; i < 500; i++)
            b.Alloc((ulong)(7_000 + i), 1, 40, 2, (ulong)(0x900000 + i * 64));
        b.Write();
        w.Chunk(1).GcStart(8_000, 1, 0, 1, 0).GcEnd(8_001, 1)
            .Free(2, [.. Enumerable.Range(0, 6_000).Where(i => i % 7 != 3).Select(i => (ulong)i)])
            .Free(3, [.. Enumerable.Range(100, 300).Select(i => (ulong)i)]).Write();
        var bytes = w.ToArray();
        using var scratch = new Arrow.ScratchFolder();
        var random = new Random(2026);
        var converted = 0;
        for (var i = 0; i < 1500; i++)
        {
            var copy = (byte[])bytes.Clone();
            for (var f = 1 + random.Next(3); f > 0; f--)
                copy[32 + random.Next(copy.Length - 32)] = (byte)random.Next(256);
            long? rows = null;
            try
            {
                rows = RecordLog.Read(copy).Lines.Count(l => l.StartsWith("AllocationRecord", StringComparison.Ordinal));
            }
            catch (CaptureFormatException)
            {
            }
            if (i % 10 != 0)
                continue;
            // The two-pass readers agree with the single read: the same rows, or a format error.
            var path = scratch.Write($"corrupt-{i}.memnb", copy);
            try
            {
                var conversion = ArrowConverter.Convert(path, path + ".arrow");
                Assert.True(rows is not null, $"mutation {i}: the conversion read a capture the single read refused");
                Assert.Equal(rows, conversion.Metadata.Allocations);
                Assert.Equal(rows, CaptureStats.Compute(path).TotalAllocations);
                converted++;
            }
            catch (CaptureFormatException error)
            {
                Assert.True(rows is null, $"mutation {i}: the single read took the capture the conversion refused: {error.Message}");
                Assert.Throws<CaptureFormatException>(() => CaptureStats.Compute(path));
            }
        }
        Assert.InRange(converted, 1, 149);
    }

    [Fact]
    public void Marking_a_range_freed_works_a_word_at_a_time_across_pages()
    {
        var set = new FreedSet();
        Assert.Equal(-1, set.MarkFreed(60, 10));             // across a word boundary
        Assert.Equal(-1, set.MarkFreed(70, 65_536 * 2));     // across two page boundaries, a page collapses
        Assert.Equal(60, set.MarkFreed(50, 15));             // 50 … 59 are marked, 60 was freed
        Assert.False(set.TryMarkFreed(59));
        Assert.False(set.TryMarkFreed(50));
        Assert.Equal(-1, set.MarkFreed(0, 50));
        Assert.False(set.TryMarkFreed(0));
        Assert.Equal(65_536, set.MarkFreed(65_536, 1));      // a collapsed page
        Assert.Equal(-1, set.MarkFreed(70 + 65_536 * 2, 64));
        Assert.False(set.TryMarkFreed(70 + 65_536 * 2 + 63));
        Assert.True(set.TryMarkFreed(70 + 65_536 * 2 + 64));
    }

    [Fact]
    public void Free_times_fill_a_column_of_sequences_with_runs_gaps_and_an_alive_tail()
    {
        var frees = new FreeTimes();
        frees.AddRun(2, 3, 4, 1000, 1);     // 3 … 6 by GC 1
        frees.AddRun(2, 7, 2, 2000, 2);     // 7, 8 by GC 2
        frees.AddRun(2, 20, 1, 2000, 2);
        frees.AddRun(3, 0, 5, 1000, 1);
        frees.Add(new FreeRecord(2, 10, 1500, -1)); // a native release at its own time
        Assert.Equal(13, frees.FreedCount);
        var lookup = frees.Seal(new TickClock(0, 1.0, isEstimated: false));

        var column = new long[25];
        Assert.Equal(25 - 8, lookup.Fill(2, 0, column));
        long[] expected = [-1, -1, -1, 1000, 1000, 1000, 1000, 2000, 2000, -1, 1500, -1, -1, -1, -1, -1, -1, -1, -1, -1, 2000, -1, -1, -1, -1];
        Assert.Equal(expected, column);

        // In pieces, as batches split a block: the cursor carries over.
        var fresh = new FreeTimes();
        fresh.AddRun(2, 3, 4, 1000, 1);
        fresh.AddRun(2, 7, 2, 2000, 2);
        fresh.AddRun(2, 20, 1, 2000, 2);
        fresh.Add(new FreeRecord(2, 10, 1500, -1));
        var pieces = fresh.Seal(new TickClock(0, 1.0, isEstimated: false));
        var joined = new List<long>();
        foreach (var (start, length) in new[] { (0, 4), (4, 1), (5, 6), (11, 14) })
        {
            var part = new long[length];
            pieces.Fill(2, start, part);
            joined.AddRange(part);
        }
        Assert.Equal(expected, joined);
        Assert.Equal(-1, pieces.FreedAtNs(3, 2)); // stream 3 has no runs in this set
        Assert.Equal(1000, lookup.FreedAtNs(3, 4));
        Assert.Equal(-1, lookup.FreedAtNs(3, 5));
    }
}
