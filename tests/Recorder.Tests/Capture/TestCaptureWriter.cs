using System.Buffers.Binary;
using System.Text;
using MemNotebook.Recorder.Format;
using ZstdSharp;

namespace MemNotebook.Recorder.Tests.Capture;

/// <summary>
/// Writes captures in the documented format (docs/capture-format.md) for tests: absolute values in,
/// per-stream deltas out, stored or zstd chunks, plus raw bytes for corrupt files. Remembers where
/// each chunk ends and how many records it holds.
/// </summary>
internal sealed class TestCaptureWriter
{
    private readonly MemoryStream file = new();
    private readonly Dictionary<int, StreamState> streams = new();

    public TestCaptureWriter(int version = 1, int processId = 4242, long startWallClockNs = 1_700_000_000_000_000_000,
        bool header = true, ushort flags = 0)
    {
        if (header)
            WriteHeader(version, processId, startWallClockNs, flags: flags);
    }

    /// <summary>File offsets just after the header and after each whole chunk.</summary>
    public List<long> Boundaries { get; } = new();

    /// <summary>Visitor calls per chunk, in file order (a FREE counts once per object it names).</summary>
    public List<int> RecordsPerChunk { get; } = new();

    public long Length => file.Length;

    public byte[] ToArray() => file.ToArray();

