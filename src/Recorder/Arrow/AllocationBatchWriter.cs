using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using System.Runtime.ExceptionServices;
using System.Runtime.InteropServices;
using Apache.Arrow;
using Apache.Arrow.Ipc;
using MemNotebook.Recorder.Format;

namespace MemNotebook.Recorder.Arrow;

/// <summary>
/// The second conversion pass: every ALLOC becomes a row of the allocations table, written as record
/// batches of <see cref="ArrowLayout.BatchRows"/> rows from buffers reused for each batch, so memory
/// is three batches (~5 MiB each: one filling, one waiting, one being written) plus the free runs of the first
/// pass, whatever the capture's size.
/// </summary>
/// <remarks>
/// The decoding thread copies what the records say (ticks, size, type, stack, address, allocator) and notes
/// which (thread stream, sequence numbers) the rows are, as segments. A thread of its own then completes
/// each batch in order — ids, thread columns, ticks to nanoseconds, free times from the runs and the
/// validity bitmap — and writes it. (A pool task waited on could run inline on the waiting thread.)
/// </remarks>
internal sealed class AllocationBatchWriter : CaptureVisitor
{
    private readonly ArrowFileWriter writer;
    private readonly FreeTimes.Lookup frees;
    private readonly TickClock clock;
    private readonly Dictionary<int, long> osThreadByStream;
    private ColumnBuffers current = new();
    private readonly BlockingCollection<ColumnBuffers> spares = new() { new ColumnBuffers(), new ColumnBuffers() };
    private readonly BlockingCollection<ColumnBuffers> toWrite = new(boundedCapacity: 1);
    private readonly Thread writerThread;
    private ExceptionDispatchInfo? writeError;
    private readonly StringArray allocatorNames = ArrowLayout.AllocatorDictionary();
    private int rows;
    private long nextId;

    public AllocationBatchWriter(ArrowFileWriter writer, FreeTimes.Lookup frees, TickClock clock,
        Dictionary<int, long> osThreadByStream)
    {
        this.writer = writer;
        this.frees = frees;
        this.clock = clock;
        this.osThreadByStream = osThreadByStream;
        writerThread = new Thread(WriteBatches) { IsBackground = true, Name = "memnb arrow writer" };
        writerThread.Start();
    }

    public long Rows => nextId;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public override void OnAllocation(in AllocationRecord a)
    {
        var row = rows;
        var b = current;
        b.AddSegment(row, 1, a.ThreadStream, a.Sequence);
        Put(b.Times, row, a.Ticks);
        Put(b.Sizes, row, a.Size);
        Put(b.Types, row, a.TypeIndex);
        Put(b.Stacks, row, a.StackId);
        Put(b.Addresses, row, a.Address);
        b.Allocators[row] = (byte)a.Allocator;
        // sampled: a sampled object (stands for the sampling estimate); false for everything recorded exactly.
        var bit = (byte)(1 << (row & 7));
        if (a.IsSampled && !a.IsExact)
            b.SampledBits[row >> 3] |= bit;
        else
            b.SampledBits[row >> 3] &= (byte)~bit;
        if (++rows == ArrowLayout.BatchRows)
            Flush();
    }

    /// <summary>A run of ALLOC records (managed, exact): copied column by column, across batches as they fill.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public override void OnAllocations(in AllocationBlock block)
    {
        for (var done = 0; done < block.Count;)
        {
            var n = Math.Min(block.Count - done, ArrowLayout.BatchRows - rows);
            var b = current;
            var row = rows;
            b.AddSegment(row, n, block.ThreadStream, block.FirstSequence + done);
            block.Ticks.Slice(done, n).CopyTo(Column<long>(b.Times, row, n));
            block.Sizes.Slice(done, n).CopyTo(Column<long>(b.Sizes, row, n));
            block.TypeIndexes.Slice(done, n).CopyTo(Column<int>(b.Types, row, n));
            block.StackIds.Slice(done, n).CopyTo(Column<int>(b.Stacks, row, n));
            block.Addresses.Slice(done, n).CopyTo(Column<ulong>(b.Addresses, row, n));
            b.Allocators.AsSpan(row, n).Clear(); // managed
            ClearBits(b.SampledBits, row, n);
            done += n;
            rows += n;
            if (rows == ArrowLayout.BatchRows)
                Flush();
        }
    }

