using System.Runtime.InteropServices;
using Apache.Arrow;
using Apache.Arrow.Ipc;
using MemNotebook.Recorder.Capture;

namespace MemNotebook.Recorder.Arrow;

/// <summary>
/// The second conversion pass: every ALLOC becomes a row of the allocations table, written as record
/// batches of <see cref="ArrowLayout.BatchRows"/> rows from buffers reused for each batch, so memory
/// is one batch (~5 MiB) plus the free runs of the first pass, whatever the capture's size.
/// </summary>
internal sealed class AllocationBatchWriter : CaptureVisitor
{
    // Longest allocator name ("posix_memalign").
    private const int MaxAllocatorName = 14;

    private readonly ArrowFileWriter writer;
    private readonly FreeTimes.Lookup frees;
    private readonly TickClock clock;
    private readonly Dictionary<int, long> osThreadByStream;
    private readonly byte[] ids = new byte[ArrowLayout.BatchRows * 8];
    private readonly byte[] streams = new byte[ArrowLayout.BatchRows * 4];
    private readonly byte[] osThreads = new byte[ArrowLayout.BatchRows * 8];
    private readonly byte[] times = new byte[ArrowLayout.BatchRows * 8];
    private readonly byte[] sizes = new byte[ArrowLayout.BatchRows * 8];
    private readonly byte[] types = new byte[ArrowLayout.BatchRows * 4];
    private readonly byte[] stacks = new byte[ArrowLayout.BatchRows * 4];
    private readonly byte[] addresses = new byte[ArrowLayout.BatchRows * 8];
    private readonly byte[] freedAt = new byte[ArrowLayout.BatchRows * 8];
    private readonly byte[] freedValid = new byte[ArrowLayout.BatchRows / 8];
    private readonly byte[] allocatorOffsets = new byte[(ArrowLayout.BatchRows + 1) * 4];
    private readonly byte[] allocatorData = new byte[ArrowLayout.BatchRows * MaxAllocatorName];
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
        Put(ids, row, nextId++);
        Put(streams, row, a.ThreadStream);
        Put(osThreads, row, lastOsThread);
        Put(times, row, clock.ToNanoseconds(a.Ticks));
        Put(sizes, row, a.Size);
        Put(types, row, a.TypeIndex);
        Put(stacks, row, a.StackId);
        Put(addresses, row, a.Address);
        var name = allocatorNames[a.Allocator];
        name.CopyTo(allocatorData.AsSpan(allocatorBytes));
        allocatorBytes += name.Length;
        Put(allocatorOffsets, row + 1, allocatorBytes);
        var freed = frees.FreedAtNs(a.ThreadStream, a.Sequence);
        Put(freedAt, row, freed);
        var bit = (byte)(1 << (row & 7));
        if (freed == -1)
        {
            freedValid[row >> 3] &= (byte)~bit;
            nulls++;
        }
        else
        {
            freedValid[row >> 3] |= bit;
        }
        if (++rows == ArrowLayout.BatchRows)
            Flush();
    }

    /// <summary>Stores element <paramref name="index"/> of a column buffer; the bounds are those of a batch (checked by the caller's row count).</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    private static void Put<T>(byte[] buffer, int index, T value) where T : unmanaged =>
        System.Runtime.CompilerServices.Unsafe.WriteUnaligned(
            ref System.Runtime.CompilerServices.Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(buffer),
                (nint)index * System.Runtime.CompilerServices.Unsafe.SizeOf<T>()), value);

    /// <summary>Writes the rows gathered so far as one record batch.</summary>
    public void Flush()
    {
        if (rows == 0)
            return;
        var n = rows;
        var bitmapBytes = (n + 7) / 8;
        IArrowArray[] columns =
        [
            new Int64Array(Buffer(ids, n * 8), ArrowBuffer.Empty, n, 0, 0),
            new Int32Array(Buffer(streams, n * 4), ArrowBuffer.Empty, n, 0, 0),
            new Int64Array(Buffer(osThreads, n * 8), ArrowBuffer.Empty, n, 0, 0),
            new Int64Array(Buffer(times, n * 8), ArrowBuffer.Empty, n, 0, 0),
            new StringArray(n, Buffer(allocatorOffsets, (n + 1) * 4), Buffer(allocatorData, allocatorBytes), ArrowBuffer.Empty),
            new Int64Array(Buffer(sizes, n * 8), ArrowBuffer.Empty, n, 0, 0),
            new Int32Array(Buffer(types, n * 4), ArrowBuffer.Empty, n, 0, 0),
            new Int32Array(Buffer(stacks, n * 4), ArrowBuffer.Empty, n, 0, 0),
            new UInt64Array(Buffer(addresses, n * 8), ArrowBuffer.Empty, n, 0, 0),
            new Int64Array(Buffer(freedAt, n * 8), nulls == 0 ? ArrowBuffer.Empty : Buffer(freedValid, bitmapBytes), n, nulls, 0),
        ];
        // Bits past the last row of a partial batch must be zero in the validity bitmap.
        if ((n & 7) != 0)
            freedValid[n >> 3] &= (byte)((1 << (n & 7)) - 1);
        using var batch = new RecordBatch(ArrowLayout.AllocationsSchema, columns, n);
        writer.WriteRecordBatch(batch);
        rows = 0;
        nulls = 0;
        allocatorBytes = 0;
    }

    private static ArrowBuffer Buffer(byte[] bytes, int length) => new(bytes.AsMemory(0, length));
}
