using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using ZstdSharp;

namespace MemNotebook.Recorder.Format;

/// <summary>
/// Streams a capture front to back into a <see cref="CaptureVisitor"/>, validating every length,
/// index and reference (docs/capture-format.md). Memory is bounded by one chunk (≤ 64 MiB raw), the
/// tables (types, stack nodes, frames, threads) and one bit per allocation for double-free checks.
/// Any violation is a <see cref="CaptureFormatException"/>; a cut-short last chunk is reported via
/// <see cref="CaptureReadResult.Truncated"/> (or thrown, see <see cref="CaptureReaderOptions.AllowTruncated"/>).
/// </summary>
public sealed class CaptureReader
{
    // Larger than any managed object the runtime can make; anything above is corruption.
    private const long MaxAllocationSize = 1L << 40;

    private readonly Stream stream;
    private readonly string path;
    private readonly CaptureVisitor visitor;
    private readonly CaptureReaderOptions options;
    private readonly CaptureTables tables = new();
    private readonly StreamState metaState = new(CaptureFormat.MetaStream);
    private readonly StreamState gcState = new(CaptureFormat.GcStream);
    private readonly Dictionary<int, StreamState> threadStates = new();
    private readonly List<int> stackDepths = new();
    // Bit i set once stack i's chain is checked (its depth is known): the per-ALLOC test, in an array small enough to stay
    // in cache (a lookup in stackDepths, 4 bytes per node, missed the cache for most records of a capture of many stacks).
    private ulong[] checkedStacks = [];
    // The ips STACK_NODES records spelt out, in order: a later node names one by its number.
    private readonly List<ulong> nodeIps = new();
    private readonly List<int> stackWalk = new();
    private readonly byte[] chunkHeader = new byte[CaptureFormat.ChunkHeaderSize];
    private readonly NativeHeap nativeHeap = new();
    // Defined type indexes below this bound, checked per ALLOC without a dictionary lookup.
    private const int MaxDenseTypeIndex = 1 << 20;
    private bool[] definedTypes = [];
    private readonly List<NativeHeap.Released> released = new();
    // Columns of the ALLOC block being decoded (see DecodeAllocBlock).
    private const int BlockRows = 4096;
    private readonly long[] blockTicks = new long[BlockRows];
    private readonly int[] blockTypes = new int[BlockRows];
    private readonly long[] blockSizes = new long[BlockRows];
    private readonly int[] blockStacks = new int[BlockRows];
    private readonly ulong[] blockAddresses = new ulong[BlockRows];

    private CaptureReadResult result = null!;
    private Decompressor? decompressor;
    private NativeZstd? nativeZstd;
    private bool nativeZstdTried;
    private byte[] storedBuffer = [];
    private byte[] rawBuffer = [];
    private long position;
    private long chunkOffset;
    private StreamState? chunkStream;
    private int recordStart;
    private byte? currentTag;
    private ClockRecord? firstClock;
    private ClockRecord? lastClock;
    // Timestamps are non-negative: −1 / long.MaxValue mean "none yet" without a nullable test per record.
    private long minTicks = long.MaxValue;
    private long maxTicks = -1;
    private long? lastGcEndTicks;
    private long lastGcEndIndex;
    // Bytes of every allocation read so far: each total a report makes (per type, stack, thread, freed, alive) is
    // a part of it, so keeping it within 63 bits keeps every sum of sizes from overflowing.
    private long allocatedBytes;

    private CaptureReader(Stream stream, string path, CaptureVisitor visitor, CaptureReaderOptions options)
    {
        this.stream = stream;
        this.path = path;
        this.visitor = visitor;
        this.options = options;
    }

    /// <summary>Opens <paramref name="path"/> for sequential reading (a capture still being written can be read).</summary>
    public static FileStream OpenFile(string path) =>
        new(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 1 << 16, FileOptions.SequentialScan);

    public static CaptureReadResult Read(string path, CaptureVisitor visitor, CaptureReaderOptions? options = null)
    {
        using var file = OpenFile(path);
        return Read(file, path, visitor, options);
    }

    /// <param name="path">The name used in error messages.</param>
    public static CaptureReadResult Read(Stream stream, string path, CaptureVisitor visitor, CaptureReaderOptions? options = null)
    {
        var reader = new CaptureReader(stream, path, visitor, options ?? CaptureReaderOptions.Default);
        try
        {
            return reader.Run();
        }
        finally
        {
            reader.decompressor?.Dispose();
            reader.nativeZstd?.Dispose();
        }
    }

    private CaptureReadResult Run()
    {
        if (options.ExpectedStackNodes > 0)
        {
            tables.StackNodeList.Capacity = options.ExpectedStackNodes;
            stackDepths.Capacity = options.ExpectedStackNodes;
        }
        var header = ReadHeader();
        result = new CaptureReadResult(path, header, tables);
        visitor.OnHeader(header);
        while (ReadChunk())
        {
            result.ChunkCount++;
            result.BytesRead = position;
        }
        result.BytesRead = position;
        long? first = minTicks == long.MaxValue ? null : minTicks, last = maxTicks < 0 ? null : maxTicks;
        result.Clock = TickClock.FromPairs(firstClock, lastClock, first ?? 0);
        result.FirstTicks = first;
        result.LastTicks = last;
        result.FirstClockTicks = firstClock?.Ticks;
        visitor.OnFinished(result);
        return result;
    }

