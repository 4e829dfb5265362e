using MemNotebook.Recorder.Format;
using Xunit;

namespace MemNotebook.Recorder.Tests.Capture;

public class CaptureReaderTests
{
    [Fact]
    public void Reader_delivers_every_record_kind_in_file_order_with_deltas_resolved()
    {
        var log = RecordLog.Read(Captures.Small().ToArray());

        Assert.Equal(new[]
        {
            "CaptureHeader { FormatVersion = 1, Flags = 0, ProcessId = 4242, StartWallClockNs = 1700000000000000000 }",
            "ClockRecord { Ticks = 1000, MonotonicNs = 5000000, TscShift = 4 }",
            "TypeRecord { Index = 0, ClassId = 2130710528, Name = System.String, IsArray = False }",
            "TypeRecord { Index = 1, ClassId = 2130714624, Name = System.Byte[], IsArray = True }",
            "StackNodeRecord { Id = 1, ParentId = 0, Ip = 4096 }",
            "StackNodeRecord { Id = 2, ParentId = 1, Ip = 8192 }",
            "FrameRecord { Ip = 4096, Kind = Managed, Function = MyApp.Program.Main, Module = MyApp.dll, Offset = 16 }",
            "FrameRecord { Ip = 8192, Kind = Native, Function = memcpy, Module = libc.so.6, Offset = 32 }",
            "ThreadRecord { StreamId = 2, OsThreadId = 777, ManagedThreadId = 1 }",
            "ThreadNameRecord { OsThreadId = 777, Name = Main }",
            "AllocationRecord { ThreadStream = 2, Sequence = 0, Ticks = 1100, TypeIndex = 0, Size = 32, StackId = 1, Address = 1048576 }",
            "AllocationRecord { ThreadStream = 2, Sequence = 1, Ticks = 1150, TypeIndex = 1, Size = 1024, StackId = 2, Address = 1048608 }",
            "AllocationRecord { ThreadStream = 2, Sequence = 2, Ticks = 1200, TypeIndex = 0, Size = 48, StackId = 2, Address = 2097152 }",
            "Suspend 1300",
            "GcStartRecord { Ticks = 1310, Generations = 1, Reason = 1, GcIndex = 1, LiveBytes = 1104 }",
            "GcEndRecord { Ticks = 1390, GcIndex = 1, Gen0Bytes = 100, Gen1Bytes = 200, Gen2Bytes = 300, LohBytes = 400, PohBytes = 500 }",
            "FreeRecord { ThreadStream = 2, Sequence = 0, Ticks = 1390, GcIndex = 1 }",
            "FreeRecord { ThreadStream = 2, Sequence = 2, Ticks = 1390, GcIndex = 1 }",
            "Resume 1400",
            "AllocationRecord { ThreadStream = 2, Sequence = 3, Ticks = 1500, TypeIndex = 1, Size = 16, StackId = 1, Address = 3145728 }",
            "SnapshotRecord { Ticks = 1600, MonotonicNs = 5009600, RssBytes = 8000000, Gen0Bytes = 100, Gen1Bytes = 200, Gen2Bytes = 300, LohBytes = 400, PohBytes = 500, TrackedLiveBytes = 1040 }",
            "ClockRecord { Ticks = 2000, MonotonicNs = 5016000, TscShift = 4 }",
            "EndRecord { Ticks = 2000, Allocations = 4, Frees = 2, LiveBytes = 1040, Dropped = 0 }",
        }, log.Lines);
        var result = log.Result!;
        Assert.True(result.Complete);
        Assert.False(result.Truncated);
        Assert.Equal(5, result.ChunkCount);
        Assert.Equal(1000, result.FirstClockTicks);
        Assert.Equal(2000, result.LastTicks);
        Assert.Equal(16_000, result.DurationNs);
    }

    [Fact]
    public void Reader_decodes_a_non_seekable_stream_the_same_as_a_file()
    {
        var bytes = Captures.Small().ToArray();
        Assert.Equal(RecordLog.Read(bytes).Lines, RecordLog.Read(bytes, seekable: false).Lines);
    }