    public void WriteHeader(int version, int processId, long startWallClockNs, uint headerSize = 32, ushort flags = 0)
    {
        var header = new byte[32];
        "MEMNBCAP"u8.CopyTo(header);
        BinaryPrimitives.WriteUInt16LittleEndian(header.AsSpan(8), (ushort)version);
        BinaryPrimitives.WriteUInt16LittleEndian(header.AsSpan(10), flags);
        BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(12), headerSize);
        BinaryPrimitives.WriteInt32LittleEndian(header.AsSpan(16), processId);
        BinaryPrimitives.WriteInt64LittleEndian(header.AsSpan(24), startWallClockNs);
        file.Write(header);
        Boundaries.Add(file.Length);
    }

    public ChunkBuilder Chunk(int stream) => new(this, stream, State(stream));

    /// <summary>A chunk with the given header fields and payload, as is (for corrupt files).</summary>
    public void RawChunk(uint stream, byte[] payload, uint? storedSize = null, uint? rawSize = null, byte codec = 0,
        uint magic = CaptureFormat.ChunkMagic)
    {
        var header = new byte[20];
        BinaryPrimitives.WriteUInt32LittleEndian(header, magic);
        BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(4), stream);
        BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(8), storedSize ?? (uint)payload.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(12), rawSize ?? (uint)payload.Length);
        header[16] = codec;
        file.Write(header);
        file.Write(payload);
    }

    public void RawBytes(params byte[] bytes) => file.Write(bytes);

    private StreamState State(int stream)
    {
        if (!streams.TryGetValue(stream, out var state))
            streams.Add(stream, state = new StreamState());
        return state;
    }

    private void FinishChunk(int stream, byte[] payload, int records, bool zstd)
    {
        if (zstd)
        {
            using var compressor = new Compressor(3);
            var stored = compressor.Wrap(payload).ToArray();
            RawChunk((uint)stream, stored, (uint)stored.Length, (uint)payload.Length, CaptureFormat.CodecZstd);
        }
        else
        {
            RawChunk((uint)stream, payload);
        }
        Boundaries.Add(file.Length);
        RecordsPerChunk.Add(records);
    }

    internal sealed class StreamState
    {
        public ulong Ticks;
        public ulong NextAddress;
        public long Stack;
    }

    internal sealed class ChunkBuilder(TestCaptureWriter owner, int stream, StreamState state)
    {
        private readonly MemoryStream payload = new();
        private int records;

        public ChunkBuilder Clock(ulong ticks, ulong monoNs, byte shift = 4) =>
            Record(0x10).Ticks(ticks).Varint(monoNs).U8(shift);

        public ChunkBuilder Type(ulong index, ulong classId, string name, ulong flags = 0) =>
            Record(0x11).Varint(index).Varint(classId).String(name).Varint(flags);

        public ChunkBuilder StackNode(ulong id, ulong parent, ulong ip) => Record(0x12).Varint(id).Varint(parent).Varint(ip);

        /// <summary>STACK_NODES: per node (how far back its parent is, the ip's number, the ip when new).</summary>
        public ChunkBuilder StackNodes(params (ulong Up, ulong IpNumber, ulong? Ip)[] nodes)
        {
            Record(0x1C).Varint((ulong)nodes.Length);
            foreach (var (up, number, ip) in nodes)
            {
                Varint(up).Varint(number);
                if (ip is { } value)
                    Varint(value);
            }
            return this;
        }

        public ChunkBuilder Frame(ulong ip, byte kind, string function, string module = "", ulong offset = 0) =>
            Record(0x13).Varint(ip).U8(kind).String(function).String(module).Varint(offset);

        public ChunkBuilder Thread(ulong stream, ulong osTid, ulong managedId) =>
            Record(0x14).Varint(stream).Varint(osTid).Varint(managedId);

        public ChunkBuilder ThreadName(ulong osTid, string name) => Record(0x15).Varint(osTid).String(name);

        public ChunkBuilder Snapshot(ulong ticks, ulong monoNs, ulong rss, ulong gen0, ulong gen1, ulong gen2, ulong loh,
            ulong poh, ulong live) =>
            Record(0x16).Ticks(ticks).Varint(monoNs).Varint(rss).Varint(gen0).Varint(gen1).Varint(gen2).Varint(loh)
                .Varint(poh).Varint(live);

        public ChunkBuilder End(ulong ticks, ulong allocations, ulong frees, ulong liveBytes, ulong dropped = 0) =>
            Record(0x17).Ticks(ticks).Varint(allocations).Varint(frees).Varint(liveBytes).Varint(dropped);

        public ChunkBuilder GcStart(ulong ticks, byte generations, byte reason, ulong index, ulong liveBytes) =>
            Record(0x20).Ticks(ticks).U8(generations).U8(reason).Varint(index).Varint(liveBytes);

        public ChunkBuilder GcEnd(ulong ticks, ulong index, ulong gen0 = 0, ulong gen1 = 0, ulong gen2 = 0, ulong loh = 0,
            ulong poh = 0) =>
            Record(0x21).Ticks(ticks).Varint(index).Varint(gen0).Varint(gen1).Varint(gen2).Varint(loh).Varint(poh);

        public ChunkBuilder Suspend(ulong ticks) => Record(0x22).Ticks(ticks);

        public ChunkBuilder Resume(ulong ticks) => Record(0x23).Ticks(ticks);

        /// <summary>FREE with ascending sequence numbers, written as first + differences.</summary>
        public ChunkBuilder Free(ulong threadStream, params ulong[] sequences)
        {
            Record(0x24).Varint(threadStream).Varint((ulong)sequences.Length);
            records += Math.Max(0, sequences.Length - 1);
            for (var i = 0; i < sequences.Length; i++)
                Varint(i == 0 ? sequences[0] : sequences[i] - sequences[i - 1]);
            return this;
        }

        public ChunkBuilder Alloc(ulong ticks, ulong type, ulong size, long stack, ulong address)
        {
            Record(0x01).Ticks(ticks).Varint(type).Varint(size).SVarint(stack - state.Stack)
                .SVarint(unchecked((long)(address - state.NextAddress)));
            state.Stack = stack;
            state.NextAddress = address + size;
            return this;
        }

        /// <summary>SAMPLED_ALLOC: ALLOC's fields, then the sampled byte offset and the heap kind.</summary>
        public ChunkBuilder SampledAlloc(ulong ticks, ulong type, ulong size, long stack, ulong address, ulong offset, byte heapKind)
        {
            Record(0x04).Ticks(ticks).Varint(type).Varint(size).SVarint(stack - state.Stack)
                .SVarint(unchecked((long)(address - state.NextAddress))).Varint(offset).U8(heapKind);
            state.Stack = stack;
            state.NextAddress = address + size;
            return this;
        }

        /// <summary>NATIVE_ALLOC: allocator kind (1 malloc … 9 mmap), size, stack (shared delta state with ALLOC), address.</summary>
        public ChunkBuilder NativeAlloc(ulong ticks, byte allocator, ulong size, long stack, ulong address)
        {
            Record(0x02).Ticks(ticks).U8(allocator).Varint(size).SVarint(stack - state.Stack).Varint(address);
            state.Stack = stack;
            return this;
        }

        /// <summary>NATIVE_FREE: kind 1 free (size 0) or 2 munmap (size = length).</summary>
        public ChunkBuilder NativeFree(ulong ticks, byte kind, ulong address, ulong size = 0) =>
            Record(0x03).Ticks(ticks).U8(kind).Varint(address).Varint(size);

        public ChunkBuilder Module(ulong moduleBase, ulong size, string path, string buildId = "") =>
            Record(0x18).Varint(moduleBase).Varint(size).String(path).String(buildId);

        /// <summary>MANAGED_MODULE (header flag bit 3).</summary>
        public ChunkBuilder ManagedModule(ulong index, string path, string name) =>
            Record(0x19).Varint(index).String(path).String(name);

        /// <summary>MODULE_SYMBOLS: a module's in-memory portable PDB.</summary>
        public ChunkBuilder ModuleSymbols(ulong index, byte[] symbols)
        {
            Record(0x1A).Varint(index).Varint((ulong)symbols.Length);
            payload.Write(symbols);
            return this;
        }

        /// <summary>IL_FRAME: a managed ip's method token and IL offset in a MANAGED_MODULE.</summary>
        public ChunkBuilder IlFrame(ulong ip, ulong module, ulong token, ulong ilOffset) =>
            Record(0x1B).Varint(ip).Varint(module).Varint(token).Varint(ilOffset);

        /// <summary>AGG_TABLE; <paramref name="count"/> overrides the row count written (for corrupt tables).</summary>
        public ChunkBuilder AggTable(ulong ticks, bool final, ulong peakBytes, IReadOnlyList<AggRow> rows, ulong? count = null)
        {
            Record(0x30).Ticks(ticks).U8(final ? (byte)1 : (byte)0).Varint(peakBytes).Varint(count ?? (ulong)rows.Count);
            foreach (var r in rows)
                Varint(r.Stack).Varint(r.Type).Varint(r.Count).Varint(r.Bytes).Varint(r.PeakCount).Varint(r.PeakBytes)
                    .Varint(r.AliveCount).Varint(r.AliveBytes);
            return this;
        }

        /// <summary>A record of raw bytes (counts as one record).</summary>
        public ChunkBuilder RawRecord(params byte[] bytes)
        {
            records++;
            payload.Write(bytes);
            return this;
        }

        public ChunkBuilder Record(byte tag)
        {
            records++;
            return U8(tag);
        }

        public ChunkBuilder Ticks(ulong ticks)
        {
            Varint(ticks - state.Ticks);
            state.Ticks = ticks;
            return this;
        }

        public ChunkBuilder U8(byte value)
        {
            payload.WriteByte(value);
            return this;
        }

        public ChunkBuilder Varint(ulong value)
        {
            while (value >= 0x80)
            {
                payload.WriteByte((byte)(value | 0x80));
                value >>= 7;
            }
            payload.WriteByte((byte)value);
            return this;
        }

        public ChunkBuilder SVarint(long value) => Varint((ulong)((value << 1) ^ (value >> 63)));

        public ChunkBuilder String(string value)
        {
            var bytes = Encoding.UTF8.GetBytes(value);
            Varint((ulong)bytes.Length);
            payload.Write(bytes);
            return this;
        }

        public byte[] Payload => payload.ToArray();

        public TestCaptureWriter Write(bool zstd = false)
        {
            owner.FinishChunk(stream, payload.ToArray(), records, zstd);
            return owner;
        }
    }
}

