namespace MemNotebook.Recorder.Format;

/// <summary>
/// Which sequence numbers of one thread stream were freed, so a second FREE of the same object is
/// caught. Pages of 64K bits; a page whose objects all died collapses to a shared marker, so memory
/// follows the pages that still hold live objects (plus 8 bytes per 64K allocations).
/// </summary>
internal sealed class FreedSet
{
    private const int PageBits = 1 << 16;
    private const int WordsPerPage = PageBits / 64;
    private static readonly ulong[] AllFreed = new ulong[1];

    private ulong[]?[] pages = [];
    private int[] freedPerPage = [];

    /// <summary>Marks <paramref name="sequence"/> freed; false if it already was.</summary>
    public bool TryMarkFreed(long sequence) => MarkFreed(sequence, 1) < 0;

    /// <summary>
    /// Marks <paramref name="start"/> … <paramref name="start"/> + <paramref name="count"/> − 1 freed, a word
    /// at a time; returns the first of them that already was (the marks before it are made), or −1.
    /// </summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    public long MarkFreed(long start, long count)
    {
        var sequence = start;
        var end = start + count;
        while (sequence < end)
        {
            var pageIndex = (int)(sequence / PageBits);
            if (pageIndex >= pages.Length)
                Grow(pageIndex);
            var page = pages[pageIndex];
            if (ReferenceEquals(page, AllFreed))
                return sequence;
            page ??= pages[pageIndex] = new ulong[WordsPerPage];
            var bit = (int)(sequence % PageBits);
            // This word's bits from `bit` up to the run's end or the word's.
            var take = (int)Math.Min(end - sequence, 64 - (bit & 63));
            var mask = (take == 64 ? ulong.MaxValue : (1UL << take) - 1) << (bit & 63);
            ref var word = ref page[bit >> 6];
            var already = word & mask;
            if (already != 0)
            {
                var first = System.Numerics.BitOperations.TrailingZeroCount(already);
                word |= mask & ((1UL << first) - 1);
                freedPerPage[pageIndex] += first - (bit & 63);
                return sequence - (bit & 63) + first;
            }
            word |= mask;
            if ((freedPerPage[pageIndex] += take) == PageBits)
                pages[pageIndex] = AllFreed;
            sequence += take;
        }
        return -1;
    }

    private void Grow(int pageIndex)
    {
        var length = Math.Max(pageIndex + 1, pages.Length * 2);
        Array.Resize(ref pages, length);
        Array.Resize(ref freedPerPage, length);
    }
}