    private CaptureHeader ReadHeader()
    {
        Span<byte> header = stackalloc byte[CaptureFormat.HeaderSize];
        var got = ReadFully(header);
        var magic = CaptureFormat.Magic;
        var compared = Math.Min(got, magic.Length);
        if (got == 0)
            throw new CaptureFormatException(path, 0, "not a MemNotebook capture: the file is empty");
        if (!header[..compared].SequenceEqual(magic[..compared]))
            throw new CaptureFormatException(path, 0, "not a MemNotebook capture: the file does not start with MEMNBCAP");
        if (got < CaptureFormat.HeaderSize)
            throw new CaptureFormatException(path, got,
                $"truncated header: needs {CaptureFormat.HeaderSize} bytes, {got} present");
        var version = BinaryPrimitives.ReadUInt16LittleEndian(header[8..]);
        if (version > CaptureFormat.Version)
            throw new CaptureFormatException(path, 8,
                $"written by a newer MemNotebook (format version {version}, this reader knows {CaptureFormat.Version})");
        if (version == 0)
            throw new CaptureFormatException(path, 8, "unsupported format version 0");
        var flags = BinaryPrimitives.ReadUInt16LittleEndian(header[10..]);
        if ((flags & ~CaptureFormat.KnownFlags) != 0)
            throw new CaptureFormatException(path, 10,
                $"unknown header flags: 0x{flags:X4}, only bit 0 (aggregated capture), bit 1 (native allocations), bit 2 (sampled capture) and bit 3 (IL positions) are defined");
        if ((flags & CaptureFormat.FlagAggregated) != 0 && (flags & CaptureFormat.FlagNative) != 0)
            throw new CaptureFormatException(path, 10,
                "bad header flags: an aggregated capture (bit 0) cannot hold native allocations (bit 1)");
        if ((flags & CaptureFormat.FlagAggregated) != 0 && (flags & CaptureFormat.FlagSampled) != 0)
            throw new CaptureFormatException(path, 10,
                $"bad header flags: 0x{flags:X4}, a capture cannot be aggregated (bit 0) and sampled (bit 2) at once");
        var headerSize = BinaryPrimitives.ReadUInt32LittleEndian(header[12..]);
        if (headerSize != CaptureFormat.HeaderSize)
            throw new CaptureFormatException(path, 12,
                $"bad header size: {headerSize}, a version 1 header is {CaptureFormat.HeaderSize} bytes");
        var pid = BinaryPrimitives.ReadInt32LittleEndian(header[16..]);
        var wallClock = BinaryPrimitives.ReadInt64LittleEndian(header[24..]);
        return new CaptureHeader(version, flags, pid, wallClock);
    }

    /// <summary>Reads and decodes one chunk; false at end of file or at a cut-short chunk.</summary>
    private bool ReadChunk()
    {
        chunkOffset = position;
        chunkStream = null;
        currentTag = null;
        var got = ReadFully(chunkHeader);
        if (got == 0)
            return false;
        Span<byte> magicBytes = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(magicBytes, CaptureFormat.ChunkMagic);
        var compared = Math.Min(got, 4);
        if (!chunkHeader.AsSpan(0, compared).SequenceEqual(magicBytes[..compared]))
            throw FailChunk($"bad chunk magic: 0x{ReadMagicForMessage(got):X8}, expected 0x{CaptureFormat.ChunkMagic:X8} (CHNK)");
        if (got < CaptureFormat.ChunkHeaderSize)
            return Truncate($"truncated chunk header: needs {CaptureFormat.ChunkHeaderSize} bytes, {got} remain");

        var header = chunkHeader.AsSpan();
        var streamId = BinaryPrimitives.ReadUInt32LittleEndian(header[4..]);
        var storedSize = BinaryPrimitives.ReadUInt32LittleEndian(header[8..]);
        var rawSize = BinaryPrimitives.ReadUInt32LittleEndian(header[12..]);
        var codec = header[16];
        if (storedSize > CaptureFormat.MaxChunkPayload)
            throw FailChunk($"chunk too large: stored payload size {storedSize} exceeds the 64 MiB limit");
        if (rawSize > CaptureFormat.MaxChunkPayload)
            throw FailChunk($"chunk too large: raw payload size {rawSize} exceeds the 64 MiB limit");
        if (codec > CaptureFormat.CodecZstd)
            throw FailChunk($"unknown codec: {codec} (0 = stored, 1 = zstd)");
        if (codec == CaptureFormat.CodecStored && storedSize != rawSize)
            throw FailChunk($"chunk sizes disagree: stored size {storedSize}, raw size {rawSize}, codec 0 stores as is");
        chunkStream = StreamFor(streamId);
        if (chunkStream.Id >= CaptureFormat.FirstThreadStream)
        {
            result.ThreadPayloadBytes += rawSize;
            chunkStream.MaxAllocations += rawSize / CaptureFormat.MinAllocationRecordBytes;
        }

        // An aggregated capture has no thread chunks: one is decoded so that its ALLOC is reported.
        // Native releases are in thread streams: a native capture's are always read.
        if (options.SkipAllocations && chunkStream.Id >= CaptureFormat.FirstThreadStream && !result.IsAggregated
            && !result.Header.HasNative)
        {
            var skipProblem = SkipPayload((int)storedSize);
            return skipProblem is null || Truncate(skipProblem);
        }
        var payloadProblem = ReadPayload((int)storedSize);
        if (payloadProblem is not null)
            return Truncate(payloadProblem);
        var raw = codec == CaptureFormat.CodecStored
            ? storedBuffer.AsSpan(0, (int)storedSize)
            : Decompress((int)storedSize, (int)rawSize);
        DecodeRecords(raw, chunkStream);
        return true;
    }

    private uint ReadMagicForMessage(int got)
    {
        Span<byte> padded = stackalloc byte[4];
        chunkHeader.AsSpan(0, Math.Min(got, 4)).CopyTo(padded);
        return BinaryPrimitives.ReadUInt32LittleEndian(padded);
    }

    private StreamState StreamFor(uint streamId)
    {
        if (streamId == CaptureFormat.MetaStream)
            return metaState;
        if (streamId == CaptureFormat.GcStream)
            return gcState;
        if (streamId <= int.MaxValue && threadStates.TryGetValue((int)streamId, out var state))
            return state;
        throw FailChunk($"undefined stream: chunk of stream {streamId}, which no THREAD record defines");
    }

    /// <summary>Reads the payload into <see cref="storedBuffer"/>; returns why it could not (cut short) or null.</summary>
    private string? ReadPayload(int size)
    {
        if (stream.CanSeek)
        {
            // Known length: refuse before allocating for a payload the file does not hold.
            var remain = Math.Max(0, stream.Length - stream.Position);
            if (remain < size)
                return $"truncated chunk: payload needs {size} bytes, {remain} remain";
            EnsureCapacity(ref storedBuffer, size);
            var read = ReadFully(storedBuffer.AsSpan(0, size));
            return read == size ? null : $"truncated chunk: payload needs {size} bytes, {read} remain";
        }
        // Unknown length: grow the buffer only as bytes actually arrive.
        var total = 0;
        while (total < size)
        {
            EnsureCapacity(ref storedBuffer, Math.Min(size, Math.Max(total * 2, 1 << 20)));
            var want = Math.Min(size, storedBuffer.Length) - total;
            var got = ReadFully(storedBuffer.AsSpan(total, want));
            total += got;
            if (got < want)
                return $"truncated chunk: payload needs {size} bytes, {total} remain";
        }
        return null;
    }

    /// <summary>Moves past a payload without reading it when the stream can seek; returns why it could not (cut short) or null.</summary>
    private string? SkipPayload(int size)
    {
        if (!stream.CanSeek)
            return ReadPayload(size);
        var remain = Math.Max(0, stream.Length - stream.Position);
        if (remain < size)
            return $"truncated chunk: payload needs {size} bytes, {remain} remain";
        stream.Seek(size, SeekOrigin.Current);
        position += size;
        return null;
    }

