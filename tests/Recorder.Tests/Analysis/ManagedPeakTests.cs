using MemNotebook.Recorder.Analysis;
using Xunit;

namespace MemNotebook.Recorder.Tests.Analysis;

/// <summary>The one managed peak rule every path uses: most live bytes at a GC start or at the end, earliest of equals.</summary>
public class ManagedPeakTests
{
    [Fact]
    public void The_most_live_bytes_at_a_gc_start_win_and_the_earliest_of_equals()
    {
        var finder = new ManagedPeakFinder();
        finder.GcStarted(300, 500);
        finder.GcStarted(100, 700);
        finder.GcStarted(50, 700);
        finder.GcStarted(400, 600);
        Assert.Equal((700L, 50L, false), finder.Find(endLiveBytes: 700, endNs: 1000));
        Assert.Equal((701L, 1000L, true), finder.Find(endLiveBytes: 701, endNs: 1000));
    }

    [Fact]
    public void Without_a_gc_the_peak_is_the_end()
    {
        Assert.Equal((0L, 9L, true), new ManagedPeakFinder().Find(0, 9));
        Assert.Equal((42L, 9L, true), new ManagedPeakFinder().Find(42, 9));
    }

    [Fact]
    public void A_known_peak_is_placed_at_the_first_gc_start_with_its_bytes_else_at_the_end()
    {
        (long, long)[] gcs = [(30, 10), (20, 80), (10, 80), (40, 90)];
        Assert.Equal((80L, 10L, false), ManagedPeakFinder.TimeOf(80, gcs, 100));
        Assert.Equal((85L, 100L, true), ManagedPeakFinder.TimeOf(85, gcs, 100));
    }
}
