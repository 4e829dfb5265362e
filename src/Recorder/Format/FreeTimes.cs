using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace MemNotebook.Recorder.Format;

/// <summary>
/// When each allocation died, kept compactly for the second conversion pass. A thread stream's sequence
/// numbers are split into pages of <see cref="PageSize"/>; a page keeps its freed numbers as runs (offset,
/// length, GC: 8 bytes each), because objects that die together were mostly allocated together. A page with
/// more than <see cref="MaxPageRuns"/> runs (survivors and dead objects interleaved) becomes dense: a code of
/// 1, 2, 4, 8 or 16 bits per sequence number (0 alive, else an index into the page's list of the GCs that
/// freed its objects, 4 bytes each). So a page takes at most 4 KiB as runs (≤ 1 byte per sequence number,
/// ≤ 8 per freed object) and, dense, 512 bytes when one GC freed its dead (every other object surviving:
/// 0.25 bytes per freed object), at most 8 KiB plus 4 bytes per distinct GC. The free times themselves are
/// one entry per GC, and one per native release (native allocations are freed one at a time, each at its own time).
/// </summary>
internal sealed class FreeTimes
{
    /// <summary>Sequence numbers per page.</summary>
    public const int PageSize = 1 << PageShift;

    /// <summary>Runs a page keeps before it turns dense (4 KiB of runs: 1 byte per sequence number).</summary>
    public const int MaxPageRuns = 512;

    private const int PageShift = 12;

    private readonly Dictionary<int, StreamPages> streams = new();
    private readonly List<long> gcEndTicks = new();
    private readonly Dictionary<long, int> epochByTicks = new();
    private StreamPages? lastPages;
    private int lastStream = -1;
    // The GC of the previous FREE: a GC's frees come together, so most need no lookup.
    private long lastGcTicks = -1;
    private int lastGcEpoch;

    /// <summary>Runs of consecutive sequence numbers freed at one time, as they came (a run may span pages).</summary>
    public long RunCount { get; private set; }
    public long FreedCount { get; private set; }

    public void Add(in FreeRecord free) => AddRun(free.ThreadStream, free.Sequence, 1, free.Ticks, free.GcIndex);

