using MemNotebook.Recorder.Format;
using MemNotebook.Recorder.Tests.Capture;
using Xunit;

namespace MemNotebook.Recorder.Tests.Aggregated;

public class AggregatedReaderTests
{
    /// <summary>Header flag 1; types 0 and 5; stack 2 → 1; the meta chunk at offset 32.</summary>
    private static TestCaptureWriter Meta()
    {
        var w = new TestCaptureWriter(flags: 1);
        w.Chunk(0).Clock(1000, 5_000).Type(0, 0x10, "System.Object").Type(5, 0x50, "System.Byte[]", 1)
            .StackNode(1, 0, 0x10).StackNode(2, 1, 0x20).Write();
        return w;
    }

    private static CaptureFormatException Reject(TestCaptureWriter w) =>
        Assert.Throws<CaptureFormatException>(() => RecordLog.Read(w.ToArray()));

    [Fact]
    public void Every_field_of_an_aggregate_table_is_decoded_and_the_last_table_is_kept()
    {
        var w = Meta();
        w.Chunk(0).AggTable(1500, false, 100, [new(2, 5, 1, 100, 1, 100, 1, 100)]).Write();
        w.Chunk(0)
            .AggTable(2500, true, 300, [new(2, 5, 3, 400, 1, 200, 1, 100), new(0, 0, 1, 16, 0, 0, 1, 16)])
            .End(2600, 4, 2, 116)
            .Write();
        var log = RecordLog.Read(w.ToArray());
        var result = log.Result!;
        Assert.True(result.Header.IsAggregated);
        Assert.Equal(1, result.Header.Flags);
        Assert.True(result.IsAggregated);
        var table = result.AggregateTable!;
        Assert.True(table.Final);
        Assert.Equal(2500, table.Ticks);
        Assert.Equal(300, table.PeakBytes);
        Assert.Equal(
            [new AggregateRow(2, 5, 3, 400, 1, 200, 1, 100), new AggregateRow(0, 0, 1, 16, 0, 0, 1, 16)],
            table.Rows);
        var tables = log.Lines.Where(l => l.StartsWith("AggregateTableRecord", StringComparison.Ordinal)).ToArray();
        Assert.Equal(2, tables.Length);
        Assert.Contains("Final = False, PeakBytes = 100", tables[0]);
        Assert.Equal(
            "AggregateTableRecord { Final = True, PeakBytes = 300, Rows = MemNotebook.Recorder.Format.AggregateRow[], Ticks = 2500 } " +
            "[AggregateRow { StackId = 2, TypeIndex = 5, Count = 3, Bytes = 400, PeakCount = 1, PeakBytes = 200, AliveCount = 1, AliveBytes = 100 }, " +
            "AggregateRow { StackId = 0, TypeIndex = 0, Count = 1, Bytes = 16, PeakCount = 0, PeakBytes = 0, AliveCount = 1, AliveBytes = 16 }]",
            tables[1]);
        Assert.True(result.Complete);
    }

    [Fact]
    public void A_normal_capture_is_not_aggregated_and_has_no_table()
    {
        var result = RecordLog.Read(Captures.Small().ToArray()).Result!;
        Assert.False(result.Header.IsAggregated);
        Assert.Null(result.AggregateTable);
    }

    [Fact]
    public void An_unknown_header_flag_is_refused_at_offset_10()
    {
        var error = Reject(new TestCaptureWriter(flags: 17));
        Assert.Equal(10, error.Offset);
        Assert.Equal("test.memnb: unknown header flags at offset 10: 0x0011, only bit 0 (aggregated capture), bit 1 (native allocations), bit 2 (sampled capture) and bit 3 (IL positions) are defined", error.Message);
    }

    public static TheoryData<string, AggRow[], ulong?, string> CorruptTables => new()
    {
        { "undefined stack", [new(3, 0, 1, 8, 0, 0, 0, 0)], null, "undefined stack: row 0 names stack id 3, only 2 stack nodes are defined" },
        { "undefined type", [new(1, 0, 1, 8, 0, 0, 0, 0), new(1, 4, 1, 8, 0, 0, 0, 0)], null, "undefined type: row 1 names type index 4, which has no TYPE record" },
        { "peak count above total", [new(1, 0, 1, 8, 2, 8, 0, 0)], null, "peak exceeds total: row 0 (stack 1, type index 0) has 2 objects (8 bytes) alive at the peak of 1 (8 bytes) allocated" },
        { "peak bytes above total", [new(2, 5, 2, 16, 1, 24, 0, 0)], null, "peak exceeds total: row 0 (stack 2, type index 5) has 1 objects (24 bytes) alive at the peak of 2 (16 bytes) allocated" },
        { "alive above total", [new(2, 5, 2, 16, 0, 0, 3, 16)], null, "alive exceeds total: row 0 (stack 2, type index 5) has 3 objects (16 bytes) alive of 2 (16 bytes) allocated" },
        { "duplicate row", [new(2, 5, 1, 8, 0, 0, 0, 0), new(2, 5, 1, 8, 0, 0, 0, 0)], null, "duplicate row: stack 2 and type index 5 appear twice in one table" },
        { "count beyond the chunk", [new(1, 0, 1, 8, 0, 0, 0, 0)], 5, "count too large: AGG_TABLE of 5 rows, but only 8 bytes remain in the chunk (8 bytes at least per row)" },
    };