/// <summary>Logs every record the reader delivers as text, in order.</summary>
internal sealed class RecordLog : CaptureVisitor
{
    public List<string> Lines { get; } = new();
    public CaptureReadResult? Result { get; private set; }

    public override void OnHeader(in CaptureHeader header) => Lines.Add(header.ToString());
    public override void OnClock(in ClockRecord clock) => Lines.Add(clock.ToString());
    public override void OnType(in TypeRecord type) => Lines.Add(type.ToString());
    public override void OnStackNode(in StackNodeRecord node) => Lines.Add(node.ToString());
    public override void OnFrame(in FrameRecord frame) => Lines.Add(frame.ToString());
    public override void OnThread(in ThreadRecord thread) => Lines.Add(thread.ToString());
    public override void OnThreadName(in ThreadNameRecord name) => Lines.Add(name.ToString());
    public override void OnSnapshot(in SnapshotRecord snapshot) => Lines.Add(snapshot.ToString());
    public override void OnEnd(in EndRecord end) => Lines.Add(end.ToString());
    public override void OnGcStart(in GcStartRecord gc) => Lines.Add(gc.ToString());
    public override void OnGcEnd(in GcEndRecord gc) => Lines.Add(gc.ToString());
    public override void OnSuspend(long ticks) => Lines.Add($"Suspend {ticks}");
    public override void OnResume(long ticks) => Lines.Add($"Resume {ticks}");
    public override void OnAllocation(in AllocationRecord allocation) => Lines.Add(allocation.ToString());
    public override void OnFree(in FreeRecord free) => Lines.Add(free.ToString());
    public override void OnModule(in ModuleRecord module) => Lines.Add(module.ToString());
    public override void OnAggregateTable(AggregateTableRecord table) =>
        Lines.Add($"{table} [{string.Join(", ", table.Rows)}]");
    public override void OnFinished(CaptureReadResult result) => Result = result;

    public static RecordLog Read(byte[] bytes, CaptureReaderOptions? options = null, bool seekable = true)
    {
        var log = new RecordLog();
        Stream stream = seekable ? new MemoryStream(bytes) : new NonSeekableStream(bytes);
        CaptureReader.Read(stream, "test.memnb", log, options);
        return log;
    }
}

/// <summary>A pipe-like stream: no length, no seeking, short reads.</summary>
internal sealed class NonSeekableStream(byte[] bytes) : Stream
{
    private int position;
    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
    public override void Flush() { }

    public override int Read(byte[] buffer, int offset, int count)
    {
        var n = Math.Min(Math.Min(count, 7), bytes.Length - position);
        Array.Copy(bytes, position, buffer, offset, n);
        position += n;
        return n;
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}

/// <summary>One AGG_TABLE row as written: stack id, type index, totals, alive at the peak, alive when written.</summary>
public readonly record struct AggRow(ulong Stack, ulong Type, ulong Count, ulong Bytes, ulong PeakCount, ulong PeakBytes,
    ulong AliveCount, ulong AliveBytes);
