using System.Runtime.InteropServices;
using MemNotebook.Recorder.Format;

namespace MemNotebook.Recorder.Analysis;

/// <summary>
/// The high-water mark of native memory: the most bytes of native blocks alive at once (malloc &amp; co. at
/// the size asked for, an mmap region at its length), and when it was first reached (ns since the start).
/// </summary>
public readonly record struct NativePeak(long Bytes, long TimeNs);

/// <summary>
/// Finds the <see cref="NativePeak"/> of a capture from its native allocations and the releases the reader
/// matched to them, in time order across threads; every path that reports a native peak (both stats readers
/// and <see cref="MemNotebook.Capture"/>) feeds this one sweep, so they agree. Ties: at one time, releases
/// count before allocations (a realloc releases its old block before the new one exists). A release the
/// reader matched to nothing (a block allocated before recording) counts nothing; an mmap region counts its
/// whole length until its last byte is unmapped, as the allocations table does. Memory: 16 bytes per native
/// allocation and per release, sorted once at the end.
/// </summary>
internal sealed class NativePeakFinder
{
    // Time and bytes per event: bytes > 0 for an allocation, < 0 for a release; size-0 blocks change nothing.
    private readonly List<long> times = new();
    private readonly List<long> bytes = new();

    public void Allocated(long time, long size)
    {
        if (size == 0)
            return;
        times.Add(time);
        bytes.Add(size);
    }

    public void Released(long time, long size)
    {
        if (size == 0)
            return;
        times.Add(time);
        bytes.Add(-size);
    }

    /// <summary>
    /// The peak. With <paramref name="ticks"/>, the times given were ticks and are converted as the Arrow
    /// table converts them (an allocation's timestamp_ns, a release's freed_at_ns, which is never below 0).
    /// </summary>
    public NativePeak Find(TickClock? ticks = null)
    {
        var time = CollectionsMarshal.AsSpan(times);
        var delta = CollectionsMarshal.AsSpan(bytes);
        // Sort key: time × 2, + 1 for an allocation, so that releases come first at equal times.
        for (var i = 0; i < time.Length; i++)
        {
            var t = time[i];
            if (ticks is not null)
                t = delta[i] > 0 ? ticks.ToNanoseconds(t) : Math.Max(0, ticks.ToNanoseconds(t));
            time[i] = t * 2 + (delta[i] > 0 ? 1 : 0);
        }
        time.Sort(delta);
        long live = 0, best = 0, bestTime = 0;
        for (var i = 0; i < time.Length; i++)
        {
            live += delta[i];
            if (live > best)
                (best, bestTime) = (live, time[i] >> 1);
        }
        times.Clear();
        bytes.Clear();
        return new NativePeak(best, bestTime);
    }

    /// <summary>The peak of the native rows of the allocations table, among <paramref name="rows"/> (null: every row).</summary>
    public static NativePeak Of(AllocationColumns columns, int[]? rows)
    {
        var finder = new NativePeakFinder();
        var types = columns.TypeId;
        var time = columns.TimestampNs;
        var freed = columns.FreedAtNs;
        var size = columns.Size;
        var count = rows?.Length ?? columns.Count;
        for (var i = 0; i < count; i++)
        {
            var r = rows is null ? i : rows[i];
            if (types[r] >= 0)
                continue;
            finder.Allocated(time[r], size[r]);
            if (freed[r] != -1)
                finder.Released(freed[r], size[r]);
        }
        return finder.Find();
    }
}
