using MemNotebook.Recorder.Format;
using MemNotebook.Recorder.Stacks;

namespace MemNotebook.Recorder.Analysis;

/// <summary>
/// Computes <see cref="CaptureStats"/> in one pass over the reader. Keeps per live object its size and
/// type (to charge a free back), and aggregates per type, stack and thread; nothing per dead object.
/// Functions are resolved at the end because FRAME records may follow the allocations that use them.
/// Given the free runs of a first pass (<see cref="CaptureStats.Compute(string, int, CaptureReaderOptions?)"/>),
/// it keeps nothing per object at all: each allocation is looked up as it comes.
/// </summary>
public sealed class StatsCollector : CaptureVisitor
{
    private readonly int top;
    private readonly FreeTimes.Lookup? frees;
    // The first pass's clock, with its frees: native allocations are then timed in ns as they come.
    private readonly TickClock? clock;
    private readonly NativePeakFinder nativePeak = new();
    private long managedBytes;
    private long managedFreedBytes;
    private long[] freedScratch = [];
    private readonly Dictionary<int, Dictionary<long, LiveObject>> liveByStream = new();
    private readonly Dictionary<int, TypeTotals> byType = new();
    private readonly Dictionary<int, Totals> byStack = new();
    private readonly Dictionary<int, Totals> byThread = new();
    private readonly Dictionary<int, Totals> byAllocator = new();
    // Stack totals by id in stackTotals, count and bytes side by side (one cache line per stack: the stacks of a capture
    // come in no order, and two arrays took two cache misses per allocation; byStack holds ids past the bound), and byType's totals by index for the
    // per-row lookups of a block.
    private const int MaxDenseId = 1 << 26;
    private long[] stackTotals = [];
    private TypeTotals?[] typeCache = [];
    private long totalAllocations;
    private long totalBytes;
    private double estimatedBytes;
    private bool sampled;
    private long exactLargeObjects;
    private long exactLargeBytes;
    private long freedAllocations;
    private long freedBytes;
    private long gcCount;
    private ManagedPeakFinder peak;
    private CaptureStats? result;
    // Scoped (ScopedPass): which stack ids are in scope; every allocation, in scope or not, counted apart; the scope's
    // managed bytes allocated and freed binned by the first of the GC starts and of the snapshots at or after each time.
    private readonly bool[]? inScope;
    // inScope as bits: the per-allocation test in an eighth of the memory (it stays in cache).
    private readonly ulong[] scopeBits = [];
    private readonly long[] gcStartNs = [];
    private readonly long[] snapshotNs = [];
    private readonly long[] gcLiveDelta = [];
    private readonly long[] snapshotLiveDelta = [];
    private long scopeManagedAliveAtEnd;
    private long everyAllocation;

