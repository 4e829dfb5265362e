using System.Collections.Concurrent;
using System.Runtime.ExceptionServices;
using System.Runtime.InteropServices;
using Apache.Arrow;
using Apache.Arrow.Ipc;
using MemNotebook.Recorder.Capture;

namespace MemNotebook.Recorder.Arrow;

/// <summary>
/// The second conversion pass: every ALLOC becomes a row of the allocations table, written as record
/// batches of <see cref="ArrowLayout.BatchRows"/> rows from buffers reused for each batch, so memory
/// is three batches (~5 MiB each: one filling, one waiting, one being written) plus the free runs of the first
/// pass, whatever the capture's size.
/// </summary>
internal sealed class AllocationBatchWriter : CaptureVisitor
{
    // Longest allocator name ("posix_memalign").
    private const int MaxAllocatorName = 14;

    private readonly ArrowFileWriter writer;
    private readonly FreeTimes.Lookup frees;
    private readonly TickClock clock;
    private readonly Dictionary<int, long> osThreadByStream;
    // Three sets of column buffers: one fills while another's batch waits and a third's is written, on a
    // thread of its own (a pool task could run inline on the thread that waits for it).
    private ColumnBuffers current = new();
    private readonly BlockingCollection<ColumnBuffers> spares = new() { new ColumnBuffers(), new ColumnBuffers() };
    private readonly BlockingCollection<(RecordBatch Batch, ColumnBuffers Buffers)> toWrite = new(boundedCapacity: 1);
    private readonly Thread writerThread;
    private ExceptionDispatchInfo? writeError;
    private readonly byte[][] allocatorNames = CaptureFormat.AllAllocatorNames.Select(System.Text.Encoding.ASCII.GetBytes).ToArray();
    private int allocatorBytes;
    private int rows;
    private int nulls;
    private long nextId;
    private int lastStream = -1;
    private long lastOsThread;

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

    /// <summary>The writer thread: writes each batch in order and hands its buffers back; after an error it only hands back.</summary>
    private void WriteBatches()
    {
        foreach (var (batch, buffers) in toWrite.GetConsumingEnumerable())
        {
            try
            {
                if (writeError is null)
                    writer.WriteRecordBatch(batch);
            }
            catch (Exception ex)
            {
                writeError = ExceptionDispatchInfo.Capture(ex);
            }
            finally
            {
                batch.Dispose();
                spares.Add(buffers);
            }
        }
    }

    public long Rows => nextId;

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    public override void OnAllocation(in AllocationRecord a)
    {
        if (a.ThreadStream != lastStream)
        {
            lastStream = a.ThreadStream;
            lastOsThread = osThreadByStream.GetValueOrDefault(a.ThreadStream);
        }
        var row = rows;
        var b = current;
        Put(b.Ids, row, nextId++);
        Put(b.Streams, row, a.ThreadStream);
        Put(b.OsThreads, row, lastOsThread);
        Put(b.Times, row, clock.ToNanoseconds(a.Ticks));
        Put(b.Sizes, row, a.Size);
        Put(b.Types, row, a.TypeIndex);
        Put(b.Stacks, row, a.StackId);
        Put(b.Addresses, row, a.Address);
        var name = allocatorNames[a.Allocator];
        name.CopyTo(b.AllocatorData.AsSpan(allocatorBytes));
        allocatorBytes += name.Length;
        Put(b.AllocatorOffsets, row + 1, allocatorBytes);
        var freed = frees.FreedAtNs(a.ThreadStream, a.Sequence);
        Put(b.FreedAt, row, freed);
        var bit = (byte)(1 << (row & 7));
        if (freed == -1)
        {
            b.FreedValid[row >> 3] &= (byte)~bit;
            nulls++;
        }
        else
        {
            b.FreedValid[row >> 3] |= bit;
        }
        // sampled: a sampled object (stands for the sampling estimate); false for everything recorded exactly.
        if (a.IsSampled && !a.IsExact)
            b.SampledBits[row >> 3] |= bit;
        else
            b.SampledBits[row >> 3] &= (byte)~bit;
        if (++rows == ArrowLayout.BatchRows)
            Flush();
    }

