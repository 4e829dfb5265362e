namespace MemNotebook.Recorder.Analysis;

/// <summary>
/// What the flame graph of a scope needs, gathered by the stats pass (<see cref="StatsCollector"/> in
/// <see cref="ScopedPass.Compute"/>) so that no further pass selects the stacks: per stack, the allocations that were never
/// freed (the leaks; every allocation's totals are the stats' own), and, for the selection alive at the peak, per stack a
/// row of the scope's GC starts (the only moments the peak can be before the end): the allocations made at or before a GC
/// start added into its bin, their deaths taken out of the bin of the first GC start at or after the death. A stack's
/// count at GC start <c>p</c> is the sum of its row up to <c>p</c>: exactly the allocations made at or before it and freed
/// after it (or never), in whatever order the capture's chunks bring them. The peak's GC is known only at the end of the
/// pass, so the rows are kept whole; rows are made for the stacks that allocate before the last GC, at most
/// <see cref="MaxCells"/> cells in all, else the peak's totals take a pass of their own (<see cref="ScopedPass.SelectStacks"/>).
/// With the capture's duration known from the first pass (its END record), the selection's totals per (stack, time
/// bucket) are counted as well, a row of buckets per stack that has any, within the same budget.
/// Nothing is kept per allocation.
/// </summary>
internal sealed class ScopedStackTotals
{
    /// <summary>The most cells (16 bytes each) of the peak's rows, and of the time buckets' rows.</summary>
    public const long MaxCells = 2_000_000;

    private readonly int stacks;
    private readonly int gcBins;
    private readonly long maxCells;
    private readonly long[] leakedCounts;
    private readonly long[] leakedBytes;

    // The peak's rows: per stack (row + 1, 0 = none) a row of gcBins cells.
    private int[]? peakRowOf;
    private long[] peakCounts = [];
    private long[] peakBytes = [];
    private int peakRows;

    // The time buckets of one selection (All or Leaked) when asked for: per stack (row + 1) a row of buckets.
    private readonly StackSelection? bucketSelection;
    private readonly int buckets;
    private readonly long bucketNs;
    private int[]? bucketRowOf;
    private long[] bucketCounts = [];
    private long[] bucketBytes = [];
    private int bucketRows;
    private long bucketStartNs = long.MaxValue, bucketEndNs = long.MinValue;
    private int lastBucket;

