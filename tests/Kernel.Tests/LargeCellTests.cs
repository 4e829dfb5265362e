using System.Diagnostics;
using MemNotebook.Recorder.Analysis;
using Xunit.Abstractions;

namespace MemNotebook.Kernel.Tests;

/// <summary>A cell of ten million allocations in the traced kernel: its reports arrive, with exact numbers.</summary>
[Collection(KernelCollection.Name)]
public sealed class LargeCellTests(ITestOutputHelper output)
{
    private const int Objects = 10_000_000;

    [Fact]
    public async Task A_cell_of_ten_million_allocations_gets_its_reports()
    {
        using var k = await KernelHarness.StartAsync();
        // The cell's last statement notes when its code ended: what follows is the work after the cell.
        var cell = await k.RunAsync($$"""
            #!memprofile --output {{k.Folder}}/large.memnb --report stats,flamegraph,timeline
            object last = null;
            for (var i = 0; i < {{Objects}}; i++) last = new object();
            var codeEnded = System.Diagnostics.Stopwatch.GetTimestamp();
            """);
        var reportsShown = Stopwatch.GetTimestamp();
        Assert.Null(cell.Failure);
        var codeEnded = await k.LongAsync("codeEnded");
        output.WriteLine($"reports {Stopwatch.GetElapsedTime(codeEnded, reportsShown).TotalSeconds:F1} s after the cell's code ended");
        using (var self = Process.GetCurrentProcess())
            output.WriteLine($"test host: peak working set {self.PeakWorkingSet64 / 1048576} MiB, managed heap {GC.GetTotalMemory(false) / 1048576} MiB after the reports");

        // The line above the cell's result said what ran after the cell, and last that the reports follow.
        var progress = cell.Outputs(CellProgress.CssClass);
        // Streaming passes over the capture file scoped to the cell's code; the tables wait until the variable is used.
        Assert.Contains(progress, p => p.Contains("#!memprofile: reading the capture"));
        Assert.DoesNotContain(progress, p => p.Contains("#!memprofile: loading the capture"));
        Assert.Contains("#!memprofile: reports below the cell&#39;s result, made in", progress[^1]);

        var heading = Assert.Single(cell.Outputs(NotebookRenderer.HeadingClass));
        Assert.Contains("(exact mode)", heading);
        var stats = Assert.Single(cell.Outputs(NotebookRenderer.StatsClass));
        Assert.Contains($"<td style=\"text-align:left\">System.Object</td><td style=\"text-align:right;white-space:nowrap\">{Objects:N0}</td><td style=\"text-align:right;white-space:nowrap\">{ByteUnits.Format(24L * Objects)}</td>", stats);
        Assert.Contains("Memory flame graph", System.Net.WebUtility.HtmlDecode(Assert.Single(cell.Outputs(NotebookRenderer.FlameGraphClass))));
        Assert.Single(cell.Outputs(NotebookRenderer.TimelineClass));
        // Exactly the cell's objects: 10M of 24 bytes; the loop keeps one at a time, so the rest died in GCs.
        Assert.Equal((Objects, 24L * Objects), await k.TypeTotalsAsync("memprofile.All", "System.Object"));
    }
}