    /// <summary>A run of ALLOC records (managed, exact): appended column by column, across batches as they fill.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    public override void OnAllocations(in AllocationBlock block)
    {
        if (block.ThreadStream != lastStream)
        {
            lastStream = block.ThreadStream;
            lastOsThread = osThreadByStream.GetValueOrDefault(block.ThreadStream);
        }
        var managed = allocatorNames[0];
        for (var done = 0; done < block.Count;)
        {
            var n = Math.Min(block.Count - done, ArrowLayout.BatchRows - rows);
            var b = current;
            var row = rows;
            var ids = Column<long>(b.Ids, row, n);
            for (var i = 0; i < ids.Length; i++)
                ids[i] = nextId + i;
            nextId += n;
            Column<int>(b.Streams, row, n).Fill(block.ThreadStream);
            Column<long>(b.OsThreads, row, n).Fill(lastOsThread);
            var times = Column<long>(b.Times, row, n);
            var ticks = block.Ticks.Slice(done, n);
            for (var i = 0; i < times.Length; i++)
                times[i] = clock.ToNanoseconds(ticks[i]);
            block.Sizes.Slice(done, n).CopyTo(Column<long>(b.Sizes, row, n));
            block.TypeIndexes.Slice(done, n).CopyTo(Column<int>(b.Types, row, n));
            block.StackIds.Slice(done, n).CopyTo(Column<int>(b.Stacks, row, n));
            block.Addresses.Slice(done, n).CopyTo(Column<ulong>(b.Addresses, row, n));
            var offsets = Column<int>(b.AllocatorOffsets, row + 1, n);
            for (var i = 0; i < offsets.Length; i++)
                offsets[i] = allocatorBytes + (i + 1) * managed.Length;
            var data = b.AllocatorData.AsSpan(allocatorBytes, n * managed.Length);
            for (var i = 0; i < data.Length; i += managed.Length)
                managed.CopyTo(data[i..]);
            allocatorBytes += data.Length;
            var freed = Column<long>(b.FreedAt, row, n);
            nulls += frees.Fill(block.ThreadStream, block.FirstSequence + done, freed);
            for (var i = 0; i < freed.Length; i++)
            {
                var r = row + i;
                var bit = 1 << (r & 7);
                ref var valid = ref b.FreedValid[r >> 3];
                valid = (byte)((valid & ~bit) | (freed[i] == -1 ? 0 : bit));
                b.SampledBits[r >> 3] &= (byte)~bit;
            }
            done += n;
            rows += n;
            if (rows == ArrowLayout.BatchRows)
                Flush();
        }
    }

    /// <summary>The frees were taken in the first pass.</summary>
    public override void OnFreeRun(int threadStream, long firstSequence, long count, long ticks, long gcIndex) { }

    /// <summary><paramref name="count"/> elements of a column buffer from element <paramref name="start"/>.</summary>
    private static Span<T> Column<T>(byte[] buffer, int start, int count) where T : unmanaged =>
        MemoryMarshal.Cast<byte, T>(buffer.AsSpan()).Slice(start, count);

    /// <summary>Stores element <paramref name="index"/> of a column buffer; the bounds are those of a batch (checked by the caller's row count).</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    private static void Put<T>(byte[] buffer, int index, T value) where T : unmanaged =>
        System.Runtime.CompilerServices.Unsafe.WriteUnaligned(
            ref System.Runtime.CompilerServices.Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(buffer),
                (nint)index * System.Runtime.CompilerServices.Unsafe.SizeOf<T>()), value);

    /// <summary>Hands the rows gathered so far to the writer thread as one record batch (written in order, one at a time).</summary>
    public void Flush()
    {
        if (rows == 0)
            return;
        var n = rows;
        var b = current;
        var bitmapBytes = (n + 7) / 8;
        IArrowArray[] columns =
        [
            new Int64Array(Buffer(b.Ids, n * 8), ArrowBuffer.Empty, n, 0, 0),
            new Int32Array(Buffer(b.Streams, n * 4), ArrowBuffer.Empty, n, 0, 0),
            new Int64Array(Buffer(b.OsThreads, n * 8), ArrowBuffer.Empty, n, 0, 0),
            new Int64Array(Buffer(b.Times, n * 8), ArrowBuffer.Empty, n, 0, 0),
            new StringArray(n, Buffer(b.AllocatorOffsets, (n + 1) * 4), Buffer(b.AllocatorData, allocatorBytes), ArrowBuffer.Empty),
            new Int64Array(Buffer(b.Sizes, n * 8), ArrowBuffer.Empty, n, 0, 0),
            new Int32Array(Buffer(b.Types, n * 4), ArrowBuffer.Empty, n, 0, 0),
            new Int32Array(Buffer(b.Stacks, n * 4), ArrowBuffer.Empty, n, 0, 0),
            new UInt64Array(Buffer(b.Addresses, n * 8), ArrowBuffer.Empty, n, 0, 0),
            new Int64Array(Buffer(b.FreedAt, n * 8), nulls == 0 ? ArrowBuffer.Empty : Buffer(b.FreedValid, bitmapBytes), n, nulls, 0),
            new BooleanArray(Buffer(b.SampledBits, bitmapBytes), ArrowBuffer.Empty, n, 0, 0),
        ];
        // Bits past the last row of a partial batch must be zero in the bitmaps.
        if ((n & 7) != 0)
        {
            b.FreedValid[n >> 3] &= (byte)((1 << (n & 7)) - 1);
            b.SampledBits[n >> 3] &= (byte)((1 << (n & 7)) - 1);
        }
        var batch = new RecordBatch(ArrowLayout.AllocationsSchema, columns, n);
        toWrite.Add((batch, b));
        current = spares.Take();
        rows = 0;
        nulls = 0;
        allocatorBytes = 0;
    }

    /// <summary>Waits until every batch handed over is written, and ends the writer thread (rethrowing a write's error); call before the file writer is finished or disposed.</summary>
    public void WaitForWrites()
    {
        if (!toWrite.IsAddingCompleted)
            toWrite.CompleteAdding();
        writerThread.Join();
        writeError?.Throw();
    }

    private static ArrowBuffer Buffer(byte[] bytes, int length) => new(bytes.AsMemory(0, length));

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
        public readonly byte[] AllocatorOffsets = new byte[(ArrowLayout.BatchRows + 1) * 4];
        public readonly byte[] AllocatorData = new byte[ArrowLayout.BatchRows * MaxAllocatorName];
    }
}
