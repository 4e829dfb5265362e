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

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    public void Add(in FreeRecord free)
    {
        int epoch;
        if (free.GcIndex < 0)
        {
            // A native release has its own time: one entry, no lookup (8 bytes per release).
            if (gcEndTicks.Count > 0 && gcEndTicks[^1] == free.Ticks)
                epoch = gcEndTicks.Count - 1;
            else
            {
                epoch = gcEndTicks.Count;
                gcEndTicks.Add(free.Ticks);
            }
        }
        else if (free.Ticks == lastGcTicks)
        {
            epoch = lastGcEpoch;
        }
        else
        {
            if (!epochByTicks.TryGetValue(free.Ticks, out epoch))
            {
                epoch = gcEndTicks.Count;
                gcEndTicks.Add(free.Ticks);
                epochByTicks.Add(free.Ticks, epoch);
            }
            (lastGcTicks, lastGcEpoch) = (free.Ticks, epoch);
        }
        if (free.ThreadStream != lastStream)
        {
            if (!runsByStream.TryGetValue(free.ThreadStream, out lastRuns))
                runsByStream.Add(free.ThreadStream, lastRuns = new List<FreeRun>());
            lastStream = free.ThreadStream;
        }
        FreedCount++;
        var runs = lastRuns!;
        if (runs.Count > 0)
        {
            ref var last = ref System.Runtime.InteropServices.CollectionsMarshal.AsSpan(runs)[^1];
            if (last.Epoch == epoch && last.Start + last.Length == free.Sequence && last.Length < int.MaxValue)
            {
                last = last with { Length = last.Length + 1 };
                return;
            }
        }
        runs.Add(new FreeRun(free.Sequence, 1, epoch));
        RunCount++;
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
        [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
        public long FreedAtNs(int stream, long sequence)
        {
            if (stream != lastStream)
            {
                if (!cursors.TryGetValue(stream, out last))
                    cursors.Add(stream, last = new Cursor(runs.GetValueOrDefault(stream) ?? []));
                lastStream = stream;
            }
            var cursor = last!;
            var list = cursor.Runs;
            while (cursor.Index < list.Count && list[cursor.Index].Start + list[cursor.Index].Length <= sequence)
                cursor.Index++;
            if (cursor.Index < list.Count && list[cursor.Index].Start <= sequence)
                return epochNs[list[cursor.Index].Epoch];
            return -1;
        }

        private sealed class Cursor(List<FreeRun> runs)
        {
            public readonly List<FreeRun> Runs = runs;
            public int Index;
        }
    }
}
