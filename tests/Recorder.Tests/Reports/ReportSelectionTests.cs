using MemNotebook.Recorder.Reports;
using Xunit;

namespace MemNotebook.Recorder.Tests.Reports;

/// <summary>The rules of --all, --leaks and --temporary N, which the report verbs of memnb and #!memprofile share.</summary>
public class ReportSelectionTests
{
    [Fact]
    public void Each_option_picks_its_view_and_none_picks_the_peak()
    {
        Assert.Equal(ReportSelection.Peak, ReportSelection.FromOptions(false, false, null));
        Assert.Equal(new ReportSelection(ReportMode.Allocated), ReportSelection.FromOptions(true, false, null));
        Assert.Equal(new ReportSelection(ReportMode.Leaks), ReportSelection.FromOptions(false, true, null));
        Assert.Equal(new ReportSelection(ReportMode.Temporary, 5), ReportSelection.FromOptions(false, false, 5));
    }

    [Theory]
    [InlineData(true, true, null, "--all, --leaks and --temporary exclude each other")]
    [InlineData(false, true, 2, "--all, --leaks and --temporary exclude each other")]
    [InlineData(true, false, 2, "--all, --leaks and --temporary exclude each other")]
    [InlineData(false, false, 0, "--temporary 0: the threshold must be a whole number of at least 1 (freed before N other allocations on the same thread)")]
    public void Bad_combinations_are_named(bool all, bool leaks, int? temporary, string problem)
    {
        Assert.Equal([problem], ReportSelection.OptionProblems(all, leaks, temporary));
        Assert.Equal(problem, Assert.Throws<ArgumentException>(() => ReportSelection.FromOptions(all, leaks, temporary)).Message);
    }

    [Fact]
    public void Both_problems_are_named_together()
    {
        Assert.Equal(2, ReportSelection.OptionProblems(true, false, -1).Count());
    }
}
