namespace MemNotebook.Recorder.Analysis;

/// <summary>
/// The managed high-water mark as the format defines it (docs/capture-format.md): managed objects die only in a GC,
/// so live bytes peak at a GC start or at the end. Every path that reports a managed peak (<c>memnb stats</c>'s
/// streaming pass, <see cref="MemNotebook.Capture"/>, a capture scoped to cells, an aggregated capture) offers its
/// candidates here, so they agree: the most live bytes, the earliest of equal candidates, the end when it holds more
/// than every GC start (or when there was no GC).
/// </summary>
internal struct ManagedPeakFinder
{
    private long bestBytes;
    private long bestTime;
    private bool found;

    /// <summary>A GC started at <paramref name="timeNs"/> with <paramref name="liveBytes"/> alive.</summary>
    public void GcStarted(long timeNs, long liveBytes)
    {
        if (!found || liveBytes > bestBytes || (liveBytes == bestBytes && timeNs < bestTime))
            (bestBytes, bestTime, found) = (liveBytes, timeNs, true);
    }

    /// <summary>The peak, given the bytes alive at the end (<paramref name="endNs"/>).</summary>
    public readonly (long Bytes, long TimeNs, bool AtEnd) Find(long endLiveBytes, long endNs) =>
        !found || endLiveBytes > bestBytes ? (endLiveBytes, endNs, true) : (bestBytes, bestTime, false);

    /// <summary>
    /// When a peak of known bytes was reached (an aggregated capture knows its peak's bytes, not its time): the first GC
    /// start with those live bytes, else the end.
    /// </summary>
    public static (long Bytes, long TimeNs, bool AtEnd) TimeOf(long peakBytes, IEnumerable<(long TimeNs, long LiveBytes)> gcStarts, long endNs)
    {
        var finder = new ManagedPeakFinder();
        foreach (var (time, live) in gcStarts)
            if (live == peakBytes)
                finder.GcStarted(time, live);
        return finder.found ? (peakBytes, finder.bestTime, false) : (peakBytes, endNs, true);
    }
}
