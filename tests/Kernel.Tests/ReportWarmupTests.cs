using MemNotebook.Recorder.Arrow;

namespace MemNotebook.Kernel.Tests;

/// <summary>
/// The extension's report warm-up (ReportWarmup): it makes the reports of its shipped capture when the extension loads,
/// and a cell started while it runs records only after it has ended.
/// </summary>
[Collection(KernelCollection.Name)]
public sealed class ReportWarmupTests
{
    [Fact]
    public async Task The_extension_makes_the_warmup_reports_when_it_loads()
    {
        using var k = await KernelHarness.StartAsync();
        ReportWarmup.WaitUntilDone();
        Assert.Null(ReportWarmup.Failure);
        Assert.Equal(ReportWarmup.Outcome.Made, ReportWarmup.State);
    }

    [Fact]
    public async Task A_cell_started_during_the_warmup_records_none_of_it()
    {
        using var k = await KernelHarness.StartAsync();
        await k.RunAsync("var keep = new List<byte[]>();");
        // The warm-up held until after the cell has started: a cell that did not wait would record all of it, since the
        // cell's code runs longer than the warm-up.
        ReportWarmup.Restart(holdUntil: Task.Delay(TimeSpan.FromMilliseconds(500)));
        Assert.Equal(ReportWarmup.Outcome.Running, ReportWarmup.State);
        var cell = await k.RunAsync($"#!memprofile --output {k.Folder}/w.memnb\nfor (var i = 0; i < 100; i++) keep.Add(new byte[4096]);\nSystem.Threading.Thread.Sleep(3000);");
        Assert.Null(cell.Failure);
        Assert.Equal(ReportWarmup.Outcome.Made, ReportWarmup.State);
        Assert.Single(cell.Outputs(NotebookRenderer.FlameGraphClass));
        AssertCellFramesWithoutWarmup(Capture.Load($"{k.Folder}/w.memnb", cache: ArrowCacheLocation.BesideCapture));
    }

    /// <summary>
    /// The whole capture, not the cell's scope: every frame of every recorded stack; the cell's code is there and no frame
    /// of the warm-up's thread is.
    /// </summary>
    private static void AssertCellFramesWithoutWarmup(Capture capture)
    {
        var names = capture.Stacks.Columns["function"].Cast<object?>().Select(f => f?.ToString() ?? "").ToList();
        Assert.Contains(names, n => Capture.IsSubmissionFrame(n));
        Assert.DoesNotContain(names, n => n.Contains("ReportWarmup", StringComparison.Ordinal) || n.Contains("CellReports", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Code_that_starts_a_recording_during_the_warmup_records_none_of_it()
    {
        using var k = await KernelHarness.StartAsync();
        await k.RunAsync("var kept = new List<byte[]>();");
        ReportWarmup.Restart(holdUntil: Task.Delay(TimeSpan.FromMilliseconds(500)));
        Assert.Equal(ReportWarmup.Outcome.Running, ReportWarmup.State);
        // A region of the cell's own (Tracker.Start, not #!memprofile): it too begins once the warm-up has ended.
        var cell = await k.RunAsync($$"""
            var region = MemNotebook.Recorder.Tracing.Tracker.Start("{{k.Folder}}/region.memnb");
            for (var i = 0; i < 100; i++) kept.Add(new byte[4096]);
            System.Threading.Thread.Sleep(3000);
            region.Stop();
            """);
        Assert.Null(cell.Failure);
        Assert.Equal(ReportWarmup.Outcome.Made, ReportWarmup.State);
        var capture = Capture.Load($"{k.Folder}/region.memnb", cache: ArrowCacheLocation.BesideCapture);
        AssertCellFramesWithoutWarmup(capture);
        // The cell's 100 arrays of 4 KiB, each 4,120 bytes with its header.
        var arrays = capture.WithinSubmissions().OfType("System.Byte[]");
        Assert.Equal((100, 100L * 4120), (arrays.Count, arrays.Bytes));
    }
}
