namespace MemNotebook.Recorder.Format;

/// <summary>
/// Matches NATIVE_FREE records to the NATIVE_ALLOC they release. A release names an address, not an
/// allocation: it frees the allocation at that address with the latest time before the release (or at
/// its time, when both are of the release's own stream: a stream's records come in the order they
/// happened, and its times never go back, but two of them can share a tick). Thread
/// streams are written in chunks, so a release can be read before the allocation it frees (the block
/// went from one thread to another within a writer cycle); such a release waits until an allocation at
/// its address with an earlier time is read. Releases of blocks allocated before recording started
/// never match. An mmap region is freed when munmap calls have unmapped all of its bytes (partial
/// unmaps shrink it). Memory: one entry per live block, plus unmatched releases.
/// </summary>
internal sealed class NativeHeap
{
    // Unmatched munmaps kept for regions read later; older ones are dropped (they were almost all
    // unmaps of regions mapped before recording started).
    private const int MaxPendingUnmaps = 4096;

    private readonly Dictionary<ulong, Block> blocks = new();
    // Further live blocks at an address already in `blocks` (a block whose release was not seen,
    // or one read out of time order), by address.
    private readonly Dictionary<ulong, List<Block>> extraBlocks = new();
    private long extraCount;
    private readonly Dictionary<ulong, List<long>> pendingFrees = new();
    private readonly List<Region> regions = new();
    private readonly LinkedList<(ulong Start, ulong End, long Ticks)> pendingUnmaps = new();

    public readonly record struct Released(int Stream, long Sequence, long Ticks);

    private readonly record struct Block(int Stream, long Sequence, long Ticks);

    private sealed class Region(int stream, long sequence, long ticks, ulong start, ulong end)
    {
        public readonly int Stream = stream;
        public readonly long Sequence = sequence;
        public readonly long Ticks = ticks;
        public readonly List<(ulong Start, ulong End)> Mapped = [(start, end)];
    }

    public long LiveBlocks => blocks.Count + extraCount + regions.Count;

    /// <summary>A native allocation was read; returns the release that frees it at once, if one was read earlier.</summary>
    public Released? Allocate(int stream, long sequence, long ticks, bool mmap, ulong address, long size)
    {
        if (mmap)
        {
            var region = new Region(stream, sequence, ticks, address, unchecked(address + (ulong)size));
            if (pendingUnmaps.Count == 0)
            {
                regions.Add(region);
                return null;
            }
            foreach (var pending in pendingUnmaps.Where(p => p.Ticks > ticks).OrderBy(p => p.Ticks).ToArray())
            {
                if (Unmap(region, pending.Start, pending.End))
                    return new Released(stream, sequence, pending.Ticks);
            }
            regions.Add(region);
            return null;
        }
        if (pendingFrees.TryGetValue(address, out var waiting))
        {
            // The earliest release after this allocation frees it.
            var best = -1;
            for (var i = 0; i < waiting.Count; i++)
                if (waiting[i] > ticks && (best < 0 || waiting[i] < waiting[best]))
                    best = i;
            if (best >= 0)
            {
                var at = waiting[best];
                waiting.RemoveAt(best);
                if (waiting.Count == 0)
                    pendingFrees.Remove(address);
                return new Released(stream, sequence, at);
            }
        }
        var block = new Block(stream, sequence, ticks);
        if (!blocks.TryAdd(address, block))
        {
            if (!extraBlocks.TryGetValue(address, out var more))
                extraBlocks.Add(address, more = new List<Block>(1));
            more.Add(block);
            extraCount++;
        }
        return null;
    }

    /// <summary>free() (or realloc's release) of an address at a time; the allocation it frees, if read already.</summary>
    /// <param name="stream">The thread stream the release was read in.</param>
    public Released? Free(ulong address, long ticks, int stream)
    {
        var found = blocks.TryGetValue(address, out var block) && Before(block, ticks, stream);
        var extraIndex = -1;
        extraBlocks.TryGetValue(address, out var more);
        if (more is not null)
        {
            for (var i = 0; i < more.Count; i++)
            {
                var b = more[i];
                if (Before(b, ticks, stream) && (!found || b.Ticks > block.Ticks || (b.Ticks == block.Ticks && b.Stream == stream)))
                {
                    block = b;
                    found = true;
                    extraIndex = i;
                }
            }
        }
        if (!found)
        {
            if (!pendingFrees.TryGetValue(address, out var list))
                pendingFrees.Add(address, list = new List<long>(1));
            list.Add(ticks);
            return null;
        }
        if (extraIndex >= 0)
        {
            more!.RemoveAt(extraIndex);
            extraCount--;
            if (more.Count == 0)
                extraBlocks.Remove(address);
        }
        else
        {
            blocks.Remove(address);
            if (more is not null)
            {
                blocks.Add(address, more[^1]);
                more.RemoveAt(more.Count - 1);
                extraCount--;
                if (more.Count == 0)
                    extraBlocks.Remove(address);
            }
        }
        return new Released(block.Stream, block.Sequence, ticks);
    }

    /// <summary>
    /// Whether a block was allocated before a release at <paramref name="ticks"/> read in <paramref name="stream"/>:
    /// an earlier time, or the same tick in the release's own stream (read before it there, so made before it). Two
    /// records of one stream can share a tick (the tracer never lets a stream's time go back, even when its thread
    /// moved to a core whose counter is behind); across streams the same tick says nothing of the order.
    /// </summary>
    private static bool Before(Block block, long ticks, int stream) => block.Ticks < ticks || (block.Ticks == ticks && block.Stream == stream);

    /// <summary>munmap of [address, address + length); adds the regions it unmaps completely to <paramref name="freed"/>.</summary>
    /// <param name="stream">The thread stream the release was read in (a region of the same tick is before it only there).</param>
    public void Munmap(ulong address, ulong length, long ticks, int stream, List<Released> freed)
    {
        var end = unchecked(address + length);
        var touched = false;
        for (var i = regions.Count - 1; i >= 0; i--)
        {
            var region = regions[i];
            if (region.Ticks > ticks || (region.Ticks == ticks && region.Stream != stream))
                continue;
            if (!Overlaps(region, address, end))
                continue;
            touched = true;
            if (Unmap(region, address, end))
            {
                freed.Add(new Released(region.Stream, region.Sequence, ticks));
                regions.RemoveAt(i);
            }
        }
        if (!touched)
        {
            pendingUnmaps.AddLast((address, end, ticks));
            if (pendingUnmaps.Count > MaxPendingUnmaps)
                pendingUnmaps.RemoveFirst();
        }
    }

    private static bool Overlaps(Region region, ulong start, ulong end)
    {
        foreach (var (s, e) in region.Mapped)
            if (s < end && start < e)
                return true;
        return false;
    }

    /// <summary>Removes [start, end) from a region; true when nothing of it is mapped any more.</summary>
    private static bool Unmap(Region region, ulong start, ulong end)
    {
        var mapped = region.Mapped;
        for (var i = mapped.Count - 1; i >= 0; i--)
        {
            var (s, e) = mapped[i];
            if (e <= start || end <= s)
                continue;
            mapped.RemoveAt(i);
            if (s < start)
                mapped.Add((s, start));
            if (end < e)
                mapped.Add((end, e));
        }
        return mapped.Count == 0;
    }
}
