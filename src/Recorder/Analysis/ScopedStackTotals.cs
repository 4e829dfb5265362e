namespace MemNotebook.Recorder.Analysis;

/// <summary>
/// What the flame graph of a scope needs, gathered by the stats pass (<see cref="StatsCollector"/> in
/// <see cref="ScopedPass.Compute"/>) so that no further pass selects the stacks: per stack, the allocations that were never
/// freed (the leaks; every allocation's totals are the stats' own), and, for the selection alive at the peak, per stack its
/// allocations alive at a few candidate GC starts (a managed peak before the end is a GC start). The peak is known only at
/// the end of the pass and the capture's chunks do not bring allocations in time order (a thread's chunk may come a writer
/// cycle late), so no running value can be snapshotted when the scope's live bytes reach a new high; instead each stack
/// keeps a short row over the candidates: an allocation alive from the first candidate at or after it to the last one
/// before its death adds to the first and takes out of the one after the last (prefix sums give each candidate's count),
/// whatever the order it comes in. The candidates are the GC starts with the most live bytes in the whole capture (its
/// GC_START records, read by the first pass): every one when there are at most <see cref="MaxCandidates"/>, else those
/// <see cref="MaxCandidates"/>. A scope's peak is among them when what is alive outside the scope does not reorder the
/// highs (a notebook cell's scope is most of its capture); when it is not, or the rows pass <see cref="MaxPeakCells"/>,
/// the peak's totals take a pass of their own (<see cref="ScopedPass.SelectStacks"/>). With the capture's duration known
/// from the first pass (its END record), the selection's totals per (stack, time bucket) are counted as well, a row of
/// buckets per stack that has any, within <see cref="MaxCells"/> (for the peak, a row of buckets per candidate, added as
/// the peak's rows are). Nothing is kept per allocation.
/// </summary>
internal sealed class ScopedStackTotals
{
    /// <summary>The most cells (16 bytes each) of the time buckets' rows (shared by the leaks' and the peak's when both are kept).</summary>
    public const long MaxCells = 2_000_000;

    /// <summary>
    /// The most candidate GC starts a stack's row holds. The rows' cost grows with it (each allocation alive at a
    /// candidate adds into its stack's row): on the benchmark's capture (10M allocations on 50,000 stacks, 20 GCs)
    /// about 0.09 s with one candidate, 0.17 s with two, 0.35 s with four (perf samples); two keep the peak's totals in the pass when the
    /// scope's highest GC start is the whole capture's second.
    /// </summary>
    public const int MaxCandidates = 2;

    /// <summary>
    /// The most cells of the peak's rows (16 bytes each: 4 MiB, 131,072 stacks of two candidates).
    /// </summary>
    public const long MaxPeakCells = 1 << 18;

    private readonly int stacks;
    // The candidate GC starts (ascending indexes into the GC starts) and, per GC start's bin (0 … their number), the first
    // candidate at or after it (candidates.Length: none).
    private readonly int[] candidates = [];
    private readonly int[] firstCandidateFrom = [];
    private readonly long maxCells;
    private readonly long maxPeakCells;
    private readonly long[] leaked;

    // The peak's rows: per stack (row + 1, 0 = none) a row of (count, bytes) per candidate, side by side.
    private int[]? peakRowOf;
    private long[] peakCells = [];
    private int peakRows;

    // The time buckets of one selection (All or Leaked) when asked for: per stack (row + 1) a row of buckets.
    private readonly StackSelection? bucketSelection;
    private readonly int buckets;
    private readonly long bucketNs;
    private int[]? bucketRowOf;
    private long[] bucketCells = [];
    private int bucketRows;
    private long bucketStartNs = long.MaxValue, bucketEndNs = long.MinValue;
    private int lastBucket;

    // The time buckets of the peak's selection: per stack (row + 1) a row of buckets per candidate, the candidates'
    // cells added as the peak's rows are (an allocation alive from candidate `from` to before `to`: + at from, − at to).
    private int[]? peakBucketRowOf;
    private long[] peakBucketCells = [];
    private int peakBucketRows;

