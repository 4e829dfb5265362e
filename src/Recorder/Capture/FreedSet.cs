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

    private readonly List<ulong[]?> pages = new();
    private readonly List<int> freedPerPage = new();

    /// <summary>Marks <paramref name="sequence"/> freed; false if it already was.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    public bool TryMarkFreed(long sequence)
    {
        var pageIndex = (int)(sequence / PageBits);
        while (pages.Count <= pageIndex)
        {
            pages.Add(null);
            freedPerPage.Add(0);
        }
        var page = pages[pageIndex];
        if (ReferenceEquals(page, AllFreed))
            return false;
        page ??= pages[pageIndex] = new ulong[WordsPerPage];
        var bit = (int)(sequence % PageBits);
        var mask = 1UL << (bit & 63);
        if ((page[bit >> 6] & mask) != 0)
            return false;
        page[bit >> 6] |= mask;
        if (++freedPerPage[pageIndex] == PageBits)
            pages[pageIndex] = AllFreed;
        return true;
    }
}
