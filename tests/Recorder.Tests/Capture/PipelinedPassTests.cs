using System.Runtime.ExceptionServices;
using MemNotebook.Recorder.Format;
using Xunit;

namespace MemNotebook.Recorder.Tests.Capture;

/// <summary>
/// A pass on two threads (PipelinedPass: the reader decodes into reused batches, the calling thread runs the visitor)
/// gives the visitor what a sequential pass gives it, in the same order, and its errors as a sequential pass throws them.
/// </summary>
public class PipelinedPassTests
{
    private const int Streams = 3, ChunksPerStream = 12, AllocsPerChunk = 3000;

    /// <summary>
    /// A native capture of many blocks: three thread streams, each twelve chunks of 3,000 ALLOCs (blocks of up to 4,096
    /// rows, merged into batches of 16,384), the chunks interleaved with meta chunks (GCs, frees) and a native
    /// allocation and free now and then; <paramref name="corruptLast"/> ends the last thread chunk with an unknown tag.
    /// </summary>
    private static byte[] ManyBlocks(bool corruptLast = false)
    {
        var w = new TestCaptureWriter(flags: CaptureFormat.FlagNative);
        var meta = w.Chunk(0).Clock(10, 100).Type(0, 1, "System.Object").Type(1, 2, "System.String");
        for (ulong s = 1; s <= 40; s++)
            meta.StackNode(s, s % 5 == 1 ? 0 : s - 1, 0x1000 + s).Frame(0x1000 + s, 0, $"App.F{s}", "App.dll");
        for (ulong t = 0; t < Streams; t++)
            meta.Thread(2 + t, 100 + t, 1 + t);
        meta.Write();
        ulong ticks = 20, gc = 0;
        var address = new ulong[Streams];
        var allocated = new ulong[Streams];
        for (var chunk = 0; chunk < ChunksPerStream; chunk++)
        {
            for (var t = 0; t < Streams; t++)
            {
                var c = w.Chunk(2 + t);
                for (var i = 0; i < AllocsPerChunk; i++)
                {
                    var size = (ulong)(24 + (i * 7 + t) % 200);
                    address[t] = 0x1_0000_0000UL * (ulong)(t + 1) + allocated[t] * 256;
                    c.Alloc(ticks += (ulong)(i % 3), (ulong)(i % 2), size, 1 + (i * 13 + chunk + t) % 40, address[t]);
                    allocated[t]++;
                    if (i == AllocsPerChunk / 2 && t == 1)
                    {
                        // A native block in the middle of a run of ALLOCs, freed a little later.
                        c.NativeAlloc(ticks += 1, 1, 512, 3, 0xA000_0000UL + (ulong)chunk * 4096);
                        allocated[t]++;
                        c.NativeFree(ticks += 1, 1, 0xA000_0000UL + (ulong)chunk * 4096);
                    }
                }
                if (corruptLast && chunk == ChunksPerStream - 1 && t == Streams - 1)
                    c.RawRecord(0x7E);
                c.Write(zstd: chunk % 2 == 0);
            }
            // A GC frees the first ten allocations of each stream made in this round.
            var m = w.Chunk(CaptureFormat.GcStream).GcStart(ticks += 5, 1, 0, gc, 1_000_000).GcEnd(ticks += 5, gc);
            for (var t = 0; t < Streams; t++)
            {
                var first = (ulong)chunk * AllocsPerChunk + (t == 1 ? (ulong)chunk : 0);
                m.Free((ulong)(2 + t), Enumerable.Range(0, 10).Select(k => first + (ulong)k).ToArray());
            }
            m.Write();
            gc++;
        }
        w.Chunk(0).End(ticks + 10, (ulong)(Streams * ChunksPerStream * AllocsPerChunk + ChunksPerStream), 0, 0).Write();
        return w.ToArray();
    }

    /// <summary>Every allocation block and its place among the other callbacks, as a sequential pass delivers them.</summary>
    private sealed class BlockLog : CaptureVisitor
    {
        public List<string> Lines { get; } = [];
        public long Rows;
        public Dictionary<int, long> NextSequence { get; } = [];
        public int ThrowAtBlock = -1;
        private int blocks;

        public override void OnAllocations(in AllocationBlock block)
        {
            if (blocks++ == ThrowAtBlock)
                throw new InvalidOperationException($"the visitor failed at block {ThrowAtBlock}");
            // A block is a run of consecutive allocations of one stream.
            Assert.Equal(NextSequence.GetValueOrDefault(block.ThreadStream), block.FirstSequence);
            NextSequence[block.ThreadStream] = block.FirstSequence + block.Count;
            for (var i = 0; i < block.Count; i++)
                Lines.Add(block[i].ToString());
            Rows += block.Count;
        }

        public override void OnAllocation(in AllocationRecord allocation)
        {
            NextSequence[allocation.ThreadStream] = allocation.Sequence + 1;
            Lines.Add(allocation.ToString());
        }

        public override void OnFree(in FreeRecord free) => Lines.Add(free.ToString());
        // FREE records as the reader delivers them: runs of consecutive sequence numbers (batched on the reading thread).
        public override void OnFreeRun(int threadStream, long firstSequence, long count, long ticks, long gcIndex) =>
            Lines.Add($"free run: stream {threadStream}, {firstSequence} + {count}, GC {gcIndex} at {ticks}");
        public override void OnGcStart(in GcStartRecord gc) => Lines.Add(gc.ToString());
        public override void OnEnd(in EndRecord end) => Lines.Add(end.ToString());
        public override void OnFinished(CaptureReadResult result) => Lines.Add($"finished: {result.ChunkCount} chunks, {result.BytesRead} bytes");
    }

