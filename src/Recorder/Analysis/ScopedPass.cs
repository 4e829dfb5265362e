using MemNotebook.Recorder.Format;

namespace MemNotebook.Recorder.Analysis;

/// <summary>
/// What a capture scoped to the frames of some code (a notebook cell's: <see cref="Capture.WithinSubmissions"/>) shows
/// in its reports, streamed from the capture file in two passes, without the Arrow tables: the numbers of
/// <see cref="Capture.Stats"/>, the peak, and the timeline's snapshots, GCs and the scope's live bytes. They equal what the
/// loaded capture scoped the same way gives (<see cref="ScopedPass"/>'s tests hold them equal).
/// </summary>
public sealed record ScopedSummary
{
    public required string Path { get; init; }

    /// <summary>What the capture is scoped to (<see cref="Capture.Scope"/>).</summary>
    public required string Scope { get; init; }

    /// <summary>The stats of the scope, as <see cref="Capture.Stats"/> of the scoped capture gives them.</summary>
    public required CaptureStats Stats { get; init; }

    /// <summary>The scope's managed high-water mark (<see cref="Capture.PeakBytes"/>, <see cref="Capture.PeakTimeNs"/>, <see cref="Capture.PeakIsAtEnd"/>).</summary>
    public required long PeakTimeNs { get; init; }
    public required bool PeakIsAtEnd { get; init; }

    /// <summary>The whole capture's duration, memory snapshots and GCs (the Arrow timeline and gc_events tables).</summary>
    public required long DurationNs { get; init; }
    public required IReadOnlyList<MemorySnapshot> Snapshots { get; init; }
    public required IReadOnlyList<GcEvent> GcEvents { get; init; }

    /// <summary>The scope's managed bytes alive at each snapshot.</summary>
    public required IReadOnlyList<long> ScopeLiveAtSnapshots { get; init; }

    /// <summary>Allocations in the whole capture, in scope or not.</summary>
    public required long CaptureAllocations { get; init; }

    // What a further pass over the same bytes needs (ScopedPass.SelectStacks).
    internal Func<string, bool> ScopeFrame { get; init; } = _ => false;
    internal bool[] InScope { get; init; } = [];
    internal FreeTimes.Lookup? Frees { get; init; }
    internal TickClock? Clock { get; init; }
    internal CaptureTables? Tables { get; init; }
    internal long Extent { get; init; }
    internal CaptureReaderOptions Options { get; init; } = CaptureReaderOptions.Default;

    // The flame graph's totals the stats pass gathered (Compute's flame), and the scope's GC starts they are binned by.
    internal ScopedStackTotals? Gathered { get; init; }
    internal (long[] Counts, long[] Bytes)? AllStacks { get; init; }
    internal long[] GcStartNs { get; init; } = [];
}

/// <summary>
/// The flame graph a scope's reports will show (its selection and the number of time buckets of its memory chart), so
/// that <see cref="ScopedPass.Compute"/> gathers its totals in the stats pass (<see cref="ScopedStackTotals"/>).
/// </summary>
public readonly record struct ScopedFlame(StackSelection Selection, int Buckets);

