using MemNotebook.Recorder.Tests.Capture;

namespace MemNotebook.Recorder.Tests.Aggregated;

/// <summary>
/// One workload written two ways: as a normal capture (ALLOC and FREE records) and as the aggregated
/// capture the tracer makes of it (AGG_TABLE records, computed here the way the tracer folds them:
/// peak columns taken at the first GC start with the most live bytes, or at the end).
/// Known numbers (1 tick = 10 ns, 1 ms long): 9 allocations, 8248 bytes; 5 freed (8130 bytes); 4
/// leaked (118 bytes); peak 7118 bytes at the start of GC 2; two GCs.
/// </summary>
internal static class AggregatedWorkload
{
    private readonly record struct Alloc(int Stream, ulong Ticks, ulong Type, ulong Size, long Stack);

    private static readonly Alloc[] FirstAllocations =
    [
        new(2, 1100, 0, 100, 3), new(2, 1110, 0, 50, 2), new(2, 1120, 1, 1000, 6), new(2, 1130, 2, 24, 7),
        new(3, 1140, 1, 4000, 5), new(3, 1150, 0, 30, 8), new(3, 1160, 0, 20, 0),
    ];

    private static readonly Alloc[] SecondAllocations = [new(2, 1350, 1, 3000, 6), new(2, 1360, 2, 24, 7)];

    /// <param name="aggregated">The aggregated capture instead of the normal one.</param>
    /// <param name="stopped">With the final table and END; else the process was killed after the first periodic table.</param>
    public static TestCaptureWriter Create(bool aggregated, bool stopped = true)
    {
        var w = new TestCaptureWriter(flags: aggregated ? (ushort)1 : (ushort)0);
        var meta = w.Chunk(0)
            .Clock(1000, 1_000_000)
            .Type(0, 0x10, "System.String")
            .Type(1, 0x20, "System.Byte[]", 1)
            .Type(2, 0x30, "MyApp.Node")
            .StatsStacks();
        if (!aggregated)
            meta.Thread(2, 1001, 1).Thread(3, 1002, 0).ThreadName(1001, "Main thread");
        meta.Write();

        var folder = new Folder();
        folder.Allocate(FirstAllocations);
        if (!aggregated)
        {
            WriteAllocations(w, FirstAllocations, 2);
            WriteAllocations(w, FirstAllocations, 3);
        }
        var gc1 = w.Chunk(1).Suspend(1200).GcStart(1210, 0b11, 0, 1, folder.GcStart()).GcEnd(1290, 1, 10, 20, 30, 40, 50);
        folder.Free((2, 0), (2, 2), (3, 1));
        if (!aggregated)
            gc1.Free(2, 0, 2).Free(3, 1);
        gc1.Resume(1300).Write();
        if (aggregated)
            w.Chunk(0).AggTable(1300, false, folder.Peak, folder.Rows()).Write();
        if (!stopped)
            return w;

        folder.Allocate(SecondAllocations);
        if (!aggregated)
            WriteAllocations(w, SecondAllocations, 2);
        var gc2 = w.Chunk(1).Suspend(1400).GcStart(1410, 0b111, 1, 2, folder.GcStart()).GcEnd(1490, 2, 1, 2, 3, 4, 5);
        folder.Free((3, 0), (2, 4));
        if (!aggregated)
            gc2.Free(2, 4).Free(3, 0);
        gc2.Resume(1500).Write();

        var last = w.Chunk(0).Snapshot(50_000, 1_490_000, 9_000_000, 1, 2, 3, 4, 5, folder.LiveBytes);
        if (aggregated)
            last.AggTable(101_000, true, folder.EndPeak(), folder.Rows());
        last.Clock(101_000, 2_000_000).End(101_000, 9, 5, folder.LiveBytes).Write();
        return w;
    }

    private static void WriteAllocations(TestCaptureWriter w, Alloc[] allocations, int stream)
    {
        var chunk = w.Chunk(stream);
        var address = 0x1000UL * (ulong)stream;
        foreach (var a in allocations.Where(a => a.Stream == stream))
        {
            chunk.Alloc(a.Ticks, a.Type, a.Size, a.Stack, address);
            address += a.Size + 0x100;
        }
        chunk.Write();
    }

    /// <summary>Folds allocations and frees into per-(stack, type) totals, as the tracer's writer thread does.</summary>
    private sealed class Folder
    {
        private readonly Dictionary<(int Stream, long Sequence), Alloc> live = new();
        private readonly Dictionary<int, long> sequences = new();
        private readonly SortedDictionary<(ulong Stack, ulong Type), ulong[]> totals = new();

        public ulong Peak { get; private set; }
        public ulong LiveBytes => (ulong)live.Values.Sum(a => (long)a.Size);

        public void Allocate(IEnumerable<Alloc> allocations)
        {
            foreach (var a in allocations)
            {
                var sequence = sequences.GetValueOrDefault(a.Stream);
                sequences[a.Stream] = sequence + 1;
                live.Add((a.Stream, sequence), a);
                var t = Totals(a);
                t[0]++;
                t[1] += a.Size;
                t[4]++;
                t[5] += a.Size;
            }
        }

        public void Free(params (int Stream, long Sequence)[] objects)
        {
            foreach (var o in objects)
            {
                live.Remove(o, out var a);
                var t = Totals(a);
                t[4]--;
                t[5] -= a.Size;
            }
        }

        /// <summary>The live bytes at a GC start; notes the peak there.</summary>
        public ulong GcStart()
        {
            NotePeak();
            return LiveBytes;
        }

        public ulong EndPeak()
        {
            NotePeak();
            return Peak;
        }

        public AggRow[] Rows() => totals.Select(kv => new AggRow(kv.Key.Stack, kv.Key.Type, kv.Value[0], kv.Value[1],
            kv.Value[2], kv.Value[3], kv.Value[4], kv.Value[5])).ToArray();

        private void NotePeak()
        {
            if (LiveBytes <= Peak && Peak != 0)
                return;
            Peak = LiveBytes;
            foreach (var t in totals.Values)
                (t[2], t[3]) = (t[4], t[5]);
        }

        private ulong[] Totals(Alloc a)
        {
            var key = ((ulong)a.Stack, a.Type);
            if (!totals.TryGetValue(key, out var t))
                totals.Add(key, t = new ulong[6]);
            return t;
        }
    }
}
