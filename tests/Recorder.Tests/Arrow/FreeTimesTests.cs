using MemNotebook.Recorder.Arrow;
using MemNotebook.Recorder.Format;
using Xunit;

namespace MemNotebook.Recorder.Tests.Arrow;

/// <summary>
/// The free times of the conversion's first pass: pages of runs that turn dense when survivors and dead
/// objects interleave. What a lookup answers must be what was added, and the memory must follow the bound.
/// </summary>
public class FreeTimesTests
{
    private static readonly TickClock Clock = new(0, 1.0, isEstimated: false);

    [Fact]
    public void Every_other_object_surviving_takes_one_bit_per_allocation_not_a_run_per_freed_object()
    {
        // 4,194,304 allocations (1,024 pages), the even ones freed by one GC: 2,097,152 runs of one, which took
        // 16 bytes each (32 MiB). Each page turns dense at its 513th run: 512 bytes of codes and one GC.
        const int allocations = 1024 * FreeTimes.PageSize;
        var frees = new FreeTimes();
        for (long s = 0; s < allocations; s += 2)
            frees.AddRun(2, s, 1, 5000, 1);
        Assert.Equal((allocations / 2L, allocations / 2L), (frees.FreedCount, frees.RunCount));
        Assert.Equal(new FreeTimes.Footprint(Pages: 1024, PageSlots: 1024, RunBytes: 0, CodeBytes: 1024 * 512, GcBytes: 1024 * 4, WidestCode: 1),
            frees.Measure());

        // A second GC frees the odd ones: two GCs a page, two bits a number.
        for (long s = 1; s < allocations; s += 2)
            frees.AddRun(2, s, 1, 9000, 2);
        Assert.Equal(new FreeTimes.Footprint(Pages: 1024, PageSlots: 1024, RunBytes: 0, CodeBytes: 1024 * 1024, GcBytes: 1024 * 8, WidestCode: 2),
            frees.Measure());

        var lookup = frees.Seal(Clock);
        var column = new long[allocations];
        Assert.Equal(0, lookup.Fill(2, 0, column));
        for (var s = 0; s < allocations; s++)
        {
            if (column[s] != (s % 2 == 0 ? 5000 : 9000))
                Assert.Fail($"sequence {s}: {column[s]}");
        }
    }

    [Fact]
    public void Objects_that_die_together_stay_runs_of_eight_bytes()
    {
        // 3 pages freed whole by one GC, then 100 runs of 10 in the fourth page by another: 8 bytes a run
        // (capacity of a power of two), nothing dense.
        var frees = new FreeTimes();
        frees.AddRun(2, 0, 3 * FreeTimes.PageSize, 1000, 1);
        for (var r = 0; r < 100; r++)
            frees.AddRun(2, 3 * FreeTimes.PageSize + 20 * r, 10, 2000, 2);
        Assert.Equal(101, frees.RunCount);
        Assert.Equal(new FreeTimes.Footprint(Pages: 4, PageSlots: 4, RunBytes: 3 * 2 * 8 + 128 * 8, CodeBytes: 0, GcBytes: 0, WidestCode: 0), frees.Measure());
        var lookup = frees.Seal(Clock);
        Assert.Equal(1000, lookup.FreedAtNs(2, 3 * FreeTimes.PageSize - 1));
        Assert.Equal(2000, lookup.FreedAtNs(2, 3 * FreeTimes.PageSize + 20 * 99 + 9));
        Assert.Equal(-1, lookup.FreedAtNs(2, 3 * FreeTimes.PageSize + 20 * 99 + 10));
    }

    [Theory]
    [InlineData(1, 3, 2)]       // few GCs: dense pages of 2 bits
    [InlineData(2, 40, 8)]
    [InlineData(3, 600, 16)]    // codes widened as GCs come
    public void Lookups_answer_what_was_added_in_run_and_dense_pages_in_any_order(int seed, int gcs, int widest)
    {
        // Three streams of 5 pages; each GC frees a random part of what is alive, in ascending runs (as FREE
        // records come), some as single objects; a few native releases at their own times between GCs.
        const int length = 5 * FreeTimes.PageSize + 123;
        var random = new Random(seed);
        var expected = new Dictionary<int, long[]>();
        var frees = new FreeTimes();
        long ticks = 100;
        foreach (var stream in new[] { 2, 3, 4 })
            expected[stream] = Enumerable.Repeat(-1L, length).ToArray();
        for (var gc = 1; gc <= gcs; gc++)
        {
            ticks += 1 + random.Next(50);
            foreach (var stream in new[] { 2, 3, 4 })
            {
                var truth = expected[stream];
                var chance = random.NextDouble() * 3.0 / gcs;
                for (var s = 0; s < length; s++)
                {
                    if (truth[s] != -1 || random.NextDouble() >= chance)
                        continue;
                    var count = 1;
                    while (s + count < length && truth[s + count] == -1 && random.Next(4) != 0)
                        count++;
                    for (var i = 0; i < count; i++)
                        truth[s + i] = ticks;
                    frees.AddRun(stream, s, count, ticks, gc);
                    s += count;
                }
            }
            if (gc % 7 == 0)
            {
                var stream = 2 + random.Next(3);
                var s = random.Next(length);
                if (expected[stream][s] == -1)
                {
                    ticks++;
                    expected[stream][s] = ticks;
                    frees.Add(new FreeRecord(stream, s, ticks, -1));
                }
            }
        }
        var footprint = frees.Measure();
        var lookup = frees.Seal(Clock);
        foreach (var stream in new[] { 4, 2, 3 })
        {
            // In pieces of uneven lengths, as batches split blocks.
            var got = new long[length];
            var at = 0;
            var alive = 0;
            while (at < length)
            {
                var piece = Math.Min(length - at, 1 + random.Next(3 * FreeTimes.PageSize / 2));
                alive += lookup.Fill(stream, at, got.AsSpan(at, piece));
                at += piece;
            }
            Assert.Equal(expected[stream], got);
            Assert.Equal(expected[stream].Count(t => t == -1), alive);
        }
        Assert.Equal(widest, footprint.WidestCode);
    }
}