    [Fact]
    public void A_pipelined_pass_delivers_every_record_in_the_order_of_a_sequential_pass()
    {
        using var scratch = new MemNotebook.Recorder.Tests.Arrow.ScratchFolder();
        var path = scratch.Write("many.memnb", ManyBlocks());
        var extent = new FileInfo(path).Length;
        var options = new CaptureReaderOptions { AllowTruncated = false };
        var sequential = new RecordLog();
        CapturePass.Read(path, sequential, options, extent);
        var pipelined = new RecordLog();
        var progress = new List<double>();
        var caller = -1;
        var reported = new Progress(p => { Assert.Equal(caller, Environment.CurrentManagedThreadId); progress.Add(p); });
        var result = Within(() =>
        {
            caller = Environment.CurrentManagedThreadId;
            return PipelinedPass.Read(path, pipelined, options, extent, reported, 0.5, 0.5);
        });
        // 108,000 ALLOCs, 12 native blocks and their 12 releases, 12 GCs of 30 frees each.
        Assert.Equal(Streams * ChunksPerStream * AllocsPerChunk, sequential.Lines.Count(l => l.StartsWith("AllocationRecord", StringComparison.Ordinal) && !l.Contains("TypeIndex = -", StringComparison.Ordinal)));
        Assert.Equal(ChunksPerStream * (1 + 3 * 10), sequential.Lines.Count(l => l.StartsWith("FreeRecord", StringComparison.Ordinal)));
        Assert.Equal(sequential.Lines, pipelined.Lines);
        Assert.Equal((sequential.Result!.ChunkCount, sequential.Result.BytesRead), (result.ChunkCount, result.BytesRead));
        Assert.Same(result, pipelined.Result);
        // Progress on the calling thread, within [0.5, 1], ending at the whole file.
        Assert.NotEmpty(progress);
        Assert.All(progress, p => Assert.InRange(p, 0.5, 1.0));
        Assert.Equal(1.0, progress[^1]);

        // A visitor that takes blocks whole gets runs of consecutive allocations (merged), the same rows.
        var blocks = new BlockLog();
        CapturePass.Read(path, blocks, options, extent);
        var merged = new BlockLog();
        Within(() => PipelinedPass.Read(path, merged, options, extent));
        Assert.Equal(Streams * ChunksPerStream * AllocsPerChunk, merged.Rows);
        // 12 GCs, each one run of ten per stream.
        Assert.Equal(ChunksPerStream * Streams, blocks.Lines.Count(l => l.StartsWith("free run: ", StringComparison.Ordinal) && l.Contains(" + 10,", StringComparison.Ordinal)));
        Assert.Equal(blocks.Lines, merged.Lines);
        Assert.Equal(blocks.NextSequence, merged.NextSequence);
    }

    [Fact]
    public void A_decode_error_on_the_reading_thread_is_thrown_on_the_calling_thread_naming_the_file_and_offset()
    {
        using var scratch = new MemNotebook.Recorder.Tests.Arrow.ScratchFolder();
        var path = scratch.Write("bad.memnb", ManyBlocks(corruptLast: true));
        var extent = new FileInfo(path).Length;
        var options = new CaptureReaderOptions { AllowTruncated = false };
        var sequential = new BlockLog();
        var expected = Assert.Throws<CaptureFormatException>(() => CapturePass.Read(path, sequential, options, extent));
        var pipelined = new BlockLog();
        var error = Assert.Throws<CaptureFormatException>(() => Within(() => PipelinedPass.Read(path, pipelined, options, extent)));
        Assert.Equal(expected.Message, error.Message);
        Assert.StartsWith(path + ": ", error.Message);
        Assert.Equal(expected.Offset, error.Offset);
        Assert.True(error.Offset > extent / 2, $"offset {error.Offset} of {extent}");
        // What came before the bad record reached the visitor, as in a sequential pass.
        Assert.Equal(sequential.Lines, pipelined.Lines);
        Assert.Equal(Streams * ChunksPerStream * AllocsPerChunk, pipelined.Rows);
    }

    [Fact]
    public void A_visitor_error_stops_the_reading_thread_and_is_thrown_as_it_is()
    {
        using var scratch = new MemNotebook.Recorder.Tests.Arrow.ScratchFolder();
        var path = scratch.Write("many.memnb", ManyBlocks());
        var extent = new FileInfo(path).Length;
        var failing = new BlockLog { ThrowAtBlock = 2 };
        var error = Assert.Throws<InvalidOperationException>(() => Within(() => PipelinedPass.Read(path, failing, CaptureReaderOptions.Default, extent)));
        Assert.Equal("the visitor failed at block 2", error.Message);
        Assert.DoesNotContain(failing.Lines, l => l.StartsWith("finished", StringComparison.Ordinal));
        // The file is not held open by a reader left behind.
        File.Delete(path);
        Assert.False(File.Exists(path));
    }

    /// <summary>
    /// <paramref name="read"/> on this thread, failing the test instead of waiting for ever if the two sides of the pass
    /// wait for each other (a slot of the ring never handed on).
    /// </summary>
    private static CaptureReadResult Within(Func<CaptureReadResult> read)
    {
        CaptureReadResult? result = null;
        ExceptionDispatchInfo? error = null;
        var thread = new Thread(() =>
        {
            try { result = read(); }
            catch (Exception ex) { error = ExceptionDispatchInfo.Capture(ex); }
        });
        thread.Start();
        Assert.True(thread.Join(TimeSpan.FromSeconds(60)), "the pipelined pass did not end within 60 s");
        error?.Throw();
        return result!;
    }

    private sealed class Progress(Action<double> report) : IProgress<double>
    {
        public void Report(double value) => report(value);
    }
}