/// <summary>
/// A capture's reports scoped by stack, streamed: the first pass reads the meta and GC streams (thread chunks skipped), as
/// the Arrow conversion's does — frees as runs, snapshots, GCs, every stack node and frame; the frames are named, and each
/// stack node is in scope when its parent is or its own frame matches (once per node, memoised over the stack tree). The
/// second pass decodes the allocations and looks each one's stack up in that array (<see cref="StatsCollector"/>).
/// Memory: the free runs, the tables, and per stack node a flag.
/// </summary>
public static class ScopedPass
{
    /// <summary>
    /// The summary of <paramref name="path"/> scoped to the allocations with a frame matching <paramref name="scopeFrame"/> on
    /// their stack (as shown: <see cref="Symbols.FrameNaming"/>, or module+0xoffset); null for an aggregated or sampled
    /// capture, whose reports come from the loaded capture.
    /// </summary>
    /// <param name="flame">The flame graph to be shown: its totals per stack (and time buckets, when they fit and the
    /// capture's duration is known from its END) are gathered in the stats pass, and <see cref="SelectStacks"/> reads them
    /// instead of the capture.</param>
    public static ScopedSummary? Compute(string path, Func<string, bool> scopeFrame, string scope, int top = CaptureStats.DefaultTop,
        IProgress<double>? progress = null, CaptureReaderOptions? options = null, ScopedFlame? flame = null)
    {
        ArgumentNullException.ThrowIfNull(scopeFrame);
        options ??= CaptureReaderOptions.Default;
        var extent = new FileInfo(path).Length;
        AllocationLimit.Check(path, extent, AllocationLimit.For(extent, options.MaxAllocations), options.AllowTruncated);
        var first = new FreesAndGcsPass();
        var firstRead = CapturePass.Read(path, first,
            new CaptureReaderOptions { AllowTruncated = options.AllowTruncated, SkipAllocations = true }, extent, progress, 0, 0.5);
        if (firstRead.FirstClockTicks is null)
        {
            // No clock pair: the time origin is the earliest timestamp of any record, allocations included (as the conversion takes it).
            first = new FreesAndGcsPass();
            firstRead = CapturePass.Read(path, first, new CaptureReaderOptions { AllowTruncated = options.AllowTruncated }, extent, progress, 0, 0.5);
        }
        if (firstRead.IsAggregated || firstRead.Header.IsSampled)
            return null;
        Symbols.CaptureSymbols.Resolve(firstRead.Tables);
        var gcData = first.Build();
        var inScope = ScopeOfStacks(firstRead.Tables, scopeFrame);
        var gcStarts = gcData.GcEvents.Where(g => g.StartNs is not null).Select(g => g.StartNs!.Value).Order().ToArray();
        var snapshotTimes = gcData.Snapshots.Select(s => s.TimeNs).ToArray();
        var frees = first.Frees.Seal(firstRead.Clock);
        ScopedStackTotals? gathered = null;
        long assumedDurationNs = -1;
        if (flame is { } wanted)
        {
            // The time buckets' width follows the duration: known before the allocations only from END (the meta stream).
            long bucketNs = 0;
            if (firstRead.End is not null && wanted.Buckets > 0)
                bucketNs = BucketWidthNs(assumedDurationNs = firstRead.DurationNs, wanted.Buckets);
            // Alive at the peak is the leaks when the peak is the end: their buckets are counted in case it is.
            // The peak's candidates: the GC starts with the most live bytes in the whole capture.
            var liveAtStarts = gcData.GcEvents.Where(g => g.StartNs is not null).OrderBy(g => g.StartNs!.Value).Select(g => g.LiveBytesAtStart).ToArray();
            var candidates = gcStarts.Length == 0 ? null : ScopedStackTotals.Candidates(gcStarts, liveAtStarts);
            gathered = new ScopedStackTotals(inScope.Length, gcStarts.Length, peakRows: wanted.Selection == StackSelection.AliveAtPeak,
                bucketNs > 0 ? (wanted.Selection == StackSelection.All ? StackSelection.All : StackSelection.Leaked) : null, wanted.Buckets, bucketNs,
                candidates: candidates)
            {
                // Only a hint for the prefetches (ScopedStackTotals.Prefetch): the rows count what they count without it.
                FirstCandidateNs = candidates is null ? long.MinValue : gcStarts[candidates[0]],
            };
        }
        var collector = new StatsCollector(top, frees, firstRead.Clock, inScope, gcStarts, snapshotTimes) { SelectedTotals = gathered };
        var secondRead = ReadAllocations(path, collector,
            new CaptureReaderOptions { AllowTruncated = options.AllowTruncated, FreesChecked = true }, extent, progress, 0.5, 0.5);
        var durationNs = Arrow.CaptureMetadata.From(secondRead, collector.EveryAllocation, first.Frees.FreedCount).DurationNs;
        if (gathered is not null && durationNs != assumedDurationNs)
            gathered.DropBuckets();
        // The scope's peak: its own live bytes at each GC start and at the end (Capture.FindScopedPeak).
        var finder = new ManagedPeakFinder();
        var liveAtGc = collector.ScopeLiveAt(atGcStarts: true);
        for (var i = 0; i < gcStarts.Length; i++)
            finder.GcStarted(gcStarts[i], liveAtGc[i]);
        var (peakBytes, peakTimeNs, peakAtEnd) = finder.Find(collector.ScopeManagedAliveAtEnd, durationNs);
        return new ScopedSummary
        {
            Path = path,
            Scope = scope,
            Stats = collector.Result with { PeakBytes = peakBytes },
            PeakTimeNs = peakTimeNs,
            PeakIsAtEnd = peakAtEnd,
            DurationNs = durationNs,
            Snapshots = gcData.Snapshots,
            GcEvents = gcData.GcEvents,
            ScopeLiveAtSnapshots = collector.ScopeLiveAt(atGcStarts: false),
            CaptureAllocations = collector.EveryAllocation,
            ScopeFrame = scopeFrame,
            InScope = inScope,
            Frees = frees,
            Clock = firstRead.Clock,
            Tables = firstRead.Tables,
            Extent = extent,
            Options = options,
            Gathered = gathered,
            AllStacks = flame is { Selection: StackSelection.All } ? collector.StackTotalsBelow(inScope.Length) : null,
            GcStartNs = gcStarts,
        };
    }

