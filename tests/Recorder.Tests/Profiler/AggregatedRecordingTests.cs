using System.Text.Json;
using MemNotebook.Cli;
using MemNotebook.Recorder.Analysis;
using Xunit;

namespace MemNotebook.Recorder.Tests.Profiler;

// Aggregated recording keeps totals instead of records: the numbers must equal those of
// a full capture of the same program.
public class AggregatedRecordingTests
{
    [Fact]
    public void An_aggregated_region_gives_the_same_types_peak_and_leaks_as_a_full_one()
    {
        string full = TracedTarget.TempCapture("full.memnb");
        string aggregated = TracedTarget.TempCapture("aggregated.memnb");
        var fullRun = TracedTarget.Start("bytes", full);
        Assert.True(fullRun.ExitCode == 0, fullRun.Stderr);
        var aggregatedRun = TracedTarget.Start("bytes", aggregated, arguments: ["aggregate"]);
        Assert.True(aggregatedRun.ExitCode == 0, aggregatedRun.Stderr);

        var a = CaptureStats.Compute(full);
        var b = CaptureStats.Compute(aggregated);
        Assert.True(b.Complete);
        Assert.True(new FileInfo(aggregated).Length < new FileInfo(full).Length);
        var bytesA = a.ByType.Single(t => t.Type == "System.Byte[]");
        var bytesB = b.ByType.Single(t => t.Type == "System.Byte[]");
        Assert.Equal(1000, bytesB.Count);
        Assert.Equal(bytesA, bytesB);
        Assert.Equal(a.PeakBytes, b.PeakBytes);
        Assert.Equal(a.TotalAllocations, b.TotalAllocations);
        Assert.Equal(a.LeakedBytes, b.LeakedBytes);
        Assert.Equal(a.TopFunctions.Single(f => f.Function == "MemNotebook.TestTarget.Scenarios.FillBytes"),
            b.TopFunctions.Single(f => f.Function == "MemNotebook.TestTarget.Scenarios.FillBytes"));
    }

    [Fact]
    public void Memnb_run_aggregate_records_a_whole_program_as_totals()
    {
        string capture = TracedTarget.TempCapture("whole-aggregated.memnb");
        Environment.SetEnvironmentVariable("MEMNB_TRACER_PATH", TracedTarget.TracerPath);
        var output = new StringWriter();
        var error = new StringWriter();
        int code = MemnbCommandLine.Run(["run", "--aggregate", "-o", capture, "--", "dotnet", TracedTarget.TargetPath, "whole-process"], output, error);
        Assert.True(code == 0, error.ToString());
        var json = new StringWriter();
        Assert.Equal(0, MemnbCommandLine.Run(["stats", "--json", capture], json, error));
        using var doc = JsonDocument.Parse(json.ToString());
        Assert.True(doc.RootElement.GetProperty("aggregated").GetBoolean());
        var marker = doc.RootElement.GetProperty("by_type").EnumerateArray()
            .Single(t => t.GetProperty("type").GetString() == "MemNotebook.TestTarget.Marker");
        Assert.Equal(250, marker.GetProperty("count").GetInt64());
        Assert.Equal(250 * 24, marker.GetProperty("bytes").GetInt64());
        Assert.Equal(250, marker.GetProperty("leaked_count").GetInt64());
    }
}
