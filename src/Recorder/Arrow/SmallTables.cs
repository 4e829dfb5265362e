using System.Runtime.InteropServices;
using Apache.Arrow;
using Apache.Arrow.Ipc;
using MemNotebook.Recorder.Stacks;
using MemNotebook.Recorder.Format;

namespace MemNotebook.Recorder.Arrow;

/// <summary>
/// The tables whose size follows distinct stacks, types, threads, snapshots and GCs, not allocations:
/// built in memory at the end of the conversion, each written as one record batch.
/// </summary>
internal static class SmallTables
{
    public static void WriteAll(string folder, CaptureReadResult read, IReadOnlyList<MemorySnapshot> snapshots,
        IReadOnlyList<GcEvent> gcEvents)
    {
        var tables = read.Tables;
        WriteStacks(folder, tables);
        Write(folder, ArrowLayout.Frames, Frames(tables));
        Write(folder, ArrowLayout.Types, Types(tables));
        Write(folder, ArrowLayout.Threads, Threads(tables));
        Write(folder, ArrowLayout.Timeline, Timeline(snapshots));
        Write(folder, ArrowLayout.GcEvents, GcEventsBatch(gcEvents));
    }

    /// <summary>
    /// The aggregates table of an aggregated capture: its last AGG_TABLE, one row per (stack, type),
    /// bytes descending (then count descending, stack id and type index ascending).
    /// </summary>
    public static RecordBatch Aggregates(CaptureReadResult read)
    {
        var tables = read.Tables;
        var attribution = new FunctionAttribution(tables);
        var rows = (read.AggregateTable?.Rows ?? [])
            .OrderByDescending(r => r.Bytes).ThenByDescending(r => r.Count).ThenBy(r => r.StackId).ThenBy(r => r.TypeIndex)
            .ToArray();
        var stack = new Int32Array.Builder();
        var function = new StringArray.Builder();
        var type = new StringArray.Builder();
        var longs = Enumerable.Range(0, 6).Select(_ => new Int64Array.Builder()).ToArray();
        foreach (var r in rows)
        {
            stack.Append(r.StackId);
            function.Append(attribution.FunctionOf(r.StackId));
            type.Append(tables.TypeName(r.TypeIndex));
            longs[0].Append(r.Count);
            longs[1].Append(r.Bytes);
            longs[2].Append(r.PeakCount);
            longs[3].Append(r.PeakBytes);
            longs[4].Append(r.AliveCount);
            longs[5].Append(r.AliveBytes);
        }
        IArrowArray[] columns = [stack.Build(), function.Build(), type.Build(), .. longs.Select(b => (IArrowArray)b.Build())];
        return Batch(ArrowLayout.AggregatesSchema, rows.Length, columns);
    }

    /// <summary>
    /// Writes <paramref name="batch"/> as the table's file and disposes it. Its buffers are native memory that its
    /// arrays free when finalized: held until the write is done (the writer passes spans over them to write(2); once
    /// nothing referenced the batch, a GC during a write freed them and the write failed with "Bad address").
    /// </summary>
    public static void Write(string folder, string table, RecordBatch batch)
    {
        using (batch)
        {
            using var file = Storage.PrivateFiles.Create(ArrowLayout.TablePath(folder, table));
            using var writer = new ArrowFileWriter(file, batch.Schema, leaveOpen: false, ArrowCompression.WriteOptions);
            writer.WriteRecordBatch(batch);
            writer.WriteEnd();
        }
    }

    /// <summary>Rows per record batch of the stacks table: a deep capture's millions of nodes are written a part at a time.</summary>
    internal const int StackBatchRows = 1 << 20;