    /// <summary>The width of each of <paramref name="buckets"/> time buckets over <paramref name="durationNs"/> (the last one also takes what is at or past the end).</summary>
    public static long BucketWidthNs(long durationNs, int buckets) => Math.Max(1, (Math.Max(0, durationNs) + buckets) / buckets);

    /// <summary>
    /// A third pass over the capture <paramref name="summary"/> was read from: the scope's allocations of
    /// <paramref name="selection"/> totalled per stack and per (stack, time bucket): the duration cut into
    /// <paramref name="buckets"/> buckets of <paramref name="bucketNs"/> (a time at or past the end in the last).
    /// </summary>
    /// <param name="maxStackCells">The most (stack, bucket) cells this pass keeps to spare the time buckets a pass.</param>
    /// <param name="fromStatsPass">Whether totals the stats pass gathered (<see cref="Compute"/>'s flame) may be used; false reads the capture again.</param>
    public static SelectedStacks SelectStacks(ScopedSummary summary, StackSelection selection, int buckets, long bucketNs, IProgress<double>? progress = null,
        long maxStackCells = MaxStackCells, bool fromStatsPass = true)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(buckets, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(bucketNs, 1);
        _ = summary.Tables ?? throw new ArgumentException("the summary keeps no pass state", nameof(summary));
        var peakAtEnd = selection == StackSelection.AliveAtPeak && summary.PeakIsAtEnd;
        // As the scoped capture's views describe themselves: the scope, then what of it.
        var description = selection switch
        {
            StackSelection.All => summary.Scope,
            StackSelection.Leaked => $"{summary.Scope}, leaked (alive at the end)",
            _ => peakAtEnd ? $"{summary.Scope}, leaked (alive at the end)" : $"{summary.Scope}, alive at the peak ({TimeUnits.Format(summary.PeakTimeNs)})",
        };
        var effective = peakAtEnd ? StackSelection.Leaked : selection;
        if (fromStatsPass && GatheredTotals(summary, effective) is { } totals)
        {
            // Gathered by the stats pass: no pass here; the time buckets too when that pass counted them, else by a pass of
            // their own per owner of the pruned tree (SelectedStacks.ByOwnerAndBucket).
            var counted = summary.Gathered!.BucketsOf(effective, buckets, bucketNs,
                effective == StackSelection.AliveAtPeak ? SortedTimes.LowerBound(summary.GcStartNs, summary.PeakTimeNs) : -1);
            return new SelectedStacks(summary, effective, description, totals.Counts, totals.Bytes, buckets, bucketNs)
            {
                RowOfStack = counted?.RowOfStack,
                StackCellCounts = counted?.Counts,
                StackCellBytes = counted?.Bytes,
                FromStatsPass = true,
            };
        }
        // With few stacks in scope, their buckets are counted in this pass too (a row of buckets per stack, at most
        // MaxStackCells cells), so the time buckets need no further pass.
        var inScope = summary.InScope.Count(s => s);
        int[]? rowOfStack = null;
        if ((long)inScope * buckets <= maxStackCells)
        {
            rowOfStack = new int[summary.InScope.Length];
            var row = 0;
            for (var i = 0; i < rowOfStack.Length; i++)
                rowOfStack[i] = summary.InScope[i] ? row++ : -1;
        }
        var cells = rowOfStack is null ? 0 : (long)inScope * buckets;
        var collector = new SelectionCollector(summary, effective, buckets, bucketNs)
        {
            RowOfStack = rowOfStack,
            StackCellCounts = rowOfStack is null ? null : new long[cells],
            StackCellBytes = rowOfStack is null ? null : new long[cells],
        };
        Read(summary, collector, progress);
        return new SelectedStacks(summary, effective, description, collector.Counts, collector.Bytes, buckets, bucketNs)
        {
            RowOfStack = rowOfStack,
            StackCellCounts = collector.StackCellCounts,
            StackCellBytes = collector.StackCellBytes,
        };
    }

