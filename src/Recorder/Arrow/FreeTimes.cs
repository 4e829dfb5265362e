using MemNotebook.Recorder.Capture;

namespace MemNotebook.Recorder.Arrow;

/// <summary>
/// When each allocation died, kept compactly for the second conversion pass: per thread stream a
/// list of runs (first sequence number, length, GC), because objects that die together were mostly
/// allocated together. 16 bytes per run; the worst case (every other object survives) is 16 bytes
/// per freed object. The free times themselves are one entry per GC, and one per native release
/// (native allocations are freed one at a time: 24 bytes per freed native allocation).
/// </summary>
internal sealed class FreeTimes
{
    private readonly Dictionary<int, List<FreeRun>> runsByStream = new();
    private readonly List<long> gcEndTicks = new();
    private readonly Dictionary<long, int> epochByTicks = new();
    private List<FreeRun>? lastRuns;
    private int lastStream = -1;
    // The GC of the previous FREE: a GC's frees come together, so most need no lookup.
    private long lastGcTicks = -1;
    private int lastGcEpoch;

    public long RunCount { get; private set; }
    public long FreedCount { get; private set; }

    public void Add(in FreeRecord free) => AddRun(free.ThreadStream, free.Sequence, 1, free.Ticks, free.GcIndex);

    /// <summary>
    /// Sequence numbers <paramref name="start"/> … + <paramref name="count"/> − 1 of a stream, freed at
    /// <paramref name="ticks"/>: by the GC <paramref name="gcIndex"/>, or by a native release (−1).
    /// </summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    public void AddRun(int stream, long start, long count, long ticks, long gcIndex)
    {
        int epoch;
        if (gcIndex < 0)
        {
            // A native release has its own time: one entry, no lookup (8 bytes per release).
            if (gcEndTicks.Count > 0 && gcEndTicks[^1] == ticks)
                epoch = gcEndTicks.Count - 1;
            else
            {
                epoch = gcEndTicks.Count;
                gcEndTicks.Add(ticks);
            }
        }
        else if (ticks == lastGcTicks)
        {
            epoch = lastGcEpoch;
        }
        else
        {
            if (!epochByTicks.TryGetValue(ticks, out epoch))
            {
                epoch = gcEndTicks.Count;
                gcEndTicks.Add(ticks);
                epochByTicks.Add(ticks, epoch);
            }
            (lastGcTicks, lastGcEpoch) = (ticks, epoch);
        }
        if (stream != lastStream)
        {
            if (!runsByStream.TryGetValue(stream, out lastRuns))
                runsByStream.Add(stream, lastRuns = new List<FreeRun>());
            lastStream = stream;
        }
        FreedCount += count;
        var runs = lastRuns!;
        while (count > 0)
        {
            if (runs.Count > 0)
            {
                ref var last = ref System.Runtime.InteropServices.CollectionsMarshal.AsSpan(runs)[^1];
                if (last.Epoch == epoch && last.Start + last.Length == start && last.Length < int.MaxValue)
                {
                    var grow = (int)Math.Min(count, int.MaxValue - last.Length);
                    last = last with { Length = last.Length + grow };
                    start += grow;
                    count -= grow;
                    continue;
                }
            }
            var length = (int)Math.Min(count, int.MaxValue);
            runs.Add(new FreeRun(start, length, epoch));
            RunCount++;
            start += length;
            count -= length;
        }
    }

    /// <summary>Sorts each stream's runs by sequence and converts the GC times with the capture's clock.</summary>
    public Lookup Seal(TickClock clock)
    {
        var epochNs = gcEndTicks.Select(t => Math.Max(0, clock.ToNanoseconds(t))).ToArray();
        // Sorted in place: no second copy of the runs (a native capture has one per release). Frees come in
        // sequence order within a GC and GCs in time order, so runs are mostly sorted already.
        foreach (var runs in runsByStream.Values)
        {
            var span = System.Runtime.InteropServices.CollectionsMarshal.AsSpan(runs);
            if (!IsSorted(span))
                span.Sort(new StartOrder());
        }
        var sorted = new Dictionary<int, List<FreeRun>>(runsByStream);
        runsByStream.Clear();
        gcEndTicks.Clear();
        gcEndTicks.TrimExcess();
        return new Lookup(sorted, epochNs);
    }

    private static bool IsSorted(ReadOnlySpan<FreeRun> runs)
    {
        for (var i = 1; i < runs.Length; i++)
            if (runs[i].Start < runs[i - 1].Start)
                return false;
        return true;
    }

    private readonly struct StartOrder : IComparer<FreeRun>
    {
        public int Compare(FreeRun a, FreeRun b) => a.Start.CompareTo(b.Start);
    }

    /// <param name="Epoch">Index of the GC (its end time) that freed the run.</param>
    internal readonly record struct FreeRun(long Start, int Length, int Epoch);

    /// <summary>Answers "when did (stream, sequence) die" for sequences asked in ascending order per stream.</summary>
    internal sealed class Lookup(Dictionary<int, List<FreeRun>> runs, long[] epochNs)
    {
        private readonly Dictionary<int, Cursor> cursors = new();
        private Cursor? last;
        private int lastStream = -1;

        /// <summary>The free time in ns, or −1 for an object alive at the end.</summary>
        public long FreedAtNs(int stream, long sequence)
        {
            Span<long> one = stackalloc long[1];
            Fill(stream, sequence, one);
            return one[0];
        }

        /// <summary>
        /// The free times in ns (−1 for alive at the end) of sequence numbers <paramref name="first"/> … of
        /// <paramref name="stream"/>, one per element of <paramref name="destination"/>; returns how many are −1.
        /// </summary>
        [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
        public int Fill(int stream, long first, Span<long> destination)
        {
            if (stream != lastStream)
            {
                if (!cursors.TryGetValue(stream, out last))
                    cursors.Add(stream, last = new Cursor(runs.GetValueOrDefault(stream) ?? []));
                lastStream = stream;
            }
            var cursor = last!;
            var list = System.Runtime.InteropServices.CollectionsMarshal.AsSpan(cursor.Runs);
            var index = cursor.Index;
            var sequence = first;
            var alive = 0;
            var done = 0;
            while (done < destination.Length)
            {
                while (index < list.Length && list[index].Start + list[index].Length <= sequence)
                    index++;
                var left = destination.Length - done;
                if (index == list.Length)
                {
                    destination[done..].Fill(-1);
                    alive += left;
                    break;
                }
                var run = list[index];
                if (run.Start > sequence)
                {
                    var gap = (int)Math.Min(left, run.Start - sequence);
                    destination.Slice(done, gap).Fill(-1);
                    alive += gap;
                    done += gap;
                    sequence += gap;
                    continue;
                }
                var inRun = (int)Math.Min(left, run.Start + run.Length - sequence);
                destination.Slice(done, inRun).Fill(epochNs[run.Epoch]);
                done += inRun;
                sequence += inRun;
            }
            cursor.Index = index;
            return alive;
        }

        private sealed class Cursor(List<FreeRun> runs)
        {
            public readonly List<FreeRun> Runs = runs;
            public int Index;
        }
    }
}