    /// <param name="stacks">Stack ids below this may be in scope (the scope array's length).</param>
    /// <param name="gcStarts">The number of GC starts the stats pass bins the scope's live bytes at.</param>
    /// <param name="peakRows">Whether to keep the peak's rows.</param>
    /// <param name="bucketSelection">The selection to count per time bucket (All or Leaked), null for none.</param>
    public ScopedStackTotals(int stacks, int gcStarts, bool peakRows, StackSelection? bucketSelection, int buckets, long bucketNs,
        long maxCells = MaxCells)
    {
        this.stacks = stacks;
        gcBins = gcStarts;
        this.maxCells = maxCells;
        leakedCounts = new long[stacks];
        leakedBytes = new long[stacks];
        if (peakRows && gcStarts > 0 && gcStarts <= maxCells)
            peakRowOf = new int[stacks];
        if (bucketSelection is StackSelection.All or StackSelection.Leaked && buckets > 0 && bucketNs > 0 && buckets <= maxCells)
        {
            (this.bucketSelection, this.buckets, this.bucketNs) = (bucketSelection, buckets, bucketNs);
            bucketRowOf = new int[stacks];
        }
    }

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
            leakedCounts[stack]++;
            leakedBytes[stack] += size;
        }
        if (peakRowOf is not null && allocatedBin < gcBins)
            AddToPeak(stack, freedNs == -1 ? gcBins : Math.Max(allocatedBin, freedBin), allocatedBin, size);
        if (bucketRowOf is not null && (bucketSelection == StackSelection.All || freedNs == -1))
            AddToBucket(stack, ns, size);
    }

    private void AddToPeak(int stack, int freedBin, int allocatedBin, long size)
    {
        var row = peakRowOf![stack] - 1;
        if (row < 0)
        {
            if (!TryNewRow(ref peakCounts, ref peakBytes, ref peakRows, gcBins))
            {
                // Past the budget: the peak's totals take a pass of their own.
                (peakRowOf, peakCounts, peakBytes) = (null, [], []);
                return;
            }
            row = peakRows - 1;
            peakRowOf[stack] = peakRows;
        }
        var at = (long)row * gcBins;
        peakCounts[at + allocatedBin]++;
        peakBytes[at + allocatedBin] += size;
        if (freedBin < gcBins)
        {
            peakCounts[at + freedBin]--;
            peakBytes[at + freedBin] -= size;
        }
    }

    private void AddToBucket(int stack, long ns, long size)
    {
        // Allocations come in runs of nearby times: the last bucket is tried first.
        if (ns < bucketStartNs || ns >= bucketEndNs)
        {
            lastBucket = ns <= 0 ? 0 : (int)Math.Min(buckets - 1, ns / bucketNs);
            (bucketStartNs, bucketEndNs) = lastBucket == 0 ? (long.MinValue, bucketNs)
                : lastBucket == buckets - 1 ? (lastBucket * bucketNs, long.MaxValue)
                : (lastBucket * bucketNs, (lastBucket + 1) * bucketNs);
        }
        var row = bucketRowOf![stack] - 1;
        if (row < 0)
        {
            if (!TryNewRow(ref bucketCounts, ref bucketBytes, ref bucketRows, buckets))
            {
                (bucketRowOf, bucketCounts, bucketBytes) = (null, [], []);
                return;
            }
            row = bucketRows - 1;
            bucketRowOf[stack] = bucketRows;
        }
        var at = (long)row * buckets + lastBucket;
        bucketCounts[at]++;
        bucketBytes[at] += size;
    }

    /// <summary>One more row of <paramref name="width"/> cells, the arrays doubled as needed; false past the budget.</summary>
    private bool TryNewRow(ref long[] counts, ref long[] bytes, ref int rows, int width)
    {
        var cells = (rows + 1L) * width;
        if (cells > maxCells)
            return false;
        if (cells > counts.Length)
        {
            var length = (int)Math.Min(maxCells, Math.Max(cells, Math.Max(64L * width, counts.Length * 2L)));
            Array.Resize(ref counts, length);
            Array.Resize(ref bytes, length);
        }
        rows++;
        return true;
    }

    /// <summary>Count and bytes per stack of the allocations never freed.</summary>
    public (long[] Counts, long[] Bytes) Leaked => (leakedCounts, leakedBytes);

    /// <summary>Whether the peak's rows were kept (within the budget).</summary>
    public bool HasPeakRows => peakRowOf is not null;

    /// <summary>Count and bytes per stack alive at GC start <paramref name="gcStart"/> (index into the GC starts), from the peak's rows.</summary>
    public (long[] Counts, long[] Bytes) AliveAt(int gcStart)
    {
        var rowOf = peakRowOf ?? throw new InvalidOperationException("the peak's rows were not kept");
        ArgumentOutOfRangeException.ThrowIfNegative(gcStart);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(gcStart, gcBins);
        var counts = new long[stacks];
        var bytes = new long[stacks];
        for (var stack = 0; stack < stacks; stack++)
        {
            var row = rowOf[stack] - 1;
            if (row < 0)
                continue;
            long count = 0, sum = 0;
            var at = (long)row * gcBins;
            for (var bin = 0; bin <= gcStart; bin++)
            {
                count += peakCounts[at + bin];
                sum += peakBytes[at + bin];
            }
            (counts[stack], bytes[stack]) = (count, sum);
        }
        return (counts, bytes);
    }

    /// <summary>
    /// The time buckets counted for <paramref name="selection"/> in <paramref name="buckets"/> of <paramref name="bucketNs"/>:
    /// per stack its row (−1: none) and the rows' cells; null when not counted so.
    /// </summary>
    public (int[] RowOfStack, long[] Counts, long[] Bytes)? BucketsOf(StackSelection selection, int buckets, long bucketNs)
    {
        if (bucketRowOf is null || bucketSelection != selection || this.buckets != buckets || this.bucketNs != bucketNs)
            return null;
        var rows = new int[stacks];
        for (var stack = 0; stack < stacks; stack++)
            rows[stack] = bucketRowOf[stack] - 1;
        return (rows, bucketCounts, bucketBytes);
    }

    /// <summary>Forgets the time buckets (the duration the pass assumed was not the capture's).</summary>
    public void DropBuckets() => (bucketRowOf, bucketCounts, bucketBytes) = (null, [], []);
}