    /// <summary>The totals per stack of <paramref name="selection"/> the stats pass gathered, null when it did not.</summary>
    private static (long[] Counts, long[] Bytes)? GatheredTotals(ScopedSummary summary, StackSelection selection)
    {
        if (summary.Gathered is not { } gathered)
            return null;
        return selection switch
        {
            StackSelection.All => summary.AllStacks,
            StackSelection.Leaked => gathered.Leaked,
            // The peak is a GC start here (at the end it is the leaks): the first at its time holds its bin.
            // (null when the peak is not one of the candidates the rows count).
            _ when gathered.HasPeakRows && !summary.PeakIsAtEnd => gathered.AliveAt(SortedTimes.LowerBound(summary.GcStartNs, summary.PeakTimeNs)),
            _ => null,
        };
    }

    /// <summary>The most (stack, bucket) cells <see cref="SelectStacks"/> keeps to spare the time buckets a pass (16 bytes each).</summary>
    public const long MaxStackCells = 2_000_000;

    /// <summary>One more pass over the bytes <paramref name="summary"/> was read from, with the first pass's frees.</summary>
    internal static void Read(ScopedSummary summary, CaptureVisitor visitor, IProgress<double>? progress = null) =>
        ReadAllocations(summary.Path, visitor,
            new CaptureReaderOptions { AllowTruncated = summary.Options.AllowTruncated, FreesChecked = true }, summary.Extent, progress);

    /// <summary>
    /// A pass over the allocations: decoded on a thread of its own while the visitor adds them up on this one
    /// (<see cref="PipelinedPass"/>; the machine's other core is idle once the cell's code has ended), else on this one.
    /// </summary>
    internal static CaptureReadResult ReadAllocations(string path, CaptureVisitor visitor, CaptureReaderOptions options, long extent,
        IProgress<double>? progress = null, double start = 0, double span = 1) =>
        PipelinedPass.Enabled
            ? PipelinedPass.Read(path, visitor, options, extent, progress, start, span)
            : CapturePass.Read(path, visitor, options, extent, progress, start, span);

