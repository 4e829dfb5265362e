using MemNotebook.Recorder.Reports;
using MemNotebook.Recorder.Tests.Arrow;
using MemNotebook.Recorder.Tests.Reports;
using Xunit;
using LoadedCapture = MemNotebook.Capture;

namespace MemNotebook.Recorder.Tests.Analysis;

/// <summary>Capture.Within on the report capture (ReportCaptures): the allocations under App.Parse.</summary>
public class ScopedCaptureTests
{
    private static LoadedCapture Load(ScratchFolder scratch) => LoadedCapture.Load(scratch.Write("r.memnb", ReportCaptures.Create()));

    [Fact]
    public void Within_keeps_the_allocations_under_the_frame_and_their_own_peak()
    {
        using var scratch = new ScratchFolder();
        var whole = Load(scratch);
        var parse = whole.Within(f => f == "App.Parse", "under App.Parse");
        // Stack 4 (String 40 on thread 101, t=25) and stack 6 (Big 2000, t=15, through native_helper).
        Assert.Equal((2, 2040L), (parse.All.Count, parse.All.Bytes));
        Assert.Equal(2L, parse.Allocations.Rows.Count);
        Assert.Equal("under App.Parse", parse.Scope);
        Assert.Same(whole, parse.Unscoped);
        Assert.Null(whole.Scope);
        Assert.Same(whole, whole.Unscoped);
        // Their own high-water mark: both alive when GC 1 starts (t=100); then the string dies, then Big.
        Assert.Equal((2040L, 100L, false), (parse.PeakBytes, parse.PeakTimeNs, parse.PeakIsAtEnd));
        Assert.Equal((2, 2040L), (parse.Peak().Count, parse.Peak().Bytes));
        Assert.Equal(0, parse.Leaks().Count);
        Assert.Equal((7, 3152L), (whole.All.Count, whole.All.Bytes));
        Assert.Equal(3136L, whole.PeakBytes);
        // Rankings and aggregates cover the scope only.
        var types = parse.TopTypes(10);
        Assert.Equal(new[] { "App.Big", "System.String" }, Enumerable.Range(0, (int)types.Rows.Count).Select(i => (string)types["type"][i]));
        Assert.Equal(2L, parse.Aggregates.Rows.Count);
    }

    [Fact]
    public void A_scoped_flame_tree_starts_at_the_outermost_frame_of_the_scope()
    {
        using var scratch = new ScratchFolder();
        var parse = Load(scratch).Within(f => f == "App.Parse", "under App.Parse");
        var tree = FlameTree.Build(parse.All, new ReportSelection(ReportMode.Allocated));
        var top = Assert.Single(tree.Root.Children);
        Assert.Equal(("App.Parse", 2040L, 40L), (top.Name, top.TotalBytes, top.OwnBytes));
        var load = top.Child("native_helper")!.Child("App.Load")!;
        Assert.Equal((2000L, 1L), (load.OwnBytes, load.Count));
    }

    [Fact]
    public void WithinSubmissions_matches_script_frames_only()
    {
        Assert.True(LoadedCapture.IsSubmissionFrame("Submission#3.<Initialize>"));
        Assert.True(LoadedCapture.IsSubmissionFrame("Submission#12+Order..ctor"));
        Assert.False(LoadedCapture.IsSubmissionFrame("App.Submission#3"));
        Assert.False(LoadedCapture.IsSubmissionFrame("Microsoft.CodeAnalysis.Scripting.ScriptExecutionState.RunSubmissionsAsync"));
        using var scratch = new ScratchFolder();
        var none = Load(scratch).WithinSubmissions();
        Assert.Equal(0, none.All.Count);
        Assert.Equal(LoadedCapture.SubmissionScope, none.Scope);
        Assert.Equal((0L, 0), (none.PeakBytes, none.Peak().Count));
    }
}
