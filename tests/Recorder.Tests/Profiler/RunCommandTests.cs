using MemNotebook.Recorder.Analysis;
using System.Text.Json;
using MemNotebook.Recorder.Tests.Cli;
using Xunit;

namespace MemNotebook.Recorder.Tests.Profiler;

// `memnb run` end to end, with the real tracer and the test target.
public class RunCommandTests
{
    static CliResult Memnb(params string[] args) => CliHarness.Run(args);

    [Fact]
    public void Run_then_stats_json_gives_exact_counts_for_a_small_program()
    {
        string capture = TracedTarget.TempCapture("whole.memnb");
        Environment.SetEnvironmentVariable("MEMNB_TRACER_PATH", TracedTarget.TracerPath);
        var run = Memnb("run", "-o", capture, "--", "dotnet", TracedTarget.TargetPath, "whole-process");
        Assert.True(run.ExitCode == 0, run.Err);
        var stats = Memnb("stats", "--json", capture);
        Assert.Equal(0, stats.ExitCode);
        using var json = JsonDocument.Parse(stats.Out);
        var marker = json.RootElement.GetProperty("by_type").EnumerateArray()
            .Single(t => t.GetProperty("type").GetString() == "MemNotebook.TestTarget.Marker");
        Assert.Equal(250, marker.GetProperty("count").GetInt64());
        Assert.Equal(250 * 24, marker.GetProperty("bytes").GetInt64());
        Assert.True(json.RootElement.GetProperty("complete").GetBoolean());
        var top = json.RootElement.GetProperty("top_functions").EnumerateArray()
            .Single(f => f.GetProperty("function").GetString() == "MemNotebook.TestTarget.Scenarios.WholeProcess");
        Assert.True(top.GetProperty("count").GetInt64() >= 250);
    }

    [Fact]
    public void Run_passes_the_program_exit_code_through_and_keeps_the_capture()
    {
        string capture = TracedTarget.TempCapture("exit.memnb");
        Environment.SetEnvironmentVariable("MEMNB_TRACER_PATH", TracedTarget.TracerPath);
        var run = Memnb("run", "-o", capture, "--", "dotnet", TracedTarget.TargetPath, "exit-code");
        Assert.Equal(7, run.ExitCode);
        Assert.True(CaptureStats.Compute(capture).Complete);
    }

    [Fact]
    public void Run_refuses_an_existing_capture_without_force_and_replaces_it_with_force()
    {
        string capture = TracedTarget.TempCapture("existing.memnb");
        File.WriteAllText(capture, "old");
        Environment.SetEnvironmentVariable("MEMNB_TRACER_PATH", TracedTarget.TracerPath);
        var refused = Memnb("run", "-o", capture, "--", "dotnet", TracedTarget.TargetPath, "whole-process");
        Assert.Equal(1, refused.ExitCode);
        Assert.Contains(capture, refused.Err);
        Assert.Equal("old", File.ReadAllText(capture));
        var forced = Memnb("run", "--force", "-o", capture, "--", "dotnet", TracedTarget.TargetPath, "whole-process");
        Assert.True(forced.ExitCode == 0, forced.Err);
        Assert.True(CaptureStats.Compute(capture).TotalAllocations > 250);
    }
}