    /// <summary>
    /// Totals per stack of the selected allocations in scope, or, given the owner of each stack, per (owner, bucket);
    /// nothing per allocation.
    /// </summary>
    internal sealed class SelectionCollector(ScopedSummary summary, StackSelection selection, int buckets, long bucketNs) : CaptureVisitor
    {
        private readonly bool[] inScope = summary.InScope;
        // inScope as bits for the per-allocation test (an eighth of the memory: it stays in cache).
        private readonly ulong[] scopeBits = Bits(summary.InScope);
        // A lookup answers sequences in ascending order: each pass asks from the start again.
        private readonly FreeTimes.Lookup frees = summary.Frees!.Again();
        private readonly TickClock clock = summary.Clock!;
        private readonly long peakNs = summary.PeakTimeNs;
        public long[] Counts { get; } = new long[summary.InScope.Length];
        public long[] Bytes { get; } = new long[summary.InScope.Length];

        /// <summary>In the totals pass, when few stacks are in scope: a dense row of buckets per in-scope stack (its index here, else −1).</summary>
        public int[]? RowOfStack { get; init; }
        public long[]? StackCellCounts { get; init; }
        public long[]? StackCellBytes { get; init; }
        public int[]? OwnerOfStack { get; init; }
        /// <summary>The owners the (bucket, owner) table has: it is bucket-major (cell = bucket × Owners + owner).</summary>
        public int Owners { get; init; }
        public long[]? CellCounts { get; init; }
        public long[]? CellBytes { get; init; }
        public Action<int, int, long, long>? Add { get; init; }
        private long[] freed = [];

        private void Selected(int stack, long ticks, long freedNs, long size)
        {
            if ((uint)stack >= (uint)inScope.Length || !inScope[stack])
                return;
            var ns = clock.ToNanoseconds(ticks);
            var selected = selection switch
            {
                StackSelection.All => true,
                StackSelection.Leaked => freedNs == -1,
                _ => ns <= peakNs && (freedNs == -1 || freedNs > peakNs),
            };
            if (!selected)
                return;
            var bucket = ns <= 0 ? 0 : (int)Math.Min(buckets - 1, ns / bucketNs);
            if (OwnerOfStack is null)
            {
                Counts[stack]++;
                Bytes[stack] += size;
                if (RowOfStack is not null)
                {
                    var at = (long)RowOfStack[stack] * buckets + bucket;
                    StackCellCounts![at]++;
                    StackCellBytes![at] += size;
                }
                return;
            }
            if (Add is not null)
            {
                Add(OwnerOfStack[stack], bucket, 1, size);
                return;
            }
            var cell = (long)bucket * Owners + OwnerOfStack[stack];
            CellCounts![cell]++;
            CellBytes![cell] += size;
        }

        public override void OnAllocation(in AllocationRecord a) =>
            Selected(a.StackId, a.Ticks, frees.FreedAtNs(a.ThreadStream, a.Sequence), a.Size);

