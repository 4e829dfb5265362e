using MemNotebook.Recorder.Analysis;
using MemNotebook.Recorder.Reports;
using MemNotebook.Recorder.Tests.Arrow;
using Xunit;
using LoadedCapture = MemNotebook.Capture;

namespace MemNotebook.Recorder.Tests.Reports;

/// <summary>Views named by a time say it in units people read, not raw nanoseconds (the notebook's flame-graph subtitle).</summary>
public class TimeDescriptionTests
{
    [Theory]
    [InlineData(0L, "0 ns")]
    [InlineData(999L, "999 ns")]
    [InlineData(12_340L, "12.3 µs")]
    [InlineData(4_500_000L, "4.5 ms")]
    [InlineData(999_940_000L, "999.9 ms")]
    [InlineData(26_299_560_214L, "26.30 s")]
    [InlineData(-1_500_000L, "-1.5 ms")]
    [InlineData(long.MinValue, "-9223372036.85 s")]
    public void Times_are_written_in_ns_us_ms_or_s(long ns, string text) => Assert.Equal(text, TimeUnits.Format(ns));

    [Fact]
    public void Views_at_a_time_or_in_a_range_describe_it_in_units()
    {
        using var scratch = new ScratchFolder();
        var capture = LoadedCapture.Load(scratch.Write("r.memnb", ReportCaptures.Create()));
        Assert.Equal("alive at the peak (100 ns)", capture.Peak().Description);
        Assert.Equal("alive at 26.30 s", capture.All.AliveAt(26_299_560_214).Description);
        Assert.Equal("allocated from 1.5 ms to 2.00 s", capture.All.Between(1_500_000, 2_000_000_000).Description);
        // The notebook builds its flame graph from the view: the page's subtitle is the view's description.
        var page = FlameGraphPage.ToHtml(FlameTree.Build(capture.Peak(), ReportSelection.Peak), "r.memnb");
        Assert.Contains("<p class=\"meta\">r.memnb: alive at the peak (100 ns) — 3.1 KiB in 6 allocations</p>", page);
    }
}
