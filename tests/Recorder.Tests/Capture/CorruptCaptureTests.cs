using MemNotebook.Recorder.Format;
using Xunit;

namespace MemNotebook.Recorder.Tests.Capture;

public class CorruptCaptureTests
{
    private static CaptureFormatException Reject(TestCaptureWriter writer) =>
        Assert.Throws<CaptureFormatException>(() => RecordLog.Read(writer.ToArray()));

    /// <summary>A capture with a clock, one type, two stack nodes and thread stream 2.</summary>
    private static TestCaptureWriter Base()
    {
        var w = new TestCaptureWriter();
        w.Chunk(0).Clock(10, 100).Type(0, 1, "System.Object").StackNode(1, 0, 0x10).StackNode(2, 1, 0x20)
            .Thread(2, 99, 1).Write();
        return w;
    }

    [Fact]
    public void Bad_magic_is_not_a_memnotebook_capture()
    {
        var bytes = Captures.Small().ToArray();
        bytes[0] = (byte)'X';
        var error = Assert.Throws<CaptureFormatException>(() => RecordLog.Read(bytes));
        Assert.Equal("test.memnb: not a MemNotebook capture at offset 0: the file does not start with MEMNBCAP", error.Message);
        Assert.Equal(0, error.Offset);
    }

    [Fact]
    public void A_newer_format_version_is_refused_with_both_versions_named()
    {
        var error = Reject(new TestCaptureWriter(version: 2));
        Assert.Equal("test.memnb: written by a newer MemNotebook (format version 2, this reader knows 1) at offset 8", error.Message);
        Assert.Equal(8, error.Offset);
    }

    [Fact]
    public void Format_version_zero_and_a_wrong_header_size_are_refused()
    {
        Assert.Contains("unsupported format version 0", Reject(new TestCaptureWriter(version: 0)).Message);
        var w = new TestCaptureWriter(header: false);
        w.WriteHeader(1, 1, 0, headerSize: 64);
        var error = Reject(w);
        Assert.Equal(12, error.Offset);
        Assert.Contains("bad header size: 64", error.Problem);
    }

    [Fact]
    public void Bad_chunk_magic_names_the_chunk_offset()
    {
        var w = Base();
        w.RawChunk(2, [0x01], magic: 0xDEADBEEF);
        var error = Reject(w);
        Assert.Equal(w.Boundaries[1], error.Offset);
        Assert.Contains("bad chunk magic: 0xDEADBEEF", error.Problem);
    }

    [Fact]
    public void Garbage_after_the_last_chunk_is_corruption_not_truncation()
    {
        var w = Base();
        w.RawBytes(0x00, 0x11);
        Assert.Contains("bad chunk magic", Reject(w).Problem);
    }

    [Fact]
    public void Oversize_chunk_lengths_are_refused_before_reading_the_payload()
    {
        var w = Base();
        w.RawChunk(2, [], storedSize: 64 * 1024 * 1024 + 1, rawSize: 64 * 1024 * 1024 + 1);
        Assert.Contains("chunk too large: stored payload size 67108865 exceeds the 64 MiB limit", Reject(w).Problem);

        w = Base();
        w.RawChunk(2, [1, 2, 3], rawSize: uint.MaxValue, codec: 1);
        Assert.Contains("chunk too large: raw payload size 4294967295", Reject(w).Problem);
    }

    [Fact]
    public void Unknown_codec_and_disagreeing_sizes_are_refused()
    {
        var w = Base();
        w.RawChunk(2, [1], codec: 7);
        Assert.Contains("unknown codec: 7", Reject(w).Problem);

        w = Base();
        w.RawChunk(2, [1], rawSize: 2);
        Assert.Contains("chunk sizes disagree: stored size 1, raw size 2", Reject(w).Problem);
    }