        // Runs once per block from the reader's loop: optimized up front (tier-0 code took a tenth of the pass).
        [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
        public override void OnAllocations(in AllocationBlock block)
        {
            var n = block.Count;
            if (freed.Length < n)
                freed = new long[Math.Max(n, 4096)];
            frees.Fill(block.ThreadStream, block.FirstSequence, freed.AsSpan(0, n));
            var stacks = block.StackIds;
            var ticks = block.Ticks;
            var sizes = block.Sizes;
            if (OwnerOfStack is { } owners && CellCounts is { } cellCounts && CellBytes is { } cellBytes)
            {
                // The time buckets per owner into the dense table: the common case, without the general path's calls.
                for (var i = 0; i < n; i++)
                {
                    if (i + CacheHints.Distance < n)
                        CacheHints.Prefetch(owners, stacks[i + CacheHints.Distance]);
                    var stack = stacks[i];
                    if ((uint)stack >= (uint)inScope.Length || (scopeBits[stack >> 6] & (1UL << stack)) == 0)
                        continue;
                    var ns = clock.ToNanoseconds(ticks[i]);
                    var f = freed[i];
                    var selected = selection switch
                    {
                        StackSelection.All => true,
                        StackSelection.Leaked => f == -1,
                        _ => ns <= peakNs && (f == -1 || f > peakNs),
                    };
                    if (!selected)
                        continue;
                    if (ns < bucketStartNs || ns >= bucketEndNs)
                    {
                        bucket = ns <= 0 ? 0 : (int)Math.Min(buckets - 1, ns / bucketNs);
                        (bucketStartNs, bucketEndNs) = bucket == 0 ? (long.MinValue, bucketNs)
                            : bucket == buckets - 1 ? (bucket * bucketNs, long.MaxValue)
                            : (bucket * bucketNs, (bucket + 1) * bucketNs);
                    }
                    // Bucket-major: allocations close in time add into one bucket's stretch of the table.
                    var cell = (long)bucket * Owners + owners[stack];
                    cellCounts[cell]++;
                    cellBytes[cell] += sizes[i];
                }
                return;
            }
            for (var i = 0; i < n; i++)
                Selected(stacks[i], ticks[i], freed[i], sizes[i]);
        }

        private static ulong[] Bits(bool[] flags)
        {
            var bits = new ulong[(flags.Length + 63) / 64];
            for (var i = 0; i < flags.Length; i++)
                if (flags[i])
                    bits[i >> 6] |= 1UL << i;
            return bits;
        }

        // The bucket of the last allocation and its time range (allocations come in runs of nearby times).
        private long bucketStartNs = long.MaxValue, bucketEndNs = long.MinValue;
        private int bucket;
    }

    /// <summary>
    /// Per stack id (index), whether a frame on its path to the root matches <paramref name="scopeFrame"/>, the frames named
    /// as the frames table names them (the function as shown, else module+0xoffset; a frame with neither never matches).
    /// </summary>
    internal static bool[] ScopeOfStacks(CaptureTables tables, Func<string, bool> scopeFrame)
    {
        var nodes = tables.StackNodes;
        var parents = new int[nodes.Count + 1];
        var ips = new ulong[nodes.Count + 1];
        foreach (var node in nodes)
            (parents[node.Id], ips[node.Id]) = (node.ParentId, node.Ip);
        var matchByIp = new Dictionary<ulong, bool>();
        bool FrameMatches(ulong ip)
        {
            if (!matchByIp.TryGetValue(ip, out var match))
            {
                var frame = tables.Frame(ip);
                var shown = Symbols.FrameNaming.Shown(frame.Kind, frame.Function);
                var name = shown.Length > 0 ? shown : Symbols.FrameNaming.ModuleOffset(frame.Module, frame.Offset);
                matchByIp[ip] = match = name is not null && scopeFrame(name);
            }
            return match;
        }
        var state = new sbyte[parents.Length]; // 0 unknown, 1 in scope, -1 not
        var path = new List<int>();
        for (var start = 1; start < parents.Length; start++)
        {
            if (state[start] != 0)
                continue;
            path.Clear();
            var result = false;
            // A chain that never ends (an unvalidated, unused node) stops at the format's depth limit.
            for (var s = start; s > 0 && s < parents.Length && path.Count <= CaptureFormat.MaxStackDepth; s = parents[s])
            {
                if (state[s] != 0)
                {
                    result = state[s] > 0;
                    break;
                }
                path.Add(s);
                if (FrameMatches(ips[s]))
                {
                    result = true;
                    break;
                }
            }
            foreach (var s in path)
                state[s] = (sbyte)(result ? 1 : -1);
        }
        var inScope = new bool[state.Length];
        for (var i = 0; i < state.Length; i++)
            inScope[i] = state[i] > 0;
        return inScope;
    }
}

/// <summary>Which of a scope's allocations <see cref="ScopedPass.SelectStacks"/> totals.</summary>
public enum StackSelection
{
    /// <summary>Every allocation of the scope.</summary>
    All,
    /// <summary>Alive at the scope's managed high-water mark (the leaks when it is the end).</summary>
    AliveAtPeak,
    /// <summary>Alive when recording stopped.</summary>
    Leaked,
}

/// <summary>
/// Totals per stack id of a scope's selected allocations, streamed from the capture file (<see cref="ScopedPass.SelectStacks"/>),
/// and, by a further pass, their totals per (owner of a stack, time bucket): what a flame tree and its time buckets are built
/// from, without the tables. Memory: two numbers per stack node, and the caller's (owner, bucket) table.
/// </summary>
public sealed class SelectedStacks
{
    private readonly ScopedSummary summary;
    private readonly StackSelection selection;

