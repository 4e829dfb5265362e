namespace MemNotebook.Recorder.Analysis;

/// <summary>Searches in ascending arrays of times (or any longs).</summary>
internal static class SortedTimes
{
    /// <summary>The first index whose value is at or after <paramref name="value"/> (the length when none is).</summary>
    public static int LowerBound(long[] ascending, long value)
    {
        int lo = 0, hi = ascending.Length;
        while (lo < hi)
        {
            var mid = (lo + hi) >>> 1;
            if (ascending[mid] < value) lo = mid + 1;
            else hi = mid;
        }
        return lo;
    }
}