    /// <summary>
    /// One row per stack node, in record batches of <see cref="StackBatchRows"/> built in buffers reused for each (a
    /// deep capture has millions of nodes: memory is one batch, not the table). The function column is
    /// dictionary-encoded, one dictionary for every batch: a 4-byte index a row into the distinct functions, not a
    /// string per node.
    /// </summary>
    private static void WriteStacks(string folder, CaptureTables tables)
    {
        var nodes = tables.StackNodes;
        var depths = StackDepths(nodes);
        var (functionIndexes, functionNames) = FunctionAttribution.OfEveryStack(tables);
        using var dictionary = new StringArray.Builder().AppendRange(functionNames).Build();
        var rows = Math.Min(nodes.Count, StackBatchRows);
        var id = new byte[rows * sizeof(int)];
        var parent = new byte[rows * sizeof(int)];
        var ip = new byte[rows * sizeof(ulong)];
        var depth = new byte[rows * sizeof(int)];
        var function = new byte[rows * sizeof(int)];
        using var file = Storage.PrivateFiles.Create(ArrowLayout.TablePath(folder, ArrowLayout.Stacks));
        using var writer = new ArrowFileWriter(file, ArrowLayout.StacksSchema, leaveOpen: false, ArrowCompression.WriteOptions);
        // A table without nodes is a header, its schema and no batches, which every reader opens as an empty table.
        if (nodes.Count == 0)
            writer.WriteStart();
        for (var start = 0; start < nodes.Count; start += rows)
        {
            var n = Math.Min(rows, nodes.Count - start);
            var ids = MemoryMarshal.Cast<byte, int>(id.AsSpan());
            var parents = MemoryMarshal.Cast<byte, int>(parent.AsSpan());
            var ips = MemoryMarshal.Cast<byte, ulong>(ip.AsSpan());
            var depthValues = MemoryMarshal.Cast<byte, int>(depth.AsSpan());
            var functions = MemoryMarshal.Cast<byte, int>(function.AsSpan());
            for (var i = 0; i < n; i++)
            {
                var node = nodes[start + i];
                ids[i] = node.Id;
                parents[i] = node.ParentId;
                ips[i] = node.Ip;
                depthValues[i] = depths[node.Id];
                functions[i] = functionIndexes[node.Id];
            }
            // The batch's arrays are views of the reused buffers (managed: disposing them frees nothing); written before
            // the next batch refills them.
            var batch = Batch(ArrowLayout.StacksSchema, n,
                new Int32Array(new ArrowBuffer(id.AsMemory(0, n * sizeof(int))), ArrowBuffer.Empty, n, 0, 0),
                new Int32Array(new ArrowBuffer(parent.AsMemory(0, n * sizeof(int))), ArrowBuffer.Empty, n, 0, 0),
                new UInt64Array(new ArrowBuffer(ip.AsMemory(0, n * sizeof(ulong))), ArrowBuffer.Empty, n, 0, 0),
                new Int32Array(new ArrowBuffer(depth.AsMemory(0, n * sizeof(int))), ArrowBuffer.Empty, n, 0, 0),
                new DictionaryArray(ArrowLayout.FunctionType, new Int32Array(new ArrowBuffer(function.AsMemory(0, n * sizeof(int))),
                    ArrowBuffer.Empty, n, 0, 0), dictionary));
            writer.WriteRecordBatch(batch);
        }
        writer.WriteEnd();
    }

    /// <summary>Frames from each node to the root, by id; a chain that never ends (unused, unvalidated) stops at the depth limit.</summary>
    private static int[] StackDepths(IReadOnlyList<StackNodeRecord> nodes)
    {
        var depths = new int[nodes.Count + 1];
        var chain = new List<int>();
        for (var start = 1; start <= nodes.Count; start++)
        {
            chain.Clear();
            var id = start;
            while (id != 0 && id <= nodes.Count && depths[id] == 0 && chain.Count <= CaptureFormat.MaxStackDepth)
            {
                chain.Add(id);
                id = nodes[id - 1].ParentId;
            }
            var depth = id != 0 && id <= nodes.Count ? depths[id] : 0;
            for (var i = chain.Count - 1; i >= 0; i--)
                depths[chain[i]] = ++depth;
        }
        return depths;
    }

    /// <summary>Every ip of a stack node or a FRAME record, by ip; an ip without FRAME is an unknown frame.</summary>
    private static RecordBatch Frames(CaptureTables tables)
    {
        // A hash set, sorted once: the nodes (millions in a deep capture) hold few distinct ips.
        var distinct = new HashSet<ulong>(tables.Frames.Keys);
        foreach (var node in tables.StackNodes)
            distinct.Add(node.Ip);
        var ips = distinct.ToArray();
        System.Array.Sort(ips);
        var ip = new UInt64Array.Builder();
        var kind = new StringArray.Builder();
        var function = new StringArray.Builder();
        var module = new StringArray.Builder();
        var offset = new UInt64Array.Builder();
        var file = new StringArray.Builder();
        var line = new Int32Array.Builder();
        var inlined = new StringArray.Builder();
        var rawFunction = new StringArray.Builder();
        var noLine = new StringArray.Builder();
        foreach (var address in ips)
        {
            var frame = tables.Frame(address);
            ip.Append(address);
            kind.Append(ArrowLayout.KindName(frame.Kind));
            function.Append(Symbols.FrameNaming.Shown(frame.Kind, frame.Function));
            rawFunction.Append(frame.Function);
            module.Append(frame.Module);
            offset.Append(frame.Offset);
            // The ip's own function's location (after its inlined callees'), then those callees.
            var source = tables.Source(address);
            var own = source.Count > 0 ? source[^1] : default;
            if (own.File is null)
                file.AppendNull();
            else
                file.Append(own.File);
            if (own.Line > 0)
                line.Append(own.Line);
            else
                line.AppendNull();
            var encoded = Symbols.InlinedColumn.Encode(source);
            if (encoded is null)
                inlined.AppendNull();
            else
                inlined.Append(encoded);
            if (tables.NoLineReason(address) is { } reason)
                noLine.Append(reason);
            else
                noLine.AppendNull();
        }
        return Batch(ArrowLayout.FramesSchema, ips.Length, ip.Build(), kind.Build(), function.Build(), module.Build(), offset.Build(),
            file.Build(), line.Build(), inlined.Build(), rawFunction.Build(), noLine.Build());
    }