    /// <summary>The frees were taken in the first pass.</summary>
    public override void OnFreeRun(int threadStream, long firstSequence, long count, long ticks, long gcIndex) { }

    /// <summary>Hands the rows gathered so far to the writer thread as one batch (completed and written in order, one at a time).</summary>
    public void Flush()
    {
        if (rows == 0)
            return;
        var b = current;
        b.Rows = rows;
        b.FirstId = nextId;
        nextId += rows;
        toWrite.Add(b);
        current = spares.Take();
        current.Segments.Clear();
        rows = 0;
    }

    /// <summary>Waits until every batch handed over is written, and ends the writer thread (rethrowing a write's error); call before the file writer is finished or disposed.</summary>
    public void WaitForWrites()
    {
        if (!toWrite.IsAddingCompleted)
            toWrite.CompleteAdding();
        writerThread.Join();
        writeError?.Throw();
    }

    /// <summary>The writer thread: completes and writes each batch in order and hands its buffers back; after an error it only hands back.</summary>
    private void WriteBatches()
    {
        foreach (var buffers in toWrite.GetConsumingEnumerable())
        {
            try
            {
                if (writeError is null)
                {
                    using var batch = Complete(buffers);
                    writer.WriteRecordBatch(batch);
                }
            }
            catch (Exception ex)
            {
                writeError = ExceptionDispatchInfo.Capture(ex);
            }
            finally
            {
                spares.Add(buffers);
            }
        }
    }

    /// <summary>The columns the decoding thread left to the writer thread, then the batch over the buffers.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private RecordBatch Complete(ColumnBuffers b)
    {
        var n = b.Rows;
        var ids = Column<long>(b.Ids, 0, n);
        for (var i = 0; i < ids.Length; i++)
            ids[i] = b.FirstId + i;
        var freed = Column<long>(b.FreedAt, 0, n);
        var nulls = 0;
        foreach (var s in b.Segments)
        {
            Column<int>(b.Streams, s.Row, s.Count).Fill(s.Stream);
            Column<long>(b.OsThreads, s.Row, s.Count).Fill(osThreadByStream.GetValueOrDefault(s.Stream));
            nulls += frees.Fill(s.Stream, s.FirstSequence, freed.Slice(s.Row, s.Count));
        }
        // Ticks to nanoseconds in place.
        var times = Column<long>(b.Times, 0, n);
        for (var i = 0; i < times.Length; i++)
            times[i] = clock.ToNanoseconds(times[i]);
        var bitmapBytes = (n + 7) / 8;
        for (var i = 0; i < bitmapBytes; i++)
        {
            var valid = 0;
            var last = Math.Min(8, n - i * 8);
            for (var k = 0; k < last; k++)
                valid |= (freed[i * 8 + k] == -1 ? 0 : 1) << k;
            b.FreedValid[i] = (byte)valid;
        }
        // Bits past the last row of a partial batch must be zero in the bitmaps.
        if ((n & 7) != 0)
            b.SampledBits[n >> 3] &= (byte)((1 << (n & 7)) - 1);
        IArrowArray[] columns =
        [
            new Int64Array(Buffer(b.Ids, n * 8), ArrowBuffer.Empty, n, 0, 0),
            new Int32Array(Buffer(b.Streams, n * 4), ArrowBuffer.Empty, n, 0, 0),
            new Int64Array(Buffer(b.OsThreads, n * 8), ArrowBuffer.Empty, n, 0, 0),
            new Int64Array(Buffer(b.Times, n * 8), ArrowBuffer.Empty, n, 0, 0),
            new DictionaryArray(ArrowLayout.AllocatorType, new Int8Array(Buffer(b.Allocators, n), ArrowBuffer.Empty, n, 0, 0), allocatorNames),
            new Int64Array(Buffer(b.Sizes, n * 8), ArrowBuffer.Empty, n, 0, 0),
            new Int32Array(Buffer(b.Types, n * 4), ArrowBuffer.Empty, n, 0, 0),
            new Int32Array(Buffer(b.Stacks, n * 4), ArrowBuffer.Empty, n, 0, 0),
            new UInt64Array(Buffer(b.Addresses, n * 8), ArrowBuffer.Empty, n, 0, 0),
            new Int64Array(Buffer(b.FreedAt, n * 8), nulls == 0 ? ArrowBuffer.Empty : Buffer(b.FreedValid, bitmapBytes), n, nulls, 0),
            new BooleanArray(Buffer(b.SampledBits, bitmapBytes), ArrowBuffer.Empty, n, 0, 0),
        ];
        return new RecordBatch(ArrowLayout.AllocationsSchema, columns, n);
    }