    /// <summary>
    /// Sequence numbers <paramref name="start"/> … + <paramref name="count"/> − 1 of a stream, freed at
    /// <paramref name="ticks"/>: by the GC <paramref name="gcIndex"/>, or by a native release (−1). Each
    /// sequence number is freed once (the reader checks it).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
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
            if (!streams.TryGetValue(stream, out lastPages))
                streams.Add(stream, lastPages = new StreamPages());
            lastStream = stream;
        }
        var pages = lastPages!;
        FreedCount += count;
        if (start != pages.LastRunEnd || epoch != pages.LastRunEpoch)
            RunCount++;
        pages.LastRunEnd = start + count;
        pages.LastRunEpoch = epoch;
        while (count > 0)
        {
            var pageIndex = start >> PageShift;
            var offset = (int)(start & (PageSize - 1));
            var length = (int)Math.Min(count, PageSize - offset);
            pages.Page(pageIndex).Add(offset, length, epoch);
            start += length;
            count -= length;
        }
    }

    /// <summary>What the pages hold now, in bytes of their arrays (for tests of the memory bound).</summary>
    internal Footprint Measure()
    {
        long pages = 0, runBytes = 0, codeBytes = 0, gcBytes = 0, pageSlots = 0;
        var widest = 0;
        foreach (var stream in streams.Values)
        {
            pageSlots += stream.Pages.Length;
            foreach (var page in stream.Pages)
            {
                if (page is null)
                    continue;
                pages++;
                runBytes += page.Runs.Length * Unsafe.SizeOf<PageRun>();
                codeBytes += (page.Codes?.Length ?? 0) * sizeof(ulong);
                gcBytes += page.Epochs.Length * sizeof(int);
                widest = Math.Max(widest, page.Bits);
            }
        }
        return new Footprint(pages, pageSlots, runBytes, codeBytes, gcBytes, widest);
    }

    /// <param name="Pages">Pages with a freed object.</param>
    /// <param name="PageSlots">Slots of the streams' page arrays (8 bytes each).</param>
    /// <param name="RunBytes">Runs of the pages that hold runs, capacity included.</param>
    /// <param name="CodeBytes">Codes of the dense pages.</param>
    /// <param name="GcBytes">The dense pages' lists of the GCs (or releases) that freed their objects.</param>
    /// <param name="WidestCode">Bits of the widest code of a dense page (0 when none is dense).</param>
    internal readonly record struct Footprint(long Pages, long PageSlots, long RunBytes, long CodeBytes, long GcBytes, int WidestCode);

    /// <summary>Sorts each run page by offset and converts the GC times with the capture's clock.</summary>
    public Lookup Seal(TickClock clock)
    {
        var epochNs = gcEndTicks.Select(t => Math.Max(0, clock.ToNanoseconds(t))).ToArray();
        foreach (var stream in streams.Values)
            foreach (var page in stream.Pages)
                page?.Seal();
        var sealedPages = streams.ToDictionary(kv => kv.Key, kv => kv.Value.Pages);
        streams.Clear();
        gcEndTicks.Clear();
        gcEndTicks.TrimExcess();
        epochByTicks.Clear();
        epochByTicks.TrimExcess();
        return new Lookup(sealedPages, epochNs);
    }

    /// <param name="Offset">First sequence number of the run, from the page's first.</param>
    /// <param name="Epoch">Index of the GC (its end time) or native release that freed the run.</param>
    internal readonly record struct PageRun(ushort Offset, ushort Length, int Epoch);

    private sealed class StreamPages
    {
        public Page?[] Pages = [];
        public long LastRunEnd = -1;
        public int LastRunEpoch = -1;

        public Page Page(long index)
        {
            if (index >= Pages.Length)
                Array.Resize(ref Pages, (int)Math.Max(index + 1, Math.Min(Array.MaxLength, 2L * Pages.Length)));
            return Pages[index] ??= new Page();
        }
    }

    /// <summary>
    /// The freed sequence numbers of one page: runs (<see cref="Codes"/> null), or a code per sequence number
    /// of <see cref="Bits"/> bits, 0 for alive, else 1 + an index into <see cref="Epochs"/>.
    /// </summary>
    internal sealed class Page
    {
        public PageRun[] Runs = new PageRun[2];
        public int RunCount;
        public ulong[]? Codes;
        public int Bits;
        public int[] Epochs = [];
        public int EpochCount;
        private int lastEpoch = -1;
        private int lastCode;
        // True while each GC appended to Epochs is later than the one before (frees come in time order).
        private bool epochsAscending = true;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Add(int offset, int length, int epoch)
        {
            if (Codes is null)
            {
                if (RunCount > 0)
                {
                    ref var last = ref Runs[RunCount - 1];
                    if (last.Epoch == epoch && last.Offset + last.Length == offset)
                    {
                        last = last with { Length = (ushort)(last.Length + length) };
                        return;
                    }
                }
                if (RunCount < MaxPageRuns)
                {
                    if (RunCount == Runs.Length)
                        Array.Resize(ref Runs, Runs.Length * 2);
                    Runs[RunCount++] = new PageRun((ushort)offset, (ushort)length, epoch);
                    return;
                }
                MakeDense();
            }
            SetCodes(offset, length, CodeOf(epoch));
        }

        /// <summary>The runs become codes: the runs' GCs in order of first appearance, then a code per number.</summary>
        private void MakeDense()
        {
            var runs = Runs.AsSpan(0, RunCount);
            foreach (var run in runs)
                if (Epochs.AsSpan(0, EpochCount).LastIndexOf(run.Epoch) < 0)
                    AppendEpoch(run.Epoch);
            Bits = BitsFor(EpochCount);
            Codes = new ulong[PageSize * Bits / 64];
            foreach (var run in runs)
                SetCodes(run.Offset, run.Length, Epochs.AsSpan(0, EpochCount).LastIndexOf(run.Epoch) + 1);
            Runs = [];
            RunCount = 0;
        }

        private int CodeOf(int epoch)
        {
            if (epoch == lastEpoch)
                return lastCode;
            var epochs = Epochs.AsSpan(0, EpochCount);
            // Frees come in time order: a GC or release not seen in this page yet is mostly the newest.
            var index = epochsAscending && epochs.Length > 0 && epoch > epochs[^1] ? -1 : epochs.LastIndexOf(epoch);
            if (index < 0)
            {
                index = EpochCount;
                AppendEpoch(epoch);
                if (BitsFor(EpochCount) > Bits)
                    Widen(BitsFor(EpochCount));
            }
            (lastEpoch, lastCode) = (epoch, index + 1);
            return index + 1;
        }

        private void AppendEpoch(int epoch)
        {
            if (EpochCount == Epochs.Length)
                Array.Resize(ref Epochs, Math.Max(1, Epochs.Length * 2));
            epochsAscending &= EpochCount == 0 || epoch > Epochs[EpochCount - 1];
            Epochs[EpochCount++] = epoch;
        }

        /// <summary>The fewest bits (1, 2, 4, 8 or 16: a code never straddles two words) for codes 0 … <paramref name="epochs"/>.</summary>
        private static int BitsFor(int epochs)
        {
            var bits = 32 - BitOperations.LeadingZeroCount((uint)epochs);
            return (int)BitOperations.RoundUpToPowerOf2((uint)bits);
        }

        private void Widen(int bits)
        {
            var wider = new ulong[PageSize * bits / 64];
            for (var i = 0; i < PageSize; i++)
                Write(wider, bits, i, Read(Codes!, Bits, i));
            Codes = wider;
            Bits = bits;
        }

        private void SetCodes(int offset, int length, int code)
        {
            var codes = Codes!;
            for (var i = offset; i < offset + length; i++)
                Write(codes, Bits, i, code);
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static int Read(ulong[] codes, int bits, int offset)
        {
            var bit = offset * bits;
            return (int)(codes[bit >> 6] >> (bit & 63)) & ((1 << bits) - 1);
        }

        private static void Write(ulong[] codes, int bits, int offset, int code)
        {
            var bit = offset * bits;
            ref var word = ref codes[bit >> 6];
            var mask = ((1UL << bits) - 1) << (bit & 63);
            word = (word & ~mask) | ((ulong)code << (bit & 63));
        }

        /// <summary>Runs sorted by offset (frees of one GC come in order, and GCs in time order: mostly sorted already).</summary>
        public void Seal()
        {
            if (Codes is not null)
                return;
            var runs = Runs.AsSpan(0, RunCount);
            for (var i = 1; i < runs.Length; i++)
            {
                if (runs[i].Offset < runs[i - 1].Offset)
                {
                    runs.Sort(static (a, b) => a.Offset.CompareTo(b.Offset));
                    break;
                }
            }
        }
    }

    /// <summary>Answers "when did (stream, sequence) die" for sequences asked in ascending order per stream.</summary>
    internal sealed class Lookup(Dictionary<int, Page?[]> pages, long[] epochNs)
    {
        private readonly Dictionary<int, Cursor> cursors = new();
        private Cursor? last;
        private int lastStream = -1;

        /// <summary>A lookup over the same free times from the first sequence again (for a further pass: each asks in ascending order).</summary>
        public Lookup Again() => new(pages, epochNs);

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
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public int Fill(int stream, long first, Span<long> destination)
        {
            if (stream != lastStream)
            {
                if (!cursors.TryGetValue(stream, out last))
                    cursors.Add(stream, last = new Cursor(pages.GetValueOrDefault(stream) ?? []));
                lastStream = stream;
            }
            var cursor = last!;
            var alive = 0;
            var done = 0;
            var sequence = first;
            while (done < destination.Length)
            {
                var pageIndex = sequence >> PageShift;
                var offset = (int)(sequence & (PageSize - 1));
                var take = Math.Min(destination.Length - done, PageSize - offset);
                var part = destination.Slice(done, take);
                var page = pageIndex < cursor.Pages.Length ? cursor.Pages[pageIndex] : null;
                if (page is null)
                {
                    part.Fill(-1);
                    alive += take;
                }
                else if (page.Codes is { } codes)
                {
                    alive += FillDense(page, codes, offset, part);
                }
                else
                {
                    if (pageIndex != cursor.PageIndex)
                        (cursor.PageIndex, cursor.RunIndex) = (pageIndex, 0);
                    alive += FillRuns(page, ref cursor.RunIndex, offset, part);
                }
                done += take;
                sequence += take;
            }
            return alive;
        }

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private int FillDense(Page page, ulong[] codes, int offset, Span<long> destination)
        {
            var bits = page.Bits;
            var alive = 0;
            for (var i = 0; i < destination.Length; i++)
            {
                var code = Page.Read(codes, bits, offset + i);
                if (code == 0)
                {
                    destination[i] = -1;
                    alive++;
                }
                else
                {
                    destination[i] = epochNs[page.Epochs[code - 1]];
                }
            }
            return alive;
        }

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private int FillRuns(Page page, ref int index, int offset, Span<long> destination)
        {
            var runs = page.Runs.AsSpan(0, page.RunCount);
            var alive = 0;
            var done = 0;
            while (done < destination.Length)
            {
                while (index < runs.Length && runs[index].Offset + runs[index].Length <= offset)
                    index++;
                var left = destination.Length - done;
                if (index == runs.Length)
                {
                    destination[done..].Fill(-1);
                    alive += left;
                    break;
                }
                var run = runs[index];
                if (run.Offset > offset)
                {
                    var gap = Math.Min(left, run.Offset - offset);
                    destination.Slice(done, gap).Fill(-1);
                    alive += gap;
                    done += gap;
                    offset += gap;
                    continue;
                }
                var inRun = Math.Min(left, run.Offset + run.Length - offset);
                destination.Slice(done, inRun).Fill(epochNs[run.Epoch]);
                done += inRun;
                offset += inRun;
            }
            return alive;
        }

        private sealed class Cursor(Page?[] pages)
        {
            public readonly Page?[] Pages = pages;
            public long PageIndex = -1;
            public int RunIndex;
        }
    }
}