    [Fact]
    public void A_corrupt_zstd_payload_or_a_wrong_raw_size_is_refused()
    {
        var w = Base();
        w.RawChunk(2, [0x28, 0xB5, 0x2F, 0xFD, 0xFF, 0xFF, 0xFF], rawSize: 10, codec: 1);
        Assert.Contains("zstd", Reject(w).Problem);

        var good = new TestCaptureWriter();
        var payload = good.Chunk(0).Clock(1, 1).Clock(2, 2).Payload;
        using var compressor = new ZstdSharp.Compressor();
        var stored = compressor.Wrap(payload).ToArray();
        w = new TestCaptureWriter();
        w.RawChunk(0, stored, rawSize: (uint)payload.Length + 1, codec: 1);
        Assert.Contains($"it decompresses to {payload.Length} bytes, the chunk says {payload.Length + 1}", Reject(w).Problem);
        w = new TestCaptureWriter();
        w.RawChunk(0, stored, rawSize: (uint)payload.Length - 1, codec: 1);
        Assert.Contains("decompresses to more than", Reject(w).Problem);
    }

    [Fact]
    public void A_chunk_of_an_undefined_stream_is_refused()
    {
        var w = Base();
        w.Chunk(5).Alloc(20, 0, 8, 0, 0).Write();
        var error = Reject(w);
        Assert.Equal(w.Boundaries[1], error.Offset);
        Assert.Contains("undefined stream: chunk of stream 5", error.Problem);
    }

    [Fact]
    public void An_unknown_tag_is_refused_with_the_tag_and_the_stream_named()
    {
        var w = Base();
        w.Chunk(2).RawRecord(0x7F).Write();
        var error = Reject(w);
        Assert.Equal((byte)0x7F, error.Tag);
        Assert.Equal(w.Boundaries[1], error.Offset);
        Assert.Equal($"test.memnb: unknown record tag at offset {w.Boundaries[1]} in unknown record (tag 0x7F): " +
            "0x7F is not a record of the thread stream 2 (thread stream 2, record at payload byte 0)", error.Message);

        w = Base();
        w.Chunk(1).Clock(20, 200).Write();
        error = Reject(w);
        Assert.Equal((byte)0x10, error.Tag);
        Assert.Contains("not a record of the GC stream 1", error.Problem);
    }

    [Fact]
    public void An_allocation_of_an_undefined_type_is_refused()
    {
        var w = Base();
        w.Chunk(2).Alloc(20, 3, 8, 0, 0).Write();
        var error = Reject(w);
        Assert.Equal((byte)0x01, error.Tag);
        Assert.Contains("undefined type: type index 3 has no TYPE record", error.Problem);
        Assert.Contains("in ALLOC record (tag 0x01)", error.Message);
    }

    [Fact]
    public void An_allocation_of_an_undefined_stack_is_refused()
    {
        var w = Base();
        w.Chunk(2).Alloc(20, 0, 8, 3, 0).Write();
        Assert.Contains("undefined stack: stack id 3, only 2 stack nodes are defined", Reject(w).Problem);

        w = Base();
        w.Chunk(2).Alloc(20, 0, 8, -1, 0).Write();
        Assert.Contains("undefined stack", Reject(w).Problem);

        w = Base();
        w.Chunk(2).Alloc(20, 0, 8, long.MinValue / 2, 0).Write();
        Assert.Contains("undefined stack", Reject(w).Problem);
    }

    [Fact]
    public void A_stack_whose_parent_is_undefined_is_refused_when_used()
    {
        var w = new TestCaptureWriter();
        w.Chunk(0).Type(0, 1, "T").StackNode(1, 9, 0x10).Thread(2, 1, 1).Write();
        w.Chunk(2).Alloc(1, 0, 8, 1, 0).Write();
        Assert.Contains("undefined stack: stack node 1 has parent 9", Reject(w).Problem);
    }

    [Fact]
    public void A_stack_cycle_is_refused()
    {
        var w = new TestCaptureWriter();
        w.Chunk(0).Type(0, 1, "T").StackNode(1, 2, 0x10).StackNode(2, 1, 0x20).Thread(2, 1, 1).Write();
        w.Chunk(2).Alloc(1, 0, 8, 2, 0).Write();
        Assert.Contains("stack cycle: the parent chain of stack 2 loops", Reject(w).Problem);

        w = new TestCaptureWriter();
        w.Chunk(0).StackNode(1, 1, 0x10).Write();
        Assert.Contains("stack cycle: stack node 1 is its own parent", Reject(w).Problem);
    }