    /// <param name="stacks">Stack ids below this may be in scope (the scope array's length).</param>
    /// <param name="gcStarts">The number of GC starts the stats pass bins the scope's live bytes at.</param>
    /// <param name="peakRows">Whether to keep the peak's rows.</param>
    /// <param name="candidates">The GC starts (ascending indexes) whose alive allocations the peak's rows count.</param>
    /// <param name="bucketSelection">The selection to count per time bucket (All or Leaked), null for none.</param>
    public ScopedStackTotals(int stacks, int gcStarts, bool peakRows, StackSelection? bucketSelection, int buckets, long bucketNs,
        long maxCells = MaxCells, long maxPeakCells = MaxPeakCells, int[]? candidates = null)
    {
        this.stacks = stacks;
        this.maxCells = maxCells;
        bucketBudget = maxCells;
        this.maxPeakCells = maxPeakCells;
        leaked = new long[2L * stacks];
        if (peakRows && gcStarts > 0)
        {
            this.candidates = candidates ?? Enumerable.Range(0, gcStarts).ToArray();
            if (this.candidates.Length is 0 or > MaxCandidates || this.candidates.Any(c => c < 0 || c >= gcStarts)
                || this.candidates.Zip(this.candidates.Skip(1)).Any(p => p.First >= p.Second))
                throw new ArgumentException($"1 to {MaxCandidates} ascending GC starts below {gcStarts}", nameof(candidates));
            firstCandidateFrom = new int[gcStarts + 1];
            var next = this.candidates.Length;
            for (var bin = gcStarts; bin >= 0; bin--)
            {
                while (next > 0 && this.candidates[next - 1] >= bin)
                    next--;
                firstCandidateFrom[bin] = next;
            }
            peakRowOf = new int[stacks];
        }
        if (buckets > 0 && bucketNs > 0 && buckets <= maxCells)
        {
            (this.buckets, this.bucketNs) = (buckets, bucketNs);
            if (bucketSelection is StackSelection.All or StackSelection.Leaked)
            {
                this.bucketSelection = bucketSelection;
                bucketRowOf = new int[stacks];
            }
            if (peakRowOf is not null && (long)this.candidates.Length * buckets <= maxCells)
                peakBucketRowOf = new int[stacks];
            // The leaks' rows and the peak's (one of which the reports use) share the budget.
            if (bucketRowOf is not null && peakBucketRowOf is not null)
                bucketBudget = maxCells / 2;
        }
    }

    /// <summary>The cells each kind of rows of time buckets may take.</summary>
    private readonly long bucketBudget = MaxCells;

    /// <summary>
    /// An allocation of in-scope stack <paramref name="stack"/> made at <paramref name="ns"/>, freed at
    /// <paramref name="freedNs"/> (−1: never); <paramref name="allocatedBin"/> and <paramref name="freedBin"/> are the first
    /// GC starts at or after each (the stats pass's bins; <paramref name="freedBin"/> unused when never freed).
    /// </summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    public void Add(int stack, long ns, long freedNs, long size, int allocatedBin, int freedBin)
    {
        if (freedNs == -1)
        {
            // Count and bytes side by side: one cache line per stack.
            leaked[2 * stack]++;
            leaked[2 * stack + 1] += size;
        }
        if (peakRowOf is not null)
        {
            // Alive at the candidates from the first at or after its bin to the last before its death's.
            var from = firstCandidateFrom[allocatedBin];
            var to = freedNs == -1 ? candidates.Length : firstCandidateFrom[Math.Max(allocatedBin, freedBin)];
            if (from < to)
            {
                AddToPeak(stack, from, to, size);
                if (peakBucketRowOf is not null)
                    AddToPeakBucket(stack, ns, from, to, size);
            }
        }
        if (bucketRowOf is not null && (bucketSelection == StackSelection.All || freedNs == -1))
            AddToBucket(stack, ns, size);
    }

    /// <summary>The time of the first candidate GC start: an allocation freed at or before it is alive at none.</summary>
    public long FirstCandidateNs { get; init; } = long.MinValue;

    /// <summary>
    /// Asks for the cache lines an allocation a few rows ahead (freed at <paramref name="freedNs"/>, −1: never) will add
    /// into: its stack's leaks' totals when never freed, its stack's peak row when it may be alive at a candidate.
    /// </summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    public void Prefetch(int stack, long freedNs)
    {
        if (freedNs == -1)
            CacheHints.Prefetch(leaked, 2L * stack);
        if (peakRowOf is { } rows && (freedNs == -1 || freedNs > FirstCandidateNs))
        {
            CacheHints.Prefetch(rows, stack);
            // The row's own cells: its number fetched a few rows before (by the line above, for an earlier row).
            if ((uint)stack < (uint)rows.Length && rows[stack] > 0)
                CacheHints.Prefetch(peakCells, (long)(rows[stack] - 1) * candidates.Length * 2);
        }
    }