    private static RecordBatch Types(CaptureTables tables)
    {
        var types = tables.Types.Values.OrderBy(t => t.Index).ToArray();
        var id = new Int32Array.Builder();
        var classId = new UInt64Array.Builder();
        var name = new StringArray.Builder();
        var isArray = new BooleanArray.Builder();
        foreach (var t in types)
        {
            id.Append(t.Index);
            classId.Append(t.ClassId);
            name.Append(t.Name);
            isArray.Append(t.IsArray);
        }
        return Batch(ArrowLayout.TypesSchema, types.Length, id.Build(), classId.Build(), name.Build(), isArray.Build());
    }

    private static RecordBatch Threads(CaptureTables tables)
    {
        var threads = tables.Threads.Values.OrderBy(t => t.StreamId).ToArray();
        var stream = new Int32Array.Builder();
        var osTid = new Int64Array.Builder();
        var managed = new UInt64Array.Builder();
        var name = new StringArray.Builder();
        foreach (var t in threads)
        {
            stream.Append(t.StreamId);
            osTid.Append((long)t.OsThreadId);
            managed.Append(t.ManagedThreadId);
            if (tables.ThreadName(t.OsThreadId) is string n)
                name.Append(n);
            else
                name.AppendNull();
        }
        return Batch(ArrowLayout.ThreadsSchema, threads.Length, stream.Build(), osTid.Build(), managed.Build(), name.Build());
    }

    private static RecordBatch Timeline(IReadOnlyList<MemorySnapshot> snapshots)
    {
        var columns = Enumerable.Range(0, 8).Select(_ => new Int64Array.Builder()).ToArray();
        foreach (var s in snapshots)
        {
            columns[0].Append(s.TimeNs);
            columns[1].Append(s.RssBytes);
            columns[2].Append(s.Gen0Bytes);
            columns[3].Append(s.Gen1Bytes);
            columns[4].Append(s.Gen2Bytes);
            columns[5].Append(s.LohBytes);
            columns[6].Append(s.PohBytes);
            columns[7].Append(s.TrackedLiveBytes);
        }
        return Batch(ArrowLayout.TimelineSchema, snapshots.Count, columns.Select(c => (IArrowArray)c.Build()).ToArray());
    }

    private static RecordBatch GcEventsBatch(IReadOnlyList<GcEvent> gcs)
    {
        var index = new Int64Array.Builder();
        var start = new Int64Array.Builder();
        var end = new Int64Array.Builder();
        var generations = new Int32Array.Builder();
        var reason = new Int32Array.Builder();
        var pause = new Int64Array.Builder();
        var live = new Int64Array.Builder();
        var heap = Enumerable.Range(0, 5).Select(_ => new Int64Array.Builder()).ToArray();
        foreach (var gc in gcs)
        {
            index.Append(gc.GcIndex);
            Append(start, gc.StartNs);
            Append(end, gc.EndNs);
            generations.Append(gc.Generations);
            reason.Append(gc.Reason);
            Append(pause, gc.PauseNs);
            live.Append(gc.LiveBytesAtStart);
            heap[0].Append(gc.Gen0Bytes);
            heap[1].Append(gc.Gen1Bytes);
            heap[2].Append(gc.Gen2Bytes);
            heap[3].Append(gc.LohBytes);
            heap[4].Append(gc.PohBytes);
        }
        IArrowArray[] columns = [index.Build(), start.Build(), end.Build(), generations.Build(), reason.Build(), pause.Build(), live.Build(),
            .. heap.Select(h => (IArrowArray)h.Build())];
        return Batch(ArrowLayout.GcEventsSchema, gcs.Count, columns);
    }

    private static void Append(Int64Array.Builder builder, long? value)
    {
        if (value is long v)
            builder.Append(v);
        else
            builder.AppendNull();
    }

    private static RecordBatch Batch(Schema schema, int length, params IArrowArray[] columns) => new(schema, columns, length);
}