    [Fact]
    public void Stack_nodes_in_the_compact_record_get_their_ids_parents_and_ips_and_bad_references_are_refused()
    {
        // Nodes 1..4: 1 under the root (ip 0x10), 2 under 1 (ip 0x20), 3 under 1 (0x10 again), 4 under the root (0x20 again).
        var w = new TestCaptureWriter();
        w.Chunk(0).StackNodes((0, 0, 0x10), (0, 1, 0x20), (1, 0, null), (3, 1, null)).Write();
        var log = RecordLog.Read(w.ToArray());
        Assert.Equal(
            new[] { new StackNodeRecord(1, 0, 0x10), new StackNodeRecord(2, 1, 0x20), new StackNodeRecord(3, 1, 0x10), new StackNodeRecord(4, 0, 0x20) }
                .Select(n => n.ToString()),
            log.Lines.Where(l => l.StartsWith("StackNodeRecord", StringComparison.Ordinal)));

        w = new TestCaptureWriter();
        w.Chunk(0).StackNodes((0, 0, 0x10), (2, 0, null)).Write();
        Assert.Contains("stack node 2: its parent is 2 nodes back, but only 1 nodes come before it", Reject(w).Problem);

        w = new TestCaptureWriter();
        w.Chunk(0).StackNodes((0, 0, 0x10), (0, 2, 0x30)).Write();
        Assert.Contains("stack node 2: ip number 2 is not defined (1 ips so far)", Reject(w).Problem);

        w = new TestCaptureWriter();
        w.Chunk(0).StackNodes().Write();
        Assert.Contains("empty STACK_NODES record: its count is 0", Reject(w).Problem);

        // A count beyond the record's bytes: the record ends first.
        w = new TestCaptureWriter();
        w.Chunk(0).RawRecord(0x1C, 0x05, 0x00, 0x00, 0x10).Write();
        Assert.Contains("record runs past the end of its chunk: a chunk holds whole records only", Reject(w).Problem);
    }

    [Fact]
    public void A_stack_deeper_than_1024_frames_is_refused_and_1024_is_accepted()
    {
        TestCaptureWriter Chain(int depth)
        {
            var w = new TestCaptureWriter();
            var meta = w.Chunk(0).Type(0, 1, "T").Thread(2, 1, 1);
            for (var id = 1; id <= depth; id++)
                meta.StackNode((ulong)id, (ulong)id - 1, (ulong)id);
            meta.Write();
            w.Chunk(2).Alloc(1, 0, 8, depth / 2, 0).Alloc(2, 0, 8, depth, 0).Write();
            return w;
        }

        Assert.Equal(2, RecordLog.Read(Chain(1024).ToArray()).Lines.Count(l => l.StartsWith("Allocation")));
        Assert.Contains("stack too deep: stack 1025 has more than 1024 frames", Reject(Chain(1025)).Problem);
    }

    [Fact]
    public void Stack_nodes_must_be_dense_from_one()
    {
        var w = new TestCaptureWriter();
        w.Chunk(0).StackNode(2, 0, 0x10).Write();
        Assert.Contains("stack node out of order: id 2, expected 1", Reject(w).Problem);
    }

    [Fact]
    public void A_varint_longer_than_64_bits_is_refused()
    {
        var w = Base();
        w.Chunk(0).RawRecord(0x10, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x02, 0x00, 0x04).Write();
        var error = Reject(w);
        Assert.Contains("varint overflow", error.Problem);
        Assert.Equal((byte)0x10, error.Tag);

        w = Base();
        w.Chunk(0).RawRecord(0x10, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01, 0x00, 0x04).Write();
        Assert.Contains("varint overflow", Reject(w).Problem);
    }

    [Fact]
    public void A_timestamp_that_overflows_is_refused()
    {
        var w = Base();
        w.Chunk(0).RawRecord(0x10, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F, 0x00, 0x04).Write();
        Assert.Contains("timestamp out of range", Reject(w).Problem);
    }

    [Fact]
    public void An_oversize_string_is_refused_without_reading_it()
    {
        var w = Base();
        // TYPE index 1, class 1, name length 70000 (varint 0xF0 0xA2 0x04), no bytes behind it.
        w.Chunk(0).RawRecord(0x11, 0x01, 0x01, 0xF0, 0xA2, 0x04).Write();
        Assert.Contains("string too long: type name is 70000 bytes, the limit is 65536", Reject(w).Problem);
    }

