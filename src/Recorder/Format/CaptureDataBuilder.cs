namespace MemNotebook.Recorder.Format;

/// <summary>Collects every record into a <see cref="CaptureData"/>. Times are kept in ticks until the clock is known.</summary>
internal sealed class CaptureDataBuilder : CaptureVisitor
{
    private Column<long> timestamps;
    private Column<int> threadStreams;
    private Column<int> typeIndexes;
    private Column<long> sizes;
    private Column<int> stackIds;
    private Column<ulong> addresses;
    private Column<long> freeTicks;
    private readonly Dictionary<int, List<int>> rowsByStream = new();
    private readonly List<SnapshotRecord> snapshots = new();
    private readonly List<GcBuilder> gcs = new();
    private readonly Dictionary<long, GcBuilder> openGcs = new();
    private readonly List<GcBuilder> gcsInSuspension = new();
    private long? suspendTicks;
    private CaptureReadResult? result;

    public override void OnAllocation(in AllocationRecord allocation)
    {
        if (!rowsByStream.TryGetValue(allocation.ThreadStream, out var rows))
            rowsByStream.Add(allocation.ThreadStream, rows = new List<int>());
        rows.Add(timestamps.Count);
        timestamps.Add(allocation.Ticks);
        threadStreams.Add(allocation.ThreadStream);
        typeIndexes.Add(allocation.TypeIndex);
        sizes.Add(allocation.Size);
        stackIds.Add(allocation.StackId);
        addresses.Add(allocation.Address);
        freeTicks.Add(-1);
    }

    // The reader guarantees the allocation exists and is freed once.
    public override void OnFree(in FreeRecord free) =>
        freeTicks[rowsByStream[free.ThreadStream][(int)free.Sequence]] = free.Ticks;

    public override void OnSnapshot(in SnapshotRecord snapshot) => snapshots.Add(snapshot);

    public override void OnSuspend(long ticks)
    {
        suspendTicks = ticks;
        gcsInSuspension.Clear();
    }

    public override void OnResume(long ticks)
    {
        foreach (var gc in gcsInSuspension)
        {
            gc.SuspendTicks = suspendTicks;
            gc.ResumeTicks = ticks;
        }
        gcsInSuspension.Clear();
        suspendTicks = null;
    }

    public override void OnGcStart(in GcStartRecord gc)
    {
        var builder = new GcBuilder { Index = gc.GcIndex, StartTicks = gc.Ticks, Generations = gc.Generations, Reason = gc.Reason, LiveBytes = gc.LiveBytes };
        gcs.Add(builder);
        openGcs[gc.GcIndex] = builder;
        if (suspendTicks is not null)
            gcsInSuspension.Add(builder);
    }

    public override void OnGcEnd(in GcEndRecord gc)
    {
        if (!openGcs.Remove(gc.GcIndex, out var builder))
        {
            // Recording began during this GC: no GC_START.
            builder = new GcBuilder { Index = gc.GcIndex };
            gcs.Add(builder);
            if (suspendTicks is not null)
                gcsInSuspension.Add(builder);
        }
        builder.End = gc;
    }

    public override void OnFinished(CaptureReadResult read) => result = read;

    public CaptureData Build()
    {
        var read = result ?? throw new InvalidOperationException("the capture has not been read");
        var clock = read.Clock;
        var count = timestamps.Count;
        var times = timestamps.Detach();
        var frees = freeTicks.Detach();
        for (var i = 0; i < count; i++)
        {
            times[i] = clock.ToNanoseconds(times[i]);
            if (frees[i] != -1)
                frees[i] = Math.Max(0, clock.ToNanoseconds(frees[i])); // −1 stays the "alive" marker
        }
        var allocations = new AllocationTable(count, times, threadStreams.Detach(), typeIndexes.Detach(), sizes.Detach(),
            stackIds.Detach(), addresses.Detach(), frees);

        var types = read.Tables.Types.Values.OrderBy(t => t.Index).ToArray();
        var threads = read.Tables.Threads.Values.OrderBy(t => t.StreamId)
            .Select(t => new CaptureThread(t.StreamId, t.OsThreadId, t.ManagedThreadId, read.Tables.ThreadName(t.OsThreadId)))
            .ToArray();
        var memory = snapshots.Select(s => new MemorySnapshot(clock.ToNanoseconds(s.Ticks), s.RssBytes, s.Gen0Bytes,
            s.Gen1Bytes, s.Gen2Bytes, s.LohBytes, s.PohBytes, s.TrackedLiveBytes)).ToArray();
        var gcEvents = gcs.Select(g => g.Build(clock)).ToArray();
        return new CaptureData(read, types, threads, memory, gcEvents, allocations);
    }

    private sealed class GcBuilder
    {
        public long Index;
        public long? StartTicks;
        public byte Generations;
        public byte Reason;
        public long LiveBytes;
        public GcEndRecord? End;
        public long? SuspendTicks;
        public long? ResumeTicks;

        public GcEvent Build(TickClock clock)
        {
            long? pause = SuspendTicks is long s && ResumeTicks is long r ? clock.ToNanoseconds(r) - clock.ToNanoseconds(s) : null;
            var end = End ?? default;
            return new GcEvent(Index, StartTicks is long st ? clock.ToNanoseconds(st) : null,
                End is null ? null : clock.ToNanoseconds(end.Ticks), Generations, Reason, pause, LiveBytes,
                end.Gen0Bytes, end.Gen1Bytes, end.Gen2Bytes, end.LohBytes, end.PohBytes);
        }
    }
}