    private Span<byte> Decompress(int storedSize, int rawSize)
    {
        EnsureCapacity(ref rawBuffer, rawSize);
        if (!nativeZstdTried)
        {
            nativeZstd = NativeZstd.TryCreate();
            nativeZstdTried = true;
        }
        int written;
        try
        {
            var source = storedBuffer.AsSpan(0, storedSize);
            var destination = rawBuffer.AsSpan(0, rawSize);
            var fits = nativeZstd is not null
                ? nativeZstd.TryDecompress(source, destination, out written)
                : (decompressor ??= new Decompressor()).TryUnwrap(source, destination, out written);
            if (!fits)
                throw FailChunk($"zstd payload does not match its raw size: it decompresses to more than {rawSize} bytes");
        }
        catch (Exception ex) when (ex is not CaptureFormatException)
        {
            throw FailChunk($"corrupt zstd payload: {ex.Message}", ex);
        }
        if (written != rawSize)
            throw FailChunk($"zstd payload does not match its raw size: it decompresses to {written} bytes, the chunk says {rawSize}");
        return rawBuffer.AsSpan(0, rawSize);
    }

    private bool Truncate(string problem)
    {
        if (!options.AllowTruncated)
            throw FailChunk(problem);
        result.Truncated = true;
        result.TruncatedAtOffset = chunkOffset;
        result.TruncationReason = problem;
        return false;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    // The decoding loop runs once per chunk: tiered compilation would keep it in slower code (OSR)
    // for a large part of a big capture, so it and its per-record callees are optimized up front.
    private void DecodeRecords(ReadOnlySpan<byte> payload, StreamState state)
    {
        var reader = new PayloadReader(payload, this);
        while (!reader.AtEnd)
        {
            recordStart = reader.Position;
            currentTag = null;
            var tag = reader.ReadByte();
            currentTag = tag;
            if (state.Id == CaptureFormat.MetaStream)
                DecodeMetaRecord(ref reader, tag);
            else if (state.Id == CaptureFormat.GcStream)
                DecodeGcRecord(ref reader, tag);
            else if (tag == CaptureFormat.TagAlloc && !result.IsAggregated && !result.Header.IsSampled)
                DecodeAllocBlock(ref reader, state);
            else if (tag == CaptureFormat.TagAlloc && result.Header.IsSampled)
                throw Fail("ALLOC in a sampled capture: a sampled capture (header flag bit 2) has SAMPLED_ALLOC records instead");
            else if (tag == CaptureFormat.TagAlloc)
                throw Fail("ALLOC in an aggregated capture: an aggregated capture (header flag bit 0) has no ALLOC records");
            else if (tag == CaptureFormat.TagSampledAlloc && result.Header.IsSampled)
                DecodeSampledAlloc(ref reader, state);
            else if (tag == CaptureFormat.TagSampledAlloc)
                throw Fail("SAMPLED_ALLOC in a capture without header flag bit 2 (sampled capture)");
            else if (tag is CaptureFormat.TagNativeAlloc or CaptureFormat.TagNativeFree && !result.Header.HasNative)
                throw Fail($"{CaptureFormat.TagName(tag)} in a capture without native allocations: header flag bit 1 is not set");
            else if (tag == CaptureFormat.TagNativeAlloc)
                DecodeNativeAlloc(ref reader, state);
            else if (tag == CaptureFormat.TagNativeFree)
                DecodeNativeFree(ref reader, state);
            else
                throw UnknownTag(tag);
        }
        currentTag = null;
    }

    // STACK_NODES loops over millions of nodes in a deep capture: compiled optimized up front like DecodeRecords.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void DecodeMetaRecord(ref PayloadReader reader, byte tag)
    {
        switch (tag)
        {
            case CaptureFormat.TagClock:
            {
                var ticks = ReadTicks(ref reader, metaState);
                var mono = reader.ReadLong("mono_ns");
                var shift = reader.ReadByte();
                var clock = new ClockRecord(ticks, mono, shift);
                NoteClockPair(clock);
                visitor.OnClock(clock);
                break;
            }
            case CaptureFormat.TagType:
            {
                var index = reader.ReadIndex("type index");
                var classId = reader.ReadVarint();
                var name = reader.ReadString("type name");
                var flags = reader.ReadVarint();
                var type = new TypeRecord(index, classId, name, (flags & 1) != 0);
                if (!tables.TypesByIndex.TryAdd(index, type))
                    throw Fail($"duplicate type: type index {index} is defined twice");
                if (index < MaxDenseTypeIndex)
                {
                    if (index >= definedTypes.Length)
                        Array.Resize(ref definedTypes, Math.Max(index + 1, definedTypes.Length * 2));
                    definedTypes[index] = true;
                }
                visitor.OnType(type);
                break;
            }
            case CaptureFormat.TagStackNode:
            {
                var id = reader.ReadIndex("stack node id");
                var parent = reader.ReadIndex("stack node parent");
                var ip = reader.ReadVarint();
                var expected = tables.StackNodeList.Count + 1;
                if (id != expected)
                    throw Fail($"stack node out of order: id {id}, expected {expected} (ids are dense from 1)");
                if (parent == id)
                    throw Fail($"stack cycle: stack node {id} is its own parent");
                var node = new StackNodeRecord(id, parent, ip);
                tables.StackNodeList.Add(node);
                stackDepths.Add(0);
                visitor.OnStackNode(node);
                break;
            }
            case CaptureFormat.TagStackNodes:
            {
                var count = reader.ReadIndex("stack node count");
                if (count == 0)
                    throw Fail("empty STACK_NODES record: its count is 0");
                for (var i = 0; i < count; i++)
                {
                    var id = tables.StackNodeList.Count + 1;
                    var up = reader.ReadVarint();
                    if (up > (ulong)(id - 1))
                        throw Fail($"stack node {id}: its parent is {up} nodes back, but only {id - 1} nodes come before it");
                    var parent = id - 1 - (int)up;
                    var ipNumber = reader.ReadVarint();
                    ulong ip;
                    if (ipNumber < (ulong)nodeIps.Count)
                    {
                        ip = nodeIps[(int)ipNumber];
                    }
                    else if (ipNumber == (ulong)nodeIps.Count)
                    {
                        ip = reader.ReadVarint();
                        nodeIps.Add(ip);
                    }
                    else
                    {
                        throw Fail($"stack node {id}: ip number {ipNumber} is not defined ({nodeIps.Count} ips so far)");
                    }
                    var node = new StackNodeRecord(id, parent, ip);
                    tables.StackNodeList.Add(node);
                    stackDepths.Add(0);
                    visitor.OnStackNode(node);
                }
                break;
            }
            case CaptureFormat.TagFrame:
            {
                var ip = reader.ReadVarint();
                var kind = reader.ReadByte();
                if (kind > (byte)FrameKind.Unknown)
                    throw Fail($"bad frame kind: {kind} (0 managed, 1 native, 2 unknown)");
                var function = reader.ReadString("function name");
                var module = reader.ReadString("module name");
                var offset = reader.ReadVarint();
                var frame = new FrameRecord(ip, (FrameKind)kind, function, module, offset);
                tables.FramesByIp[ip] = frame;
                visitor.OnFrame(frame);
                break;
            }
            case CaptureFormat.TagThread:
            {
                var streamId = reader.ReadIndex("thread stream id");
                var osTid = reader.ReadVarint();
                var managedId = reader.ReadVarint();
                if (streamId < CaptureFormat.FirstThreadStream)
                    throw Fail($"bad thread stream: stream id {streamId}, thread streams start at 2");
                var thread = new ThreadRecord(streamId, osTid, managedId);
                if (tables.ThreadsByStream.TryGetValue(streamId, out var earlier))
                {
                    // The tracer describes a thread again when it learns its managed id later (a native hook met the
                    // thread first): same stream, same OS thread, the latest record wins.
                    if (earlier.OsThreadId != osTid)
                        throw Fail($"duplicate thread: stream {streamId} is defined twice, for OS threads {earlier.OsThreadId} and {osTid}");
                    tables.ThreadsByStream[streamId] = thread;
                }
                else
                {
                    tables.ThreadsByStream.Add(streamId, thread);
                    threadStates.Add(streamId, new StreamState(streamId));
                }
                visitor.OnThread(thread);
                break;
            }
            case CaptureFormat.TagThreadName:
            {
                var osTid = reader.ReadVarint();
                var name = reader.ReadString("thread name");
                tables.ThreadNamesByOsTid[osTid] = name;
                visitor.OnThreadName(new ThreadNameRecord(osTid, name));
                break;
            }
            case CaptureFormat.TagSnapshot:
            {
                var ticks = ReadTicks(ref reader, metaState);
                var snapshot = new SnapshotRecord(ticks, reader.ReadLong("mono_ns"), reader.ReadLong("rss_bytes"),
                    reader.ReadLong("gen0"), reader.ReadLong("gen1"), reader.ReadLong("gen2"),
                    reader.ReadLong("loh"), reader.ReadLong("poh"), reader.ReadLong("tracked_live_bytes"));
                NoteClockPair(new ClockRecord(snapshot.Ticks, snapshot.MonotonicNs, 4));
                visitor.OnSnapshot(snapshot);
                break;
            }
            case CaptureFormat.TagAggTable:
                DecodeAggregateTable(ref reader);
                break;
            case CaptureFormat.TagModule:
            {
                if (!result.Header.HasNative)
                    throw Fail("MODULE in a capture without native allocations: header flag bit 1 is not set");
                var moduleBase = reader.ReadVarint();
                var size = reader.ReadVarint();
                var modulePath = reader.ReadString("module path");
                var buildId = reader.ReadString("build id");
                if (size == 0 || size > MaxAllocationSize || moduleBase > ulong.MaxValue - size)
                    throw Fail($"bad module extent: base 0x{moduleBase:X}, size {size}");
                var module = new ModuleRecord(modulePath, moduleBase, size, buildId);
                tables.ModuleList.Add(module);
                visitor.OnModule(module);
                break;
            }
            case CaptureFormat.TagManagedModule:
            {
                RequireIlFrames("MANAGED_MODULE");
                var index = reader.ReadIndex("managed module index");
                var expected = tables.ManagedModuleList.Count + 1;
                if (index != expected)
                    throw Fail($"managed module out of order: index {index}, expected {expected} (indexes are dense from 1)");
                var module = new ManagedModuleRecord(index, reader.ReadString("module path"), reader.ReadString("module name"));
                tables.ManagedModuleList.Add(module);
                break;
            }
            case CaptureFormat.TagModuleSymbols:
            {
                RequireIlFrames("MODULE_SYMBOLS");
                var index = reader.ReadIndex("managed module index");
                if (index < 1 || index > tables.ManagedModuleList.Count)
                    throw Fail($"undefined managed module: MODULE_SYMBOLS names module {index}, {tables.ManagedModuleList.Count} are defined");
                var length = reader.ReadVarint();
                if (length == 0 || length > CaptureFormat.MaxModuleSymbolBytes)
                    throw Fail($"bad symbols length: {length} bytes (1 to {CaptureFormat.MaxModuleSymbolBytes})");
                tables.ManagedModuleList[index - 1].Symbols = reader.ReadBytes((int)length).ToArray();
                break;
            }
            case CaptureFormat.TagIlFrame:
            {
                RequireIlFrames("IL_FRAME");
                var ip = reader.ReadVarint();
                var index = reader.ReadIndex("managed module index");
                if (index < 1 || index > tables.ManagedModuleList.Count)
                    throw Fail($"undefined managed module: IL_FRAME of ip 0x{ip:X} names module {index}, {tables.ManagedModuleList.Count} are defined");
                var token = reader.ReadVarint();
                if (token > uint.MaxValue)
                    throw Fail($"bad method token: 0x{token:X} does not fit in 32 bits");
                var ilOffset = reader.ReadIndex("IL offset");
                tables.IlFramesByIp[ip] = new IlFrameRecord(ip, index, unchecked((int)(uint)token), ilOffset);
                break;
            }
            case CaptureFormat.TagEnd:
            {
                var ticks = ReadTicks(ref reader, metaState);
                var end = new EndRecord(ticks, reader.ReadLong("allocations"), reader.ReadLong("frees"),
                    reader.ReadLong("live_bytes"), reader.ReadLong("dropped"));
                if (result.End is not null)
                    throw Fail("duplicate END: the capture has two END records");
                result.End = end;
                visitor.OnEnd(end);
                break;
            }
            default:
                throw UnknownTag(tag);
        }
    }

    private void DecodeGcRecord(ref PayloadReader reader, byte tag)
    {
        switch (tag)
        {
            case CaptureFormat.TagGcStart:
            {
                var ticks = ReadTicks(ref reader, gcState);
                var generations = reader.ReadByte();
                var reason = reader.ReadByte();
                var gc = new GcStartRecord(ticks, generations, reason, reader.ReadLong("gc index"), reader.ReadLong("live_bytes"));
                visitor.OnGcStart(gc);
                break;
            }
            case CaptureFormat.TagGcEnd:
            {
                var ticks = ReadTicks(ref reader, gcState);
                var gc = new GcEndRecord(ticks, reader.ReadLong("gc index"), reader.ReadLong("gen0"), reader.ReadLong("gen1"),
                    reader.ReadLong("gen2"), reader.ReadLong("loh"), reader.ReadLong("poh"));
                lastGcEndTicks = ticks;
                lastGcEndIndex = gc.GcIndex;
                visitor.OnGcEnd(gc);
                break;
            }
            case CaptureFormat.TagSuspend:
                visitor.OnSuspend(ReadTicks(ref reader, gcState));
                break;
            case CaptureFormat.TagResume:
                visitor.OnResume(ReadTicks(ref reader, gcState));
                break;
            case CaptureFormat.TagFree:
                if (result.IsAggregated)
                    throw Fail("FREE in an aggregated capture: an aggregated capture (header flag bit 0) has no FREE records");
                DecodeFree(ref reader);
                break;
            default:
                throw UnknownTag(tag);
        }
    }

    /// <summary>
    /// AGG_TABLE: dt, final, peak_bytes, count, then count rows of 8 varints. Every stack id and type
    /// index must be defined (their records come before the table), each (stack, type) pair appears
    /// once, and no peak or alive column exceeds its total.
    /// </summary>
    private void DecodeAggregateTable(ref PayloadReader reader)
    {
        if (!result.IsAggregated)
            throw Fail("AGG_TABLE in a capture that is not aggregated: header flag bit 0 is not set");
        if (result.AggregateTable is { Final: true })
            throw Fail("AGG_TABLE after the final table: the table written at stop is the last one");
        var ticks = ReadTicks(ref reader, metaState);
        var final = reader.ReadByte();
        if (final > 1)
            throw Fail($"bad final flag: {final} (0 = periodic table, 1 = written at stop)");
        var peakBytes = reader.ReadLong("peak_bytes");
        var count = reader.ReadVarint();
        // A row is 8 varints of at least one byte each: a larger count cannot be honest.
        if (count > (ulong)reader.Remaining / 8)
            throw Fail($"count too large: AGG_TABLE of {count} rows, but only {reader.Remaining} bytes remain in the chunk (8 bytes at least per row)");
        var rows = new AggregateRow[(int)count];
        var seen = new HashSet<(int, int)>();
        var nodeCount = tables.StackNodeList.Count;
        // The table's totals are summed by every report (and the peak and alive columns are parts of them).
        long countSum = 0, bytesSum = 0;
        for (var i = 0; i < rows.Length; i++)
        {
            var stackId = reader.ReadIndex("stack id");
            var typeIndex = reader.ReadIndex("type index");
            var row = new AggregateRow(stackId, typeIndex, reader.ReadLong("allocations"), reader.ReadLong("bytes"),
                reader.ReadLong("peak count"), reader.ReadLong("peak bytes"), reader.ReadLong("alive count"),
                reader.ReadLong("alive bytes"));
            if (stackId > nodeCount)
                throw Fail($"undefined stack: row {i} names stack id {stackId}, only {nodeCount} stack nodes are defined");
            ValidateStack(stackId);
            if (!tables.TypesByIndex.ContainsKey(typeIndex))
                throw Fail($"undefined type: row {i} names type index {typeIndex}, which has no TYPE record");
            if (!seen.Add((stackId, typeIndex)))
                throw Fail($"duplicate row: stack {stackId} and type index {typeIndex} appear twice in one table");
            if (row.PeakCount > row.Count || row.PeakBytes > row.Bytes)
                throw Fail($"peak exceeds total: row {i} (stack {stackId}, type index {typeIndex}) has {row.PeakCount} objects ({row.PeakBytes} bytes) alive at the peak of {row.Count} ({row.Bytes} bytes) allocated");
            if (row.AliveCount > row.Count || row.AliveBytes > row.Bytes)
                throw Fail($"alive exceeds total: row {i} (stack {stackId}, type index {typeIndex}) has {row.AliveCount} objects ({row.AliveBytes} bytes) alive of {row.Count} ({row.Bytes} bytes) allocated");
            if (row.Count > long.MaxValue - countSum || row.Bytes > long.MaxValue - bytesSum)
                throw Fail($"totals out of range: row {i} (stack {stackId}, type index {typeIndex}, {row.Count} allocations, {row.Bytes} bytes) brings the table's allocations or bytes past 2^63 − 1");
            countSum += row.Count;
            bytesSum += row.Bytes;
            rows[i] = row;
        }
        var table = new AggregateTableRecord(final == 1, peakBytes, rows) { Ticks = ticks };
        result.AggregateTable = table;
        visitor.OnAggregateTable(table);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void DecodeFree(ref PayloadReader reader)
    {
        var streamId = reader.ReadIndex("thread stream");
        if (!threadStates.TryGetValue(streamId, out var state))
            throw Fail($"undefined stream: FREE names thread stream {streamId}, which no THREAD record defines");
        var count = reader.ReadVarint();
        // Each sequence number takes at least one byte: a larger count cannot be honest.
        if (count > (ulong)reader.Remaining)
            throw Fail($"count too large: FREE of {count} objects, but only {reader.Remaining} bytes remain in the chunk");
        if (count > 0 && lastGcEndTicks is null)
            throw Fail("FREE before any GC_END: a FREE names objects that died in the GC of the GC_END before it");
        if (options.FreesChecked && FreedBefore(ref reader, count, state))
            return;
        // Objects that died together were mostly allocated together: consecutive numbers go as one run.
        long sequence = 0, runStart = 0;
        for (ulong i = 0; i < count; i++)
        {
            if (i == 0)
            {
                sequence = reader.ReadLong("sequence number");
                runStart = sequence;
                continue;
            }
            // Differences of one are single 0x01 bytes: a run of them taken at once.
            var ones = OnesAhead(reader.Data, reader.Position, count - i);
            if (ones > 1 && ones <= long.MaxValue - sequence)
            {
                sequence += ones;
                reader.Seek(reader.Position + ones);
                i += (ulong)ones - 1;
                continue;
            }
            var step = reader.ReadLong("sequence number difference");
            if (step == 1 && sequence != long.MaxValue)
            {
                sequence++;
                continue;
            }
            // The run so far comes first: an error in it is the earlier one.
            FreeRun(state, runStart, sequence - runStart + 1);
            if (step == 0)
                throw Fail($"FREE sequence numbers not ascending: {sequence} of stream {streamId} appears twice");
            if (step > long.MaxValue - sequence)
                throw Fail("value out of range: FREE sequence number overflows 63 bits");
            sequence += step;
            runStart = sequence;
        }
        if (count > 0)
            FreeRun(state, runStart, sequence - runStart + 1);
    }

    /// <summary>
    /// <see cref="CaptureReaderOptions.FreesChecked"/>: moves past a FREE's numbers when the last (the
    /// largest: an earlier read checked they ascend) names an allocation made already; false, with the
    /// reader where it was, for the full decoding to say what is wrong.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static bool FreedBefore(ref PayloadReader reader, ulong count, StreamState state)
    {
        var data = reader.Data;
        var p = reader.Position;
        ulong last = 0;
        for (ulong i = 0; i < count; i++)
        {
            var ones = i == 0 ? 0 : OnesAhead(data, p, count - i);
            if (ones > 1)
            {
                last = unchecked(last + (ulong)ones);
                p += ones;
                i += (ulong)ones - 1;
                continue;
            }
            if (!PayloadReader.TryVarint(data, ref p, out var value))
                return false;
            last = i == 0 ? value : unchecked(last + value);
        }
        if (count > 0 && last >= (ulong)state.Allocations)
            return false;
        reader.Seek(p);
        return true;
    }

    /// <summary>How many 0x01 bytes (varints of 1) follow <paramref name="p"/>, at most <paramref name="most"/> (a vectorized scan).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int OnesAhead(ReadOnlySpan<byte> data, int p, ulong most)
    {
        if ((uint)p >= (uint)data.Length || data[p] != 1)
            return 0;
        var ahead = data.Slice(p, (int)Math.Min((ulong)(data.Length - p), most));
        var other = ahead.IndexOfAnyExcept((byte)1);
        return other < 0 ? ahead.Length : other;
    }

    /// <summary>Checks and delivers sequence numbers <paramref name="start"/> … + <paramref name="length"/> − 1 of a FREE.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void FreeRun(StreamState state, long start, long length)
    {
        var end = start + length;
        // A pass that skips the thread chunks cannot count allocations, but knows how many their bytes can hold:
        // a FREE beyond that is refused before it makes the freed set (or the free runs) that large.
        if (options.SkipAllocations && end > state.MaxAllocations)
        {
            var beyond = Fail($"FREE of a non-existent allocation: sequence {Math.Max(start, state.MaxAllocations)} of thread stream {state.Id}, whose chunks so far hold at most {state.MaxAllocations} allocations");
            throw new CaptureFormatException(path, beyond.Offset, beyond.Problem, beyond.Tag) { BeyondSkippedChunks = true };
        }
        var existing = options.SkipAllocations ? end : Math.Min(end, state.Allocations);
        state.Freed ??= new FreedSet();
        if (existing > start)
        {
            var again = state.Freed.MarkFreed(start, existing - start);
            if (again >= 0)
                throw Fail($"FREE of an already freed allocation: sequence {again} of thread stream {state.Id}");
        }
        if (existing < end)
            throw Fail($"FREE of a non-existent allocation: sequence {Math.Max(start, existing)} of thread stream {state.Id}, which has {state.Allocations} allocations so far");
        visitor.OnFreeRun(state.Id, start, length, lastGcEndTicks!.Value, lastGcEndIndex);
    }

    /// <summary>
    /// ALLOC records (the tag of the first is read): this one and those right after it in the chunk, up
    /// to <see cref="BlockRows"/>, decoded into columns and delivered as one <see cref="AllocationBlock"/>.
    /// A record is decoded by a fast path with the stream's state in locals; one it cannot take (a field
    /// cut short or out of range, an undefined type, a stack not seen yet) goes through
    /// <see cref="DecodeAllocChecked"/>, which validates it field by field and names what is wrong.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void DecodeAllocBlock(ref PayloadReader reader, StreamState state)
    {
        var data = reader.Data;
        var pos = reader.Position;
        var ticks = state.Ticks;
        var stack = state.Stack;
        var next = state.NextAddress;
        var budget = long.MaxValue - allocatedBytes;
        var types = definedTypes;
        var depths = CollectionsMarshal.AsSpan(stackDepths);
        var stacksChecked = checkedStacks;
        var blockTicks = this.blockTicks.AsSpan();
        var blockTypes = this.blockTypes.AsSpan(0, blockTicks.Length);
        var blockSizes = this.blockSizes.AsSpan(0, blockTicks.Length);
        var blockStacks = this.blockStacks.AsSpan(0, blockTicks.Length);
        var blockAddresses = this.blockAddresses.AsSpan(0, blockTicks.Length);
        var n = 0;
        while (true)
        {
            var p = pos;
            if (!PayloadReader.TryVarint(data, ref p, out var dt) || dt > (ulong)long.MaxValue - ticks
                || !PayloadReader.TryVarint(data, ref p, out var type) || type >= (ulong)types.Length || !types[(int)type]
                || !PayloadReader.TryVarint(data, ref p, out var size) || size > MaxAllocationSize || (long)size > budget
                || !PayloadReader.TryVarint(data, ref p, out var zigzagStack)
                || !PayloadReader.TryVarint(data, ref p, out var zigzagAddress))
                goto Checked;
            var s = unchecked(stack + ((long)(zigzagStack >> 1) ^ -(long)(zigzagStack & 1)));
            if ((ulong)s > (ulong)depths.Length
                || (s != 0 && ((ulong)s >> 6 >= (ulong)stacksChecked.Length || (stacksChecked[(int)(s >> 6)] & (1UL << (int)s)) == 0)))
                goto Checked;
            var address = unchecked(next + (ulong)((long)(zigzagAddress >> 1) ^ -(long)(zigzagAddress & 1)));
            ticks += dt;
            stack = s;
            next = unchecked(address + size);
            budget -= (long)size;
            pos = p;
            blockTicks[n] = (long)ticks;
            blockTypes[n] = (int)type;
            blockSizes[n] = (long)size;
            blockStacks[n] = (int)s;
            blockAddresses[n] = address;
            goto Decoded;

        Checked:
            (state.Ticks, state.Stack, state.NextAddress) = (ticks, stack, next);
            allocatedBytes = long.MaxValue - budget;
            reader.Seek(pos);
            DecodeAllocChecked(ref reader, state, out blockTicks[n], out blockTypes[n], out blockSizes[n], out blockStacks[n],
                out blockAddresses[n]);
            (ticks, stack, next) = (state.Ticks, state.Stack, state.NextAddress);
            budget = long.MaxValue - allocatedBytes;
            depths = CollectionsMarshal.AsSpan(stackDepths);
            stacksChecked = checkedStacks;
            pos = reader.Position;

        Decoded:
            n++;
            if (n == blockTicks.Length || (uint)pos >= (uint)data.Length || data[pos] != CaptureFormat.TagAlloc)
                break;
            recordStart = pos;
            pos++;
        }
        (state.Ticks, state.Stack, state.NextAddress) = (ticks, stack, next);
        allocatedBytes = long.MaxValue - budget;
        var firstSequence = state.Allocations;
        state.Allocations += n;
        reader.Seek(pos);
        // Ticks only grow within a stream: the block's first and last are its extremes.
        NoteTicks(blockTicks[0]);
        NoteTicks(blockTicks[n - 1]);
        visitor.OnAllocations(new AllocationBlock(state.Id, firstSequence, blockTicks[..n], blockTypes[..n],
            blockSizes[..n], blockStacks[..n], blockAddresses[..n]));
    }

    /// <summary>
    /// The fields of one ALLOC (its tag read), or those SAMPLED_ALLOC begins with, each validated; updates the
    /// stream's state except its count and the capture's first and last times.
    /// </summary>
    private void DecodeAllocChecked(ref PayloadReader reader, StreamState state, out long ticks, out int typeIndex,
        out long size, out int stackId, out ulong address)
    {
        ticks = AdvanceTicks(ref reader, state);
        typeIndex = ReadTypeIndex(ref reader);
        size = reader.ReadLong("size");
        if (size > MaxAllocationSize)
            throw Fail($"size out of range: an allocation of {size} bytes");
        CountAllocatedBytes(size);
        stackId = ReadStack(ref reader, state);
        address = unchecked(state.NextAddress + (ulong)reader.ReadSignedVarint());
        state.NextAddress = unchecked(address + (ulong)size);
    }

    /// <summary>SAMPLED_ALLOC: the fields of ALLOC, then the sampled byte offset and the heap kind.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void DecodeSampledAlloc(ref PayloadReader reader, StreamState state)
    {
        DecodeAllocChecked(ref reader, state, out var ticks, out var typeIndex, out var size, out var stackId, out var address);
        NoteTicks(ticks);
        var sampledOffset = reader.ReadLong("sampled byte offset");
        if (sampledOffset >= size)
            throw Fail($"sampled byte offset out of range: {sampledOffset} in an object of {size} bytes");
        var kindByte = reader.ReadByte();
        var exact = (kindByte & CaptureFormat.SampledExactBit) != 0;
        var heapKind = (byte)(kindByte & ~CaptureFormat.SampledExactBit);
        if (heapKind > CaptureFormat.MaxHeapKind)
            throw Fail($"unknown heap kind {kindByte} (0 small object heap, 1 LOH, 2 POH), bit 7 marking an exact record");
        if (exact && heapKind != CaptureFormat.HeapKindLarge)
            throw Fail($"exact record of heap kind {heapKind}: only LOH objects (kind 1) are recorded exactly in a sampled capture");
        if (exact && sampledOffset != 0)
            throw Fail($"exact record with sampled byte offset {sampledOffset}: an object recorded exactly has offset 0");
        var sequence = state.Allocations++;
        visitor.OnAllocation(new AllocationRecord(state.Id, sequence, ticks, typeIndex, size, stackId, address)
        {
            IsSampled = true,
            SampledByteOffset = sampledOffset,
            HeapKind = heapKind,
            IsExact = exact,
        });
    }

    /// <summary>Adds an allocation's size to the capture's allocated bytes, refusing a total past 2^63 − 1.</summary>
    private void CountAllocatedBytes(long size)
    {
        if (size > long.MaxValue - allocatedBytes)
            throw Fail($"allocated bytes out of range: this allocation of {size} bytes brings the capture's total past 2^63 − 1 bytes ({allocatedBytes} before it)");
        allocatedBytes += size;
    }

    /// <summary>A type index that a TYPE record before it defined.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private int ReadTypeIndex(ref PayloadReader reader)
    {
        var typeIndex = reader.ReadIndex("type index");
        if (!((uint)typeIndex < (uint)definedTypes.Length ? definedTypes[typeIndex] : tables.TypesByIndex.ContainsKey(typeIndex)))
            throw Fail($"undefined type: type index {typeIndex} has no TYPE record");
        return typeIndex;
    }

    /// <summary>NATIVE_ALLOC: dt, allocator u8, size, stack svarint (shared with ALLOC), address varint.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void DecodeNativeAlloc(ref PayloadReader reader, StreamState state)
    {
        var ticks = ReadTicks(ref reader, state);
        var allocator = reader.ReadByte();
        if (allocator == 0 || allocator > CaptureFormat.MaxNativeAllocator)
            throw Fail($"bad allocator: {allocator} (1 malloc … {CaptureFormat.MaxNativeAllocator} mmap)");
        var size = reader.ReadLong("size");
        if (size > MaxAllocationSize)
            throw Fail($"size out of range: a native allocation of {size} bytes");
        CountAllocatedBytes(size);
        var stackId = ReadStack(ref reader, state);
        var address = reader.ReadVarint();
        if (allocator == 9 && (size == 0 || address > ulong.MaxValue - (ulong)size))
            throw Fail($"bad mmap extent: address 0x{address:X}, size {size}");
        var sequence = state.Allocations++;
        tables.NativeStackSet.Add(stackId);
        visitor.OnAllocation(new AllocationRecord(state.Id, sequence, ticks, -allocator, size, stackId, address));
        var now = nativeHeap.Allocate(state.Id, sequence, ticks, allocator == 9, address, size);
        if (now is NativeHeap.Released r)
            DeliverNativeFree(r);
    }

    /// <summary>NATIVE_FREE: dt, kind u8 (1 free, 2 munmap), address varint, size varint (the munmap length; 0 for free).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void DecodeNativeFree(ref PayloadReader reader, StreamState state)
    {
        var ticks = ReadTicks(ref reader, state);
        var kind = reader.ReadByte();
        var address = reader.ReadVarint();
        var size = reader.ReadVarint();
        if (kind == CaptureFormat.ReleaseFree)
        {
            if (size != 0)
                throw Fail($"bad free: a free() release carries size {size}, must be 0");
            if (nativeHeap.Free(address, ticks, state.Id) is NativeHeap.Released r)
                DeliverNativeFree(r);
        }
        else if (kind == CaptureFormat.ReleaseMunmap)
        {
            if (size == 0 || address > ulong.MaxValue - size)
                throw Fail($"bad munmap extent: address 0x{address:X}, length {size}");
            released.Clear();
            nativeHeap.Munmap(address, size, ticks, state.Id, released);
            foreach (var r in released)
                DeliverNativeFree(r);
        }
        else
        {
            throw Fail($"bad release kind: {kind} (1 free, 2 munmap)");
        }
    }

    private void DeliverNativeFree(NativeHeap.Released r)
    {
        var state = threadStates[r.Stream];
        state.Freed ??= new FreedSet();
        if (!state.Freed.TryMarkFreed(r.Sequence))
            throw Fail($"native release of an already freed allocation: sequence {r.Sequence} of thread stream {r.Stream}");
        visitor.OnFree(new FreeRecord(r.Stream, r.Sequence, r.Ticks, -1));
    }

    /// <summary>A stack svarint (difference from the stream's previous stack id), validated.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private int ReadStack(ref PayloadReader reader, StreamState state)
    {
        var stackDelta = reader.ReadSignedVarint();
        // The previous id is in [0, 2^31): a sum that wraps is negative, so one unsigned test covers both ends.
        var stackId = unchecked(state.Stack + stackDelta);
        if ((ulong)stackId > (ulong)tables.StackNodeList.Count)
            throw BadStack(stackDelta, state.Stack);
        ValidateStack((int)stackId);
        state.Stack = stackId;
        return (int)stackId;
    }

    private CaptureFormatException BadStack(long stackDelta, long previous) =>
        stackDelta > uint.MaxValue || stackDelta < -(long)uint.MaxValue
            ? Fail($"undefined stack: stack id delta {stackDelta} from {previous} is out of range")
            : Fail($"undefined stack: stack id {previous + stackDelta}, only {tables.StackNodeList.Count} stack nodes are defined");

    /// <summary>Checks a stack's parent chain once: every node defined, no cycle, at most 1024 frames.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void ValidateStack(int stackId)
    {
        // A stack already checked has its depth: the per-record case, inlined.
        if (stackId != 0 && CollectionsMarshal.AsSpan(stackDepths)[stackId - 1] == 0)
            ValidateNewStack(stackId);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void ValidateNewStack(int stackId)
    {
        stackWalk.Clear();
        var current = stackId;
        while (current != 0 && stackDepths[current - 1] == 0)
        {
            if (stackWalk.Count >= CaptureFormat.MaxStackDepth)
            {
                throw stackWalk.Count != stackWalk.Distinct().Count()
                    ? Fail($"stack cycle: the parent chain of stack {stackId} loops")
                    : Fail($"stack too deep: stack {stackId} has more than {CaptureFormat.MaxStackDepth} frames");
            }
            stackWalk.Add(current);
            var parent = tables.StackNodeList[current - 1].ParentId;
            if (parent > tables.StackNodeList.Count)
                throw Fail($"undefined stack: stack node {current} has parent {parent}, which is not defined");
            current = parent;
        }
        var baseDepth = current == 0 ? 0 : stackDepths[current - 1];
        if (baseDepth + stackWalk.Count > CaptureFormat.MaxStackDepth)
            throw Fail($"stack too deep: stack {stackId} has more than {CaptureFormat.MaxStackDepth} frames");
        var last = stackWalk.Max();
        if (last >> 6 >= checkedStacks.Length)
            Array.Resize(ref checkedStacks, Math.Max((last >> 6) + 1, Math.Max(16, checkedStacks.Length * 2)));
        for (var i = stackWalk.Count - 1; i >= 0; i--)
        {
            stackDepths[stackWalk[i] - 1] = baseDepth + (stackWalk.Count - i);
            checkedStacks[stackWalk[i] >> 6] |= 1UL << stackWalk[i];
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private long ReadTicks(ref PayloadReader reader, StreamState state)
    {
        var ticks = AdvanceTicks(ref reader, state);
        NoteTicks(ticks);
        return ticks;
    }

    /// <summary>A record's dt added to its stream's time (the capture's first and last times are not noted).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private long AdvanceTicks(ref PayloadReader reader, StreamState state)
    {
        var dt = reader.ReadVarint();
        if (dt > (ulong)long.MaxValue - state.Ticks)
            throw Fail($"timestamp out of range: {state.Ticks} + dt {dt} overflows 63 bits");
        state.Ticks += dt;
        return (long)state.Ticks;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void NoteTicks(long ticks)
    {
        if (ticks < minTicks)
            minTicks = ticks;
        if (ticks > maxTicks)
            maxTicks = ticks;
    }

    private void NoteClockPair(ClockRecord pair)
    {
        firstClock ??= pair;
        if (lastClock is null || pair.Ticks >= lastClock.Value.Ticks)
            lastClock = pair;
    }

    private int ReadFully(Span<byte> buffer)
    {
        var total = 0;
        while (total < buffer.Length)
        {
            var n = stream.Read(buffer[total..]);
            if (n == 0)
                break;
            total += n;
        }
        position += total;
        return total;
    }

    private static void EnsureCapacity(ref byte[] buffer, int size)
    {
        if (buffer.Length < size)
            buffer = new byte[Math.Max(size, Math.Min(CaptureFormat.MaxChunkPayload, buffer.Length * 2))];
    }

    private CaptureFormatException FailChunk(string problem, Exception? inner = null) =>
        new(path, chunkOffset, problem, null, inner);

    private CaptureFormatException UnknownTag(byte tag) =>
        Fail($"unknown record tag: 0x{tag:X2} is not a record of the {CaptureFormat.StreamName(chunkStream!.Id)}");

    /// <summary>An error in the record being decoded, located by its chunk, stream and payload byte.</summary>
    internal CaptureFormatException Fail(string problem)
    {
        var where = chunkStream is null ? "" : $" ({CaptureFormat.StreamName(chunkStream.Id)}, record at payload byte {recordStart})";
        return new CaptureFormatException(path, chunkOffset, problem + where, currentTag);
    }

    private void RequireIlFrames(string record)
    {
        if ((result.Header.Flags & CaptureFormat.FlagIlFrames) == 0)
            throw Fail($"{record} in a capture without IL positions: header flag bit 3 is not set");
    }

    internal CaptureFormatException RecordPastEnd() =>
        Fail("record runs past the end of its chunk: a chunk holds whole records only");

    private sealed class StreamState(int id)
    {
        public int Id { get; } = id;
        public ulong Ticks;
        public ulong NextAddress;
        public long Stack;
        public long Allocations;
        // At most how many allocations the stream's chunks so far can hold (raw bytes / 6).
        public long MaxAllocations;
        public FreedSet? Freed;
    }
}