    [Fact]
    public void A_record_running_past_its_chunk_is_refused()
    {
        var w = Base();
        w.Chunk(0).RawRecord(0x11, 0x01, 0x01, 0x05, (byte)'a').Write();
        var error = Reject(w);
        Assert.Contains("record runs past the end of its chunk", error.Problem);
        Assert.Equal((byte)0x11, error.Tag);
    }

    [Fact]
    public void An_implausible_allocation_size_is_refused()
    {
        var w = Base();
        w.Chunk(2).Alloc(20, 0, 1UL << 50, 0, 0).Write();
        Assert.Contains("size out of range", Reject(w).Problem);
    }

    [Fact]
    public void A_bad_frame_kind_and_a_bad_thread_stream_are_refused()
    {
        var w = Base();
        w.Chunk(0).Frame(0x10, 3, "f").Write();
        Assert.Contains("bad frame kind: 3", Reject(w).Problem);

        w = Base();
        w.Chunk(0).Thread(1, 5, 5).Write();
        Assert.Contains("bad thread stream: stream id 1", Reject(w).Problem);

        w = Base();
        w.Chunk(0).Thread(2, 5, 5).Write();
        Assert.Contains("duplicate thread: stream 2", Reject(w).Problem);

        w = Base();
        w.Chunk(0).Type(0, 5, "again").Write();
        Assert.Contains("duplicate type: type index 0", Reject(w).Problem);

        w = Base();
        w.Chunk(0).End(20, 0, 0, 0).End(30, 0, 0, 0).Write();
        Assert.Contains("duplicate END", Reject(w).Problem);
    }

    private static TestCaptureWriter WithAllocations()
    {
        var w = Base();
        w.Chunk(2).Alloc(20, 0, 8, 1, 0x100).Alloc(21, 0, 8, 2, 0x108).Alloc(22, 0, 8, 2, 0x110).Write();
        return w;
    }

    [Fact]
    public void A_free_of_a_sequence_number_that_was_never_allocated_is_refused()
    {
        var w = WithAllocations();
        w.Chunk(1).GcStart(30, 1, 0, 1, 24).GcEnd(31, 1).Free(2, 1, 3).Write();
        var error = Reject(w);
        Assert.Equal((byte)0x24, error.Tag);
        Assert.Contains("FREE of a non-existent allocation: sequence 3 of thread stream 2, which has 3 allocations so far", error.Problem);
    }

    [Fact]
    public void A_second_free_of_the_same_allocation_is_refused()
    {
        var w = WithAllocations();
        w.Chunk(1).GcStart(30, 1, 0, 1, 24).GcEnd(31, 1).Free(2, 0, 2).Write();
        w.Chunk(1).GcStart(40, 1, 0, 2, 8).GcEnd(41, 2).Free(2, 2).Write();
        Assert.Contains("FREE of an already freed allocation: sequence 2 of thread stream 2", Reject(w).Problem);
    }

    [Fact]
    public void A_free_with_repeated_numbers_or_an_impossible_count_is_refused()
    {
        var w = WithAllocations();
        w.Chunk(1).GcEnd(31, 1).Free(2, 1, 1).Write();
        Assert.Contains("not ascending", Reject(w).Problem);

        w = WithAllocations();
        // FREE stream 2, count 2^40, then nothing.
        w.Chunk(1).GcEnd(31, 1).RawRecord(0x24, 0x02, 0x80, 0x80, 0x80, 0x80, 0x80, 0x20).Write();
        Assert.Contains("count too large: FREE of 1099511627776 objects", Reject(w).Problem);
    }

    [Fact]
    public void A_free_of_an_undefined_stream_or_before_any_gc_end_is_refused()
    {
        var w = WithAllocations();
        w.Chunk(1).GcEnd(31, 1).Free(7, 0).Write();
        Assert.Contains("undefined stream: FREE names thread stream 7", Reject(w).Problem);

        w = WithAllocations();
        w.Chunk(1).GcStart(30, 1, 0, 1, 24).Free(2, 0).Write();
        Assert.Contains("FREE before any GC_END", Reject(w).Problem);
    }

    [Fact]
    public void A_cut_short_header_is_an_error_even_when_truncation_is_allowed()
    {
        var bytes = Captures.Small().ToArray()[..20];
        var error = Assert.Throws<CaptureFormatException>(() => RecordLog.Read(bytes));
        Assert.Equal("test.memnb: truncated header at offset 20: needs 32 bytes, 20 present", error.Message);
    }
}
