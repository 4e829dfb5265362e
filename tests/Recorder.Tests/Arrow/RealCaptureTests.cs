using MemNotebook.Recorder.Tests.Profiler;
using Microsoft.Data.Analysis;
using Xunit;
using LoadedCapture = MemNotebook.Capture;

namespace MemNotebook.Recorder.Tests.Arrow;

// A capture written by the tracer (tests/TestTarget): the views answer what the program did.
public class RealCaptureTests
{
    [Fact]
    public void On_a_traced_program_stats_dataframes_and_cli_agree_and_leaks_are_the_rooted_survivors()
    {
        var path = TracedTarget.TempCapture("compact.memnb");
        var run = TracedTarget.Start("compact", path);
        Assert.True(run.ExitCode == 0, run.Stderr);
        CaptureViewTests.AssertAgree(path);

        var capture = LoadedCapture.Load(path);
        // 10,000 Survivors; the odd ones died in the first GC, 2,500 of the kept ones after three
        // compacting GCs moved them; 2,500 are still rooted at the end.
        var leakedTypes = capture.Leaks().TopTypes(int.MaxValue);
        var survivor = leakedTypes.Filter(leakedTypes["type"].ElementwiseEquals("MemNotebook.TestTarget.Survivor"));
        Assert.Equal(2500L, survivor["count"][0]);
        Assert.Equal(2500L * 40, survivor["bytes"][0]);
        // Before the first GC every Survivor was alive: the peak holds at least all 10,000.
        var peakTypes = capture.Peak().TopTypes(int.MaxValue);
        var atPeak = peakTypes.Filter(peakTypes["type"].ElementwiseEquals("MemNotebook.TestTarget.Survivor"));
        Assert.Equal(10_000L, atPeak["count"][0]);
        Assert.Equal(capture.PeakBytes, capture.Peak().Bytes);
        Assert.Equal("MemNotebook.TestTarget.Scenarios.FillSurvivors", capture.Peak().TopFunctions(1)["function"][0]);
    }
}