    internal SelectedStacks(ScopedSummary summary, StackSelection selection, string description, long[] counts, long[] bytes,
        int buckets, long bucketNs)
    {
        this.summary = summary;
        this.selection = selection;
        Description = description;
        Counts = counts;
        Bytes = bytes;
        Buckets = buckets;
        BucketNs = bucketNs;
    }

    public string Path => summary.Path;
    internal CaptureTables Tables => summary.Tables!;
    public Func<string, bool> ScopeFrame => summary.ScopeFrame;

    /// <summary>What the selection holds, as the view of the loaded capture describes it ("…, alive at the peak (1.5 ms)").</summary>
    public string Description { get; }
    public long DurationNs => summary.DurationNs;

    /// <summary>Count and bytes per stack id (index).</summary>
    internal long[] Counts { get; }
    internal long[] Bytes { get; }

    /// <summary>The time buckets: the duration cut into <see cref="Buckets"/> of <see cref="BucketNs"/> (a time at or past the end in the last).</summary>
    public int Buckets { get; }
    public long BucketNs { get; }

    /// <summary>Allocations selected.</summary>
    public long Count => Counts.Sum();

    /// <summary>Whether the totals came from the stats pass (<see cref="ScopedPass.Compute"/>'s flame) rather than a pass of their own.</summary>
    public bool FromStatsPass { get; init; }

    /// <summary>Whether the time buckets were counted with the totals (no pass needed for them).</summary>
    public bool HasStackBuckets => RowOfStack is not null;

    // Per in-scope stack a row of buckets, when the totals pass counted them (few stacks).
    internal int[]? RowOfStack { get; init; }
    internal long[]? StackCellCounts { get; init; }
    internal long[]? StackCellBytes { get; init; }

    /// <summary>
    /// A pass that adds each selected allocation into <paramref name="cellCounts"/> and <paramref name="cellBytes"/> at
    /// <c>bucket × owners + ownerOfStack[stack]</c> (a dense table, bucket-major), or, with <paramref name="add"/>, calls
    /// it instead (owner, bucket, bytes).
    /// </summary>
    internal void ByOwnerAndBucket(int[] ownerOfStack, int owners, long[]? cellCounts, long[]? cellBytes, Action<int, int, long, long>? add = null)
    {
        if (RowOfStack is { } rows)
        {
            // Counted per stack by the totals pass already: summed per owner.
            for (var stack = 0; stack < rows.Length; stack++)
            {
                if (rows[stack] < 0 || Counts[stack] == 0)
                    continue;
                for (var bucket = 0; bucket < Buckets; bucket++)
                {
                    var at = (long)rows[stack] * Buckets + bucket;
                    var (count, bytes) = (StackCellCounts![at], StackCellBytes![at]);
                    if (count == 0)
                        continue;
                    if (add is not null)
                        add(ownerOfStack[stack], bucket, count, bytes);
                    else
                    {
                        var cell = (long)bucket * owners + ownerOfStack[stack];
                        cellCounts![cell] += count;
                        cellBytes![cell] += bytes;
                    }
                }
            }
            return;
        }
        var collector = new ScopedPass.SelectionCollector(summary, selection, Buckets, BucketNs) { OwnerOfStack = ownerOfStack, Owners = owners, CellCounts = cellCounts, CellBytes = cellBytes, Add = add };
        ScopedPass.Read(summary, collector);
    }
}