    // Called per allocation during one pass: optimized up front (tier-0 code ran until the pass was well under way).
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    private void AddToPeak(int stack, int from, int to, long size)
    {
        var row = peakRowOf![stack] - 1;
        if (row < 0)
        {
            if (!TryNewRow(ref peakCells, ref peakRows, candidates.Length, maxPeakCells))
            {
                // Past the budget: the peak's totals take a pass of their own (and count its buckets).
                (peakRowOf, peakCells, peakBucketRowOf, peakBucketCells) = (null, [], null, []);
                return;
            }
            row = peakRows - 1;
            peakRowOf[stack] = peakRows;
        }
        var at = (long)row * candidates.Length * 2;
        peakCells[at + 2 * from]++;
        peakCells[at + 2 * from + 1] += size;
        if (to < candidates.Length)
        {
            peakCells[at + 2 * to]--;
            peakCells[at + 2 * to + 1] -= size;
        }
    }

    /// <summary>The time bucket of <paramref name="ns"/>; allocations come in runs of nearby times: the last one is tried first.</summary>
    private int BucketOf(long ns)
    {
        if (ns < bucketStartNs || ns >= bucketEndNs)
        {
            lastBucket = ns <= 0 ? 0 : (int)Math.Min(buckets - 1, ns / bucketNs);
            (bucketStartNs, bucketEndNs) = lastBucket == 0 ? (long.MinValue, bucketNs)
                : lastBucket == buckets - 1 ? (lastBucket * bucketNs, long.MaxValue)
                : (lastBucket * bucketNs, (lastBucket + 1) * bucketNs);
        }
        return lastBucket;
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    private void AddToPeakBucket(int stack, long ns, int from, int to, long size)
    {
        var bucket = BucketOf(ns);
        var row = peakBucketRowOf![stack] - 1;
        if (row < 0)
        {
            if (!TryNewRow(ref peakBucketCells, ref peakBucketRows, candidates.Length * buckets, bucketBudget))
            {
                // Past the budget: the peak's buckets take a pass of their own (per owner of the pruned tree).
                (peakBucketRowOf, peakBucketCells) = (null, []);
                return;
            }
            row = peakBucketRows - 1;
            peakBucketRowOf[stack] = peakBucketRows;
        }
        var at = (((long)row * candidates.Length + from) * buckets + bucket) * 2;
        peakBucketCells[at]++;
        peakBucketCells[at + 1] += size;
        if (to < candidates.Length)
        {
            at += (long)(to - from) * buckets * 2;
            peakBucketCells[at]--;
            peakBucketCells[at + 1] -= size;
        }
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    private void AddToBucket(int stack, long ns, long size)
    {
        BucketOf(ns);
        var row = bucketRowOf![stack] - 1;
        if (row < 0)
        {
            if (!TryNewRow(ref bucketCells, ref bucketRows, buckets, bucketBudget))
            {
                (bucketRowOf, bucketCells) = (null, []);
                return;
            }
            row = bucketRows - 1;
            bucketRowOf[stack] = bucketRows;
        }
        var at = ((long)row * buckets + lastBucket) * 2;
        bucketCells[at]++;
        bucketCells[at + 1] += size;
    }

    /// <summary>One more row of <paramref name="width"/> cells (two numbers each), the array doubled as needed; false past <paramref name="limit"/> cells.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    private static bool TryNewRow(ref long[] cells, ref int rows, int width, long limit)
    {
        var needed = (rows + 1L) * width;
        if (needed > limit)
            return false;
        if (needed * 2 > cells.Length)
            Array.Resize(ref cells, (int)(2 * Math.Min(limit, Math.Max(needed, Math.Max(64L * width, cells.Length)))));
        rows++;
        return true;
    }

    /// <summary>Count and bytes per stack of the allocations never freed.</summary>
    public (long[] Counts, long[] Bytes) Leaked
    {
        get
        {
            var counts = new long[stacks];
            var bytes = new long[stacks];
            for (var stack = 0; stack < stacks; stack++)
                (counts[stack], bytes[stack]) = (leaked[2 * stack], leaked[2 * stack + 1]);
            return (counts, bytes);
        }
    }

    /// <summary>Whether the peak's rows were kept (within the budget).</summary>
    public bool HasPeakRows => peakRowOf is not null;

    /// <summary>
    /// Count and bytes per stack alive at GC start <paramref name="gcStart"/> (index into the GC starts), from the peak's
    /// rows; null when it is not a candidate or the rows were not kept.
    /// </summary>
    public (long[] Counts, long[] Bytes)? AliveAt(int gcStart)
    {
        var candidate = Array.IndexOf(candidates, gcStart);
        if (peakRowOf is not { } rowOf || candidate < 0)
            return null;
        var counts = new long[stacks];
        var bytes = new long[stacks];
        for (var stack = 0; stack < stacks; stack++)
        {
            var row = rowOf[stack] - 1;
            if (row < 0)
                continue;
            long count = 0, sum = 0;
            var at = (long)row * candidates.Length * 2;
            for (var c = 0; c <= candidate; c++)
            {
                count += peakCells[at + 2 * c];
                sum += peakCells[at + 2 * c + 1];
            }
            (counts[stack], bytes[stack]) = (count, sum);
        }
        return (counts, bytes);
    }

    /// <summary>
    /// The candidate GC starts for the peak's rows: every GC start when there are at most <see cref="MaxCandidates"/>, else
    /// the <see cref="MaxCandidates"/> with the most live bytes (the earliest of equals; a GC start at the same time as an
    /// earlier one is never the peak's bin), in ascending order.
    /// </summary>
    /// <param name="gcStartNs">The GC starts' times, ascending.</param>
    /// <param name="liveBytes">The whole capture's live bytes at each (GC_START).</param>
    public static int[] Candidates(long[] gcStartNs, long[] liveBytes)
    {
        var distinct = Enumerable.Range(0, gcStartNs.Length).Where(i => i == 0 || gcStartNs[i] != gcStartNs[i - 1]).ToArray();
        if (distinct.Length <= MaxCandidates)
            return distinct;
        return distinct.OrderByDescending(i => liveBytes[i]).ThenBy(i => i).Take(MaxCandidates).Order().ToArray();
    }

    /// <summary>
    /// The time buckets counted for <paramref name="selection"/> in <paramref name="buckets"/> of <paramref name="bucketNs"/>:
    /// per stack its row (−1: none) and the rows' cells; null when not counted so.
    /// </summary>
    /// <param name="gcStart">For the selection alive at the peak: the peak's GC start (index into the GC starts).</param>
    public (int[] RowOfStack, long[] Counts, long[] Bytes)? BucketsOf(StackSelection selection, int buckets, long bucketNs, int gcStart = -1)
    {
        if (this.buckets != buckets || this.bucketNs != bucketNs)
            return null;
        if (selection == StackSelection.AliveAtPeak)
            return PeakBucketsAt(gcStart);
        if (bucketRowOf is null || bucketSelection != selection)
            return null;
        var rows = new int[stacks];
        for (var stack = 0; stack < stacks; stack++)
            rows[stack] = bucketRowOf[stack] - 1;
        var counts = new long[(long)bucketRows * buckets];
        var bytes = new long[counts.Length];
        for (var i = 0; i < counts.Length; i++)
            (counts[i], bytes[i]) = (bucketCells[2 * i], bucketCells[2 * i + 1]);
        return (rows, counts, bytes);
    }

    /// <summary>The peak's time buckets at candidate GC start <paramref name="gcStart"/>: per row, the sum over the candidates up to it.</summary>
    private (int[] RowOfStack, long[] Counts, long[] Bytes)? PeakBucketsAt(int gcStart)
    {
        var candidate = Array.IndexOf(candidates, gcStart);
        if (peakBucketRowOf is null || peakRowOf is null || candidate < 0)
            return null;
        var rows = new int[stacks];
        for (var stack = 0; stack < stacks; stack++)
            rows[stack] = peakBucketRowOf[stack] - 1;
        var counts = new long[(long)peakBucketRows * buckets];
        var bytes = new long[counts.Length];
        for (var row = 0; row < peakBucketRows; row++)
            for (var c = 0; c <= candidate; c++)
            {
                var from = ((long)row * candidates.Length + c) * buckets * 2;
                for (var b = 0; b < buckets; b++)
                {
                    counts[(long)row * buckets + b] += peakBucketCells[from + 2 * b];
                    bytes[(long)row * buckets + b] += peakBucketCells[from + 2 * b + 1];
                }
            }
        return (rows, counts, bytes);
    }

    /// <summary>Forgets the time buckets (the duration the pass assumed was not the capture's).</summary>
    public void DropBuckets() => (bucketRowOf, bucketCells, peakBucketRowOf, peakBucketCells) = (null, [], null, []);
}