    [Theory]
    [MemberData(nameof(CorruptTables))]
    public void A_corrupt_table_is_refused_with_the_chunk_offset(string what, AggRow[] rows, ulong? count, string problem)
    {
        var w = Meta();
        w.Chunk(0).AggTable(1500, true, 8, rows, count).Write();
        var error = Reject(w);
        Assert.True(error.Offset == w.Boundaries[1], what);
        Assert.Equal(CaptureFormat.TagAggTable, error.Tag);
        Assert.Equal(problem + " (meta stream 0, record at payload byte 0)", error.Problem);
        Assert.Contains($"at offset {w.Boundaries[1]} in AGG_TABLE record (tag 0x30)", error.Message);
    }

    [Fact]
    public void A_table_cut_short_is_refused_with_the_chunk_offset()
    {
        var w = Meta();
        var chunk = w.Chunk(0).AggTable(1500, true, 8, [], count: 1);
        chunk.Varint(1).Varint(0).Varint(1).Varint(8); // half a row: 4 of 8 varints, 8 bytes left would be needed
        chunk.Write();
        var error = Reject(w);
        Assert.Equal(w.Boundaries[1], error.Offset);
        Assert.StartsWith("count too large: AGG_TABLE of 1 rows, but only 4 bytes remain", error.Problem);

        var w2 = Meta();
        var chunk2 = w2.Chunk(0).AggTable(1500, true, 8, [], count: 1);
        chunk2.Varint(1).Varint(0).Varint(1).Varint(8).Varint(0).Varint(0).Varint(0).U8(0x80); // last varint unfinished
        chunk2.Write();
        var error2 = Reject(w2);
        Assert.Equal(w2.Boundaries[1], error2.Offset);
        Assert.StartsWith("record runs past the end of its chunk", error2.Problem);
    }

    [Fact]
    public void A_stack_cycle_in_a_table_row_is_refused()
    {
        var w = new TestCaptureWriter(flags: 1);
        w.Chunk(0).Type(0, 1, "T").StackNode(1, 2, 0x10).StackNode(2, 1, 0x20).Write();
        w.Chunk(0).AggTable(10, true, 0, [new(2, 0, 1, 8, 0, 0, 0, 0)]).Write();
        Assert.StartsWith("stack cycle", Reject(w).Problem);
    }

    [Fact]
    public void A_table_after_the_final_one_and_a_bad_final_flag_are_refused()
    {
        var w = Meta();
        w.Chunk(0).AggTable(1500, true, 0, []).AggTable(1600, true, 0, []).Write();
        Assert.StartsWith("AGG_TABLE after the final table", Reject(w).Problem);

        var w2 = Meta();
        w2.Chunk(0).Record(0x30).Ticks(1500).U8(2).Varint(0).Varint(0).Write();
        Assert.StartsWith("bad final flag: 2", Reject(w2).Problem);
    }

    [Fact]
    public void An_alloc_in_an_aggregated_capture_is_refused()
    {
        var w = Meta();
        w.Chunk(0).Thread(2, 99, 1).Write();
        w.Chunk(2).Alloc(1100, 0, 8, 1, 0x1000).Write();
        var error = Reject(w);
        Assert.Equal(w.Boundaries[2], error.Offset);
        Assert.Equal(CaptureFormat.TagAlloc, error.Tag);
        Assert.StartsWith("ALLOC in an aggregated capture", error.Problem);

        // Also in the first pass of a conversion, which skips the thread chunks of a normal capture.
        var skipped = Assert.Throws<CaptureFormatException>(() => RecordLog.Read(w.ToArray(),
            new CaptureReaderOptions { SkipAllocations = true }));
        Assert.StartsWith("ALLOC in an aggregated capture", skipped.Problem);
    }

    [Fact]
    public void A_free_in_an_aggregated_capture_and_a_table_in_a_normal_one_are_refused()
    {
        var w = Meta();
        w.Chunk(0).Thread(2, 99, 1).Write();
        w.Chunk(1).GcStart(1100, 1, 0, 1, 0).GcEnd(1200, 1).Free(2, 0).Write();
        var error = Reject(w);
        Assert.Equal(w.Boundaries[2], error.Offset);
        Assert.StartsWith("FREE in an aggregated capture", error.Problem);

        var normal = new TestCaptureWriter();
        normal.Chunk(0).Type(0, 1, "T").AggTable(10, true, 0, []).Write();
        Assert.StartsWith("AGG_TABLE in a capture that is not aggregated", Reject(normal).Problem);
    }
}
