namespace MemNotebook.Recorder.Capture;

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
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    public bool TryMarkFreed(long sequence)
    {
        var pageIndex = (int)(sequence / PageBits);
        if (pageIndex >= pages.Length)
            Grow(pageIndex);
        var page = pages[pageIndex];
        if (ReferenceEquals(page, AllFreed))
            return false;
        page ??= pages[pageIndex] = new ulong[WordsPerPage];
        var bit = (int)(sequence % PageBits);
        ref var word = ref page[bit >> 6];
        var mask = 1UL << (bit & 63);
        if ((word & mask) != 0)
            return false;
        word |= mask;
        if (++freedPerPage[pageIndex] == PageBits)
            pages[pageIndex] = AllFreed;
        return true;
    }

    private void Grow(int pageIndex)
    {
        var length = Math.Max(pageIndex + 1, pages.Length * 2);
        Array.Resize(ref pages, length);
        Array.Resize(ref freedPerPage, length);
    }
}