    [Fact]
    public void Reader_reads_a_capture_file_from_disk_and_names_it_in_errors()
    {
        var path = Path.Combine(Path.GetTempPath(), $"reader-{Guid.NewGuid():N}.memnb");
        try
        {
            File.WriteAllBytes(path, Captures.Small().ToArray());
            var log = new RecordLog();
            var result = CaptureReader.Read(path, log);
            Assert.Equal(path, result.Path);
            Assert.Equal(23, log.Lines.Count);

            File.WriteAllBytes(path, "MEMNBCAX"u8.ToArray());
            var error = Assert.Throws<CaptureFormatException>(() => CaptureReader.Read(path, new RecordLog()));
            Assert.Equal(path, error.Path);
            Assert.StartsWith(path + ": not a MemNotebook capture", error.Message);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void Tick_clock_is_a_straight_line_through_the_first_and_last_clock_pair()
    {
        var clock = TickClock.FromPairs(new ClockRecord(1000, 5_000_000, 4), new ClockRecord(2000, 5_016_000, 4), 900);
        Assert.False(clock.IsEstimated);
        Assert.Equal(16.0, clock.NanosecondsPerTick);
        Assert.Equal(0, clock.ToNanoseconds(1000));
        Assert.Equal(8000, clock.ToNanoseconds(1500));
        Assert.Equal(-1600, clock.ToNanoseconds(900));
    }

    [Fact]
    public void Tick_clock_with_one_pair_assumes_two_to_the_shift_nanoseconds_per_tick()
    {
        var clock = TickClock.FromPairs(new ClockRecord(1000, 5_000_000, 4), new ClockRecord(1000, 5_000_000, 4), 900);
        Assert.True(clock.IsEstimated);
        Assert.Equal(16.0, clock.NanosecondsPerTick);
        Assert.Equal(1600, clock.ToNanoseconds(1100));

        var noPair = TickClock.FromPairs(null, null, 900);
        Assert.True(noPair.IsEstimated);
        Assert.Equal(0, noPair.ToNanoseconds(900));
    }

    [Fact]
    public void Snapshots_count_as_clock_pairs()
    {
        var w = new TestCaptureWriter();
        w.Chunk(0).Clock(100, 1_000).Snapshot(200, 2_000, 0, 0, 0, 0, 0, 0, 0).Write();
        var result = RecordLog.Read(w.ToArray()).Result!;
        Assert.False(result.Clock.IsEstimated);
        Assert.Equal(10.0, result.Clock.NanosecondsPerTick);
        Assert.False(result.Complete);
        Assert.False(result.Truncated);
        Assert.Equal(1000, result.DurationNs); // no END: up to the last timestamp
    }

    [Fact]
    public void Timestamps_carry_over_between_chunks_of_one_stream_and_are_separate_per_stream()
    {
        var w = new TestCaptureWriter();
        w.Chunk(0).Clock(100, 0).Type(0, 1, "T").Thread(2, 1, 0).Thread(3, 2, 0).Write();
        w.Chunk(2).Alloc(500, 0, 8, 0, 0x1000).Write();
        w.Chunk(3).Alloc(300, 0, 8, 0, 0x9000).Write(zstd: true);
        w.Chunk(2).Alloc(700, 0, 8, 0, 0x1008).Write();
        var lines = RecordLog.Read(w.ToArray()).Lines.Where(l => l.StartsWith("Allocation")).ToArray();
        Assert.Equal(new[]
        {
            "AllocationRecord { ThreadStream = 2, Sequence = 0, Ticks = 500, TypeIndex = 0, Size = 8, StackId = 0, Address = 4096 }",
            "AllocationRecord { ThreadStream = 3, Sequence = 0, Ticks = 300, TypeIndex = 0, Size = 8, StackId = 0, Address = 36864 }",
            "AllocationRecord { ThreadStream = 2, Sequence = 1, Ticks = 700, TypeIndex = 0, Size = 8, StackId = 0, Address = 4104 }",
        }, lines);
    }

    [Fact]
    public void Reader_rejects_every_truncation_point_of_a_small_capture_or_keeps_exactly_the_whole_chunks()
    {
        var writer = Captures.Small();
        var bytes = writer.ToArray();
        var full = RecordLog.Read(bytes).Lines;
        for (var cut = 0; cut < bytes.Length; cut++)
        {
            var prefix = bytes[..cut];
            if (cut < 32)
            {
                var error = Assert.Throws<CaptureFormatException>(() => RecordLog.Read(prefix));
                Assert.Contains(cut == 0 ? "the file is empty" : "truncated header", error.Message);
                continue;
            }
            var wholeChunks = writer.Boundaries.Count(b => b <= cut) - 1;
            var onBoundary = writer.Boundaries.Contains(cut);
            var expected = full.Take(1 + writer.RecordsPerChunk.Take(wholeChunks).Sum()).ToList();
            foreach (var seekable in new[] { true, false })
            {
                var log = RecordLog.Read(prefix, seekable: seekable);
                Assert.Equal(expected, log.Lines);
                Assert.False(log.Result!.Complete);
                Assert.Equal(!onBoundary, log.Result.Truncated);
                Assert.Equal(onBoundary ? null : writer.Boundaries[wholeChunks], log.Result.TruncatedAtOffset);
            }
            if (!onBoundary)
            {
                var strict = new CaptureReaderOptions { AllowTruncated = false };
                var error = Assert.Throws<CaptureFormatException>(() => RecordLog.Read(prefix, strict));
                Assert.Equal(writer.Boundaries[wholeChunks], error.Offset);
                Assert.Contains("truncated chunk", error.Message);
            }
        }
    }

    [Fact]
    public void Truncation_message_names_the_chunk_offset_and_the_missing_bytes()
    {
        var writer = Captures.Small();
        var bytes = writer.ToArray();
        var chunkStart = writer.Boundaries[1];
        var cut = (int)chunkStart + 20 + 3;
        var result = RecordLog.Read(bytes[..cut]).Result!;
        var stored = BitConverter.ToUInt32(bytes, (int)chunkStart + 8);
        Assert.Equal($"truncated chunk: payload needs {stored} bytes, 3 remain", result.TruncationReason);

        var error = Assert.Throws<CaptureFormatException>(() =>
            RecordLog.Read(bytes[..cut], new CaptureReaderOptions { AllowTruncated = false }));
        Assert.Equal($"test.memnb: truncated chunk at offset {chunkStart}: payload needs {stored} bytes, 3 remain", error.Message);
    }

    [Fact]
    public void Random_byte_corruption_gives_only_capture_format_errors_or_a_valid_read()
    {
        var bytes = Captures.Small().ToArray();
        var random = new Random(12345);
        for (var i = 0; i < 3000; i++)
        {
            var copy = (byte[])bytes.Clone();
            var flips = 1 + random.Next(3);
            for (var f = 0; f < flips; f++)
                copy[32 + random.Next(copy.Length - 32)] = (byte)random.Next(256);
            try
            {
                RecordLog.Read(copy);
            }
            catch (CaptureFormatException)
            {
            }
        }
        for (var i = 0; i < 300; i++)
        {
            var garbage = new byte[random.Next(200)];
            random.NextBytes(garbage);
            "MEMNBCAP"u8[..Math.Min(8, garbage.Length)].CopyTo(garbage);
            try
            {
                RecordLog.Read(garbage);
            }
            catch (CaptureFormatException)
            {
            }
        }
    }
}