    public StatsCollector(int top = CaptureStats.DefaultTop)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(top);
        this.top = top;
    }

    /// <param name="frees">When each object died, from a first pass: FREE records are then not needed.</param>
    /// <param name="clock">The clock <paramref name="frees"/> was sealed with (the Arrow conversion's).</param>
    /// <param name="stackNodes">The stack nodes the first pass read: the stack totals are sized for them once.</param>
    internal StatsCollector(int top, FreeTimes.Lookup frees, TickClock clock, int stackNodes = 0) : this(top)
    {
        (this.frees, this.clock) = (frees, clock);
        if (stackNodes > 0 && stackNodes < MaxDenseId)
        {
            stackTotals = new long[2L * (stackNodes + 1)];
        }
    }

    /// <summary>
    /// Counts only allocations whose stack id is in scope (<paramref name="inScope"/>: index = stack id; ids beyond it are
    /// not), and bins the scope's managed live bytes at <paramref name="gcStartNs"/> and <paramref name="snapshotNs"/>
    /// (each ascending) for <see cref="ScopeLiveAt"/>.
    /// </summary>
    internal StatsCollector(int top, FreeTimes.Lookup frees, TickClock clock, bool[] inScope, long[] gcStartNs, long[] snapshotNs)
        : this(top, frees, clock)
    {
        this.inScope = inScope;
        scopeBits = new ulong[(inScope.Length + 63) / 64];
        for (var i = 0; i < inScope.Length; i++)
            if (inScope[i])
                scopeBits[i >> 6] |= 1UL << i;
        this.gcStartNs = gcStartNs;
        this.snapshotNs = snapshotNs;
        gcLiveDelta = new long[gcStartNs.Length + 1];
        snapshotLiveDelta = new long[snapshotNs.Length + 1];
    }

    /// <summary>When scoped: the flame graph's totals per stack gathered in the same pass (<see cref="ScopedStackTotals"/>).</summary>
    internal ScopedStackTotals? SelectedTotals { get; init; }

    /// <summary>
    /// Count and bytes per stack id below <paramref name="length"/> of the allocations counted (every one of the scope, when
    /// scoped); null when ids that low are not all kept in the dense arrays.
    /// </summary>
    internal (long[] Counts, long[] Bytes)? StackTotalsBelow(int length)
    {
        if (length > MaxDenseId)
            return null;
        var counts = new long[length];
        var bytes = new long[length];
        var n = Math.Min(length, stackTotals.Length / 2);
        for (var id = 0; id < n; id++)
            (counts[id], bytes[id]) = (stackTotals[2 * id], stackTotals[2 * id + 1]);
        return (counts, bytes);
    }

    /// <summary>Allocations read, in scope or not (the whole capture's count; <see cref="CaptureStats.TotalAllocations"/> is the scope's).</summary>
    internal long EveryAllocation => everyAllocation;

    /// <summary>Managed bytes of the scope never freed.</summary>
    internal long ScopeManagedAliveAtEnd => scopeManagedAliveAtEnd;

    /// <summary>
    /// The scope's managed bytes alive at each GC start (<paramref name="atGcStarts"/> true) or snapshot given to the
    /// constructor: allocated at or before it, not freed by then.
    /// </summary>
    internal long[] ScopeLiveAt(bool atGcStarts)
    {
        var delta = atGcStarts ? gcLiveDelta : snapshotLiveDelta;
        var live = new long[delta.Length - 1];
        long sum = 0;
        for (var i = 0; i < live.Length; i++)
            live[i] = sum += delta[i];
        return live;
    }

    private bool InScope(int stackId) => inScope is null || ((uint)stackId < (uint)inScope.Length && inScope[stackId]);

    /// <summary>A scoped managed object allocated at <paramref name="allocatedNs"/>, freed at <paramref name="freedNs"/> (−1: never).</summary>
    // Per allocation of the pass: optimized up front (tier-0 code ran until the pass was well under way).
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    private void ScopeLive(long allocatedNs, long freedNs, long size)
    {
        // A thread's allocations come in time order and objects die in few GCs: the last bins found are tried first.
        if (allocatedNs != lastAllocatedNs)
            (lastAllocatedNs, allocatedGcBin, allocatedSnapshotBin) = (allocatedNs, Bin(gcStartNs, allocatedNs, allocatedGcBin), Bin(snapshotNs, allocatedNs, allocatedSnapshotBin));
        gcLiveDelta[allocatedGcBin] += size;
        snapshotLiveDelta[allocatedSnapshotBin] += size;
        if (freedNs == -1)
        {
            scopeManagedAliveAtEnd += size;
            return;
        }
        if (freedNs != lastFreedNs)
            (lastFreedNs, freedGcBin, freedSnapshotBin) = (freedNs, SortedTimes.LowerBound(gcStartNs, freedNs), SortedTimes.LowerBound(snapshotNs, freedNs));
        gcLiveDelta[freedGcBin] -= size;
        snapshotLiveDelta[freedSnapshotBin] -= size;
    }

    private long lastAllocatedNs = long.MinValue, lastFreedNs = long.MinValue;
    private int allocatedGcBin, allocatedSnapshotBin, freedGcBin, freedSnapshotBin;

    /// <summary><see cref="SortedTimes.LowerBound"/>, trying <paramref name="hint"/> and the bins just after it first.</summary>
    private static int Bin(long[] ascending, long ns, int hint)
    {
        if (hint <= ascending.Length && (hint == 0 || ascending[hint - 1] < ns))
        {
            for (var i = hint; i < hint + 4; i++)
                if (i == ascending.Length || ascending[i] >= ns)
                    return i;
        }
        return SortedTimes.LowerBound(ascending, ns);
    }

    public CaptureStats Result => result ?? throw new InvalidOperationException("the capture has not been read");

    public override void OnAllocation(in AllocationRecord a)
    {
        everyAllocation++;
        if (!InScope(a.StackId))
            return;
        totalAllocations++;
        totalBytes += a.Size;
        estimatedBytes += a.EstimatedBytes;
        if (a.IsExact)
        {
            exactLargeObjects++;
            exactLargeBytes += a.Size;
        }
        sampled |= a.IsSampled;
        var type = Get(byType, a.TypeIndex);
        type.Count++;
        type.Bytes += a.Size;
        if (!a.IsNative)
            managedBytes += a.Size;
        if (frees is null)
        {
            if (!liveByStream.TryGetValue(a.ThreadStream, out var live))
                liveByStream.Add(a.ThreadStream, live = new Dictionary<long, LiveObject>());
            live.Add(a.Sequence, new LiveObject(a.Size, a.TypeIndex));
            if (a.IsNative)
                nativePeak.Allocated(a.Ticks, a.Size); // ticks: converted with the capture's clock at the end
        }
        else
        {
            var freedAtNs = frees.FreedAtNs(a.ThreadStream, a.Sequence);
            if (freedAtNs != -1)
                Freed(type, a.Size, a.IsNative);
            if (inScope is not null && !a.IsNative)
            {
                var ns = clock!.ToNanoseconds(a.Ticks);
                ScopeLive(ns, freedAtNs, a.Size);
                SelectedTotals?.Add(a.StackId, ns, freedAtNs, a.Size, allocatedGcBin, freedGcBin);
            }
            else if (inScope is not null && SelectedTotals is not null)
            {
                // A native block: not in the scope's managed live bytes, but selected by its times as an object is.
                var ns = clock!.ToNanoseconds(a.Ticks);
                SelectedTotals.Add(a.StackId, ns, freedAtNs, a.Size, SortedTimes.LowerBound(gcStartNs, ns), freedAtNs == -1 ? 0 : SortedTimes.LowerBound(gcStartNs, freedAtNs));
            }
            if (a.IsNative)
            {
                nativePeak.Allocated(clock!.ToNanoseconds(a.Ticks), a.Size);
                if (freedAtNs != -1)
                    nativePeak.Released(freedAtNs, a.Size);
            }
        }
        AddToStack(a.StackId, 1, a.Size);
        var thread = Get(byThread, a.ThreadStream);
        thread.Count++;
        thread.Bytes += a.Size;
        var allocator = Get(byAllocator, a.Allocator);
        allocator.Count++;
        allocator.Bytes += a.Size;
    }

    /// <summary>
    /// A block of ALLOC records (exact managed objects of one thread) with a first pass's frees: the
    /// thread's and the allocator's totals once, the free times of the whole block at once, and the type
    /// and stack totals looked up again only when they change from one row to the next.
    /// </summary>
    // Runs once per block from the reader's loop: optimized up front, as the reader's own decoding loop is (tier-0 code
    // and its on-stack replacement took a fifth of a 10M-allocation pass).
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    public override void OnAllocations(in AllocationBlock block)
    {
        if (frees is null)
        {
            base.OnAllocations(block);
            return;
        }
        var n = block.Count;
        if (freedScratch.Length < n)
            freedScratch = new long[Math.Max(n, 4096)];
        var freed = freedScratch.AsSpan(0, n);
        frees.Fill(block.ThreadStream, block.FirstSequence, freed);
        var sizes = block.Sizes;
        var types = block.TypeIndexes;
        var stacks = block.StackIds;
        var ticks = block.Ticks;
        long bytes = 0;
        var count = 0;
        TypeTotals? type = null;
        int lastType = 0;
        var selectedTotals = SelectedTotals;
        everyAllocation += n;
        for (var i = 0; i < n; i++)
        {
            if (i + CacheHints.Distance < n)
            {
                // The totals of the stack a few rows ahead, fetched while this row is added (Analysis.CacheHints).
                var ahead = stacks[i + CacheHints.Distance];
                CacheHints.Prefetch(stackTotals, 2L * ahead);
                selectedTotals?.Prefetch(ahead, freed[i + CacheHints.Distance]);
            }
            if (inScope is not null)
            {
                if ((uint)stacks[i] >= (uint)inScope.Length || (scopeBits[stacks[i] >> 6] & (1UL << stacks[i])) == 0)
                    continue;
                var ns = clock!.ToNanoseconds(ticks[i]);
                ScopeLive(ns, freed[i], sizes[i]);
                selectedTotals?.Add(stacks[i], ns, freed[i], sizes[i], allocatedGcBin, freedGcBin);
            }
            var size = sizes[i];
            bytes += size;
            count++;
            if (type is null || types[i] != lastType)
                type = TypeOf(lastType = types[i]);
            type.Count++;
            type.Bytes += size;
            if (freed[i] != -1)
                Freed(type, size, native: false);
            AddToStack(stacks[i], 1, size);
        }
        if (count == 0)
            return;
        totalAllocations += count;
        totalBytes += bytes;
        managedBytes += bytes;
        estimatedBytes += bytes;
        var thread = Get(byThread, block.ThreadStream);
        thread.Count += count;
        thread.Bytes += bytes;
        var allocator = Get(byAllocator, 0);
        allocator.Count += count;
        allocator.Bytes += bytes;
    }

    public override void OnFree(in FreeRecord free)
    {
        // With a first pass's runs each allocation was looked up already.
        if (frees is not null)
            return;
        // The reader guarantees the allocation exists and is freed once.
        liveByStream[free.ThreadStream].Remove(free.Sequence, out var dead);
        Freed(byType[dead.TypeIndex], dead.Size, native: dead.TypeIndex < 0);
        if (dead.TypeIndex < 0)
            nativePeak.Released(free.Ticks, dead.Size);
    }

    private void Freed(TypeTotals type, long size, bool native)
    {
        freedAllocations++;
        freedBytes += size;
        if (!native)
            managedFreedBytes += size;
        type.FreedCount++;
        type.FreedBytes += size;
    }

    public override void OnGcStart(in GcStartRecord gc)
    {
        gcCount++;
        peak.GcStarted(gc.Ticks, gc.LiveBytes);
    }

    public override void OnFinished(CaptureReadResult read)
    {
        // Frames are named (ELF symbols, DWARF and PDB lines) before the stacks and functions are ranked.
        Symbols.CaptureSymbols.Resolve(read.Tables);
        if (read.IsAggregated)
        {
            result = FromAggregateTable(read, top, gcCount);
            return;
        }
        var tables = read.Tables;
        // END's live_bytes counts managed objects only, and so does the peak without END.
        var endLive = read.End is EndRecord end ? end.LiveBytes : managedBytes - managedFreedBytes;
        var native = nativePeak.Find(frees is null ? read.Clock : null);
        var types = RankTypes(byType, tables);
        var functions = RankFunctions(StackTotals(), tables, top);
        var threads = tables.Threads.Values
            .Select(t =>
            {
                var totals = byThread.GetValueOrDefault(t.StreamId);
                return new ThreadStats(t.OsThreadId, tables.ThreadName(t.OsThreadId), totals?.Count ?? 0, totals?.Bytes ?? 0);
            })
            .OrderByDescending(t => t.Bytes).ThenByDescending(t => t.Count).ThenBy(t => t.Id)
            .ToArray();
        result = CaptureStats.Create(read.Path, Arrow.CaptureMetadata.From(read, totalAllocations, freedAllocations), gcCount,
            totalAllocations, totalBytes, leakedCount: totalAllocations - freedAllocations, leakedBytes: totalBytes - freedBytes,
            peakBytes: peak.Find(endLive, 0).Bytes, types, functions, threads,
            CaptureStats.RankAllocators(byAllocator.Select(kv => new AllocatorStats(CaptureFormat.AllocatorName(kv.Key), kv.Value.Count, kv.Value.Bytes))),
            RankStacks(StackTotals(), tables)) with
        {
            Sampled = read.Header.IsSampled,
            EstimatedBytes = read.Header.IsSampled ? (long)Math.Round(estimatedBytes) : totalBytes,
            ExactLargeObjects = exactLargeObjects,
            ExactLargeBytes = exactLargeBytes,
            NativePeakBytes = native.Bytes,
            NativePeakTimeNs = native.TimeNs,
        };
    }

    private static StackStats[] RankStacks(IEnumerable<(int StackId, long Count, long Bytes)> byStack, CaptureTables tables) =>
        CaptureStats.RankStacks(byStack,
            id => Stacks.StackFrames.Names(tables, id));

    /// <summary>The stats of an aggregated capture, from its last table (none read: all zero, not complete).</summary>
    internal static CaptureStats FromAggregateTable(CaptureReadResult read, int top, long gcCount)
    {
        var tables = read.Tables;
        var rows = read.AggregateTable?.Rows ?? [];
        long count = 0, bytes = 0, aliveCount = 0, aliveBytes = 0;
        var byType = new Dictionary<int, TypeTotals>();
        var byStack = new Dictionary<int, Totals>();
        foreach (var row in rows)
        {
            count += row.Count;
            bytes += row.Bytes;
            aliveCount += row.AliveCount;
            aliveBytes += row.AliveBytes;
            var type = Get(byType, row.TypeIndex);
            type.Count += row.Count;
            type.Bytes += row.Bytes;
            type.FreedCount += row.Count - row.AliveCount;
            type.FreedBytes += row.Bytes - row.AliveBytes;
            var stack = Get(byStack, row.StackId);
            stack.Count += row.Count;
            stack.Bytes += row.Bytes;
        }
        return CaptureStats.Create(read.Path, Arrow.CaptureMetadata.From(read, count, count - aliveCount), gcCount, count, bytes,
            leakedCount: aliveCount, leakedBytes: aliveBytes, peakBytes: read.AggregateTable?.PeakBytes ?? 0,
            RankTypes(byType, tables), RankFunctions(Totals.Of(byStack), tables, top), threads: [],
            count == 0 ? [] : [new AllocatorStats(CaptureFormat.AllocatorName(0), count, bytes)], RankStacks(Totals.Of(byStack), tables));
    }

    private static TypeStats[] RankTypes(Dictionary<int, TypeTotals> byType, CaptureTables tables) =>
        byType
            .Select(kv => new TypeStats(tables.TypeName(kv.Key), kv.Value.Count, kv.Value.Bytes,
                kv.Value.Count - kv.Value.FreedCount, kv.Value.Bytes - kv.Value.FreedBytes))
            .OrderByDescending(t => t.Bytes).ThenByDescending(t => t.Count).ThenBy(t => t.Type, StringComparer.Ordinal)
            .ToArray();

    /// <summary>The functions with the most bytes: each stack's totals added to its function's (one entry per function, not a group of stacks).</summary>
    private static FunctionStats[] RankFunctions(IEnumerable<(int StackId, long Count, long Bytes)> byStack, CaptureTables tables, int top)
    {
        var (functionOf, names) = FunctionAttribution.OfEveryStack(tables);
        var counts = new long[names.Count];
        var sums = new long[names.Count];
        var seen = new bool[names.Count];
        FunctionAttribution? attribution = null;
        var byFunction = new Dictionary<string, Totals>(StringComparer.Ordinal);
        foreach (var (stackId, count, bytes) in byStack)
        {
            if ((uint)stackId < (uint)functionOf.Length)
            {
                var f = functionOf[stackId];
                counts[f] += count;
                sums[f] += bytes;
                seen[f] = true;
                continue;
            }
            // Not a stack node (stack 0 of an empty stack is one: index 0 is "[unknown]").
            var totals = Get(byFunction, (attribution ??= new FunctionAttribution(tables)).FunctionOf(stackId));
            totals.Count += count;
            totals.Bytes += bytes;
        }
        for (var f = 0; f < names.Count; f++)
        {
            if (!seen[f])
                continue;
            var totals = Get(byFunction, names[f]);
            totals.Count += counts[f];
            totals.Bytes += sums[f];
        }
        return byFunction
            .Select(kv => new FunctionStats(kv.Key, kv.Value.Count, kv.Value.Bytes))
            .OrderByDescending(f => f.Bytes).ThenByDescending(f => f.Count).ThenBy(f => f.Function, StringComparer.Ordinal)
            .Take(top)
            .ToArray();
    }

    /// <summary>
    /// Adds to a stack's totals: arrays by id (ids are dense from 1, and a deep capture has millions of stacks), the
    /// dictionary past <see cref="MaxDenseId"/>.
    /// </summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    private void AddToStack(int stackId, long count, long bytes)
    {
        if ((uint)stackId < (uint)(stackTotals.Length / 2))
        {
            stackTotals[2 * stackId] += count;
            stackTotals[2 * stackId + 1] += bytes;
            return;
        }
        AddToStackSlow(stackId, count, bytes);
    }

    private void AddToStackSlow(int stackId, long count, long bytes)
    {
        if (stackId >= 0 && stackId < MaxDenseId)
        {
            var length = (int)Math.Min(MaxDenseId, Math.Max(stackId + 1L, Math.Max(1024L, stackTotals.Length)));
            Array.Resize(ref stackTotals, 2 * length);
            AddToStack(stackId, count, bytes);
            return;
        }
        var totals = Get(byStack, stackId);
        totals.Count += count;
        totals.Bytes += bytes;
    }

    /// <summary>Every stack an allocation has, with its totals.</summary>
    private IEnumerable<(int StackId, long Count, long Bytes)> StackTotals()
    {
        for (var id = 0; id < stackTotals.Length / 2; id++)
            if (stackTotals[2 * id] != 0)
                yield return (id, stackTotals[2 * id], stackTotals[2 * id + 1]);
        foreach (var (id, totals) in byStack)
            yield return (id, totals.Count, totals.Bytes);
    }

    // Per allocation whose type differs from the row before: the cached case inlined.
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    private TypeTotals TypeOf(int typeIndex) =>
        (uint)typeIndex < (uint)typeCache.Length && typeCache[typeIndex] is { } totals ? totals : TypeOfUncached(typeIndex);

    private TypeTotals TypeOfUncached(int typeIndex)
    {
        var totals = Get(byType, typeIndex);
        if (typeIndex >= 0 && typeIndex < MaxDenseId)
        {
            if (typeIndex >= typeCache.Length)
                Array.Resize(ref typeCache, (int)Math.Min(MaxDenseId, Math.Max(typeIndex + 1L, typeCache.Length * 2L)));
            typeCache[typeIndex] = totals;
        }
        return totals;
    }

    private static T Get<TKey, T>(Dictionary<TKey, T> map, TKey key) where TKey : notnull where T : class, new()
    {
        if (!map.TryGetValue(key, out var value))
            map.Add(key, value = new T());
        return value;
    }

    private readonly record struct LiveObject(long Size, int TypeIndex);

    private class Totals
    {
        public long Count;
        public long Bytes;

        public static IEnumerable<(int StackId, long Count, long Bytes)> Of(Dictionary<int, Totals> byStack) =>
            byStack.Select(kv => (kv.Key, kv.Value.Count, kv.Value.Bytes));
    }

    private sealed class TypeTotals : Totals
    {
        public long FreedCount;
        public long FreedBytes;
    }
}