    /// <summary>Clears bits <paramref name="start"/> … + <paramref name="count"/> − 1, whole bytes at a time inside.</summary>
    private static void ClearBits(byte[] bits, int start, int count)
    {
        var end = start + count;
        while (start < end && (start & 7) != 0)
        {
            bits[start >> 3] &= (byte)~(1 << (start & 7));
            start++;
        }
        var wholeBytes = (end - start) >> 3;
        bits.AsSpan(start >> 3, wholeBytes).Clear();
        for (start += wholeBytes * 8; start < end; start++)
            bits[start >> 3] &= (byte)~(1 << (start & 7));
    }

    /// <summary><paramref name="count"/> elements of a column buffer from element <paramref name="start"/>.</summary>
    private static Span<T> Column<T>(byte[] buffer, int start, int count) where T : unmanaged =>
        MemoryMarshal.Cast<byte, T>(buffer.AsSpan()).Slice(start, count);

    /// <summary>Stores element <paramref name="index"/> of a column buffer; the bounds are those of a batch (checked by the caller's row count).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Put<T>(byte[] buffer, int index, T value) where T : unmanaged =>
        Unsafe.WriteUnaligned(ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(buffer), (nint)index * Unsafe.SizeOf<T>()), value);

    private static ArrowBuffer Buffer(byte[] bytes, int length) => new(bytes.AsMemory(0, length));

    /// <summary>Rows <see cref="Row"/> … + <see cref="Count"/> − 1 of a batch are sequence numbers <see cref="FirstSequence"/> … of <see cref="Stream"/>.</summary>
    private record struct Segment(int Row, int Count, int Stream, long FirstSequence);

    private sealed class ColumnBuffers
    {
        public readonly byte[] Ids = new byte[ArrowLayout.BatchRows * 8];
        public readonly byte[] Streams = new byte[ArrowLayout.BatchRows * 4];
        public readonly byte[] OsThreads = new byte[ArrowLayout.BatchRows * 8];
        public readonly byte[] Times = new byte[ArrowLayout.BatchRows * 8];
        public readonly byte[] Sizes = new byte[ArrowLayout.BatchRows * 8];
        public readonly byte[] Types = new byte[ArrowLayout.BatchRows * 4];
        public readonly byte[] Stacks = new byte[ArrowLayout.BatchRows * 4];
        public readonly byte[] Addresses = new byte[ArrowLayout.BatchRows * 8];
        public readonly byte[] FreedAt = new byte[ArrowLayout.BatchRows * 8];
        public readonly byte[] FreedValid = new byte[ArrowLayout.BatchRows / 8];
        public readonly byte[] SampledBits = new byte[ArrowLayout.BatchRows / 8];
        public readonly byte[] Allocators = new byte[ArrowLayout.BatchRows];
        public readonly List<Segment> Segments = new();
        public int Rows;
        public long FirstId;

        /// <summary>Notes rows as sequence numbers of a stream, extending the last segment when they continue it.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void AddSegment(int row, int count, int stream, long firstSequence)
        {
            if (Segments.Count > 0)
            {
                ref var last = ref CollectionsMarshal.AsSpan(Segments)[^1];
                if (last.Stream == stream && last.Row + last.Count == row && last.FirstSequence + last.Count == firstSequence)
                {
                    last.Count += count;
                    return;
                }
            }
            Segments.Add(new Segment(row, count, stream, firstSequence));
        }
    }
}
