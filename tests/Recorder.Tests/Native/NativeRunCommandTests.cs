using System.Text.Json;
using MemNotebook.Recorder.Tests.Profiler;
using MemNotebook.Cli;
using MemNotebook.Recorder.Tests.Cli;
using Xunit;

namespace MemNotebook.Recorder.Tests.Native;

// `memnb run --native` end to end: MEMNB_NATIVE=1 makes the tracer hook native allocations from
// the start of the process.
public class NativeRunCommandTests
{
    static CliResult Memnb(params string[] args) => CliHarness.Run(args);

    [Fact]
    public void Run_native_records_c_allocations_of_the_whole_process_and_stats_name_the_c_function()
    {
        string capture = TracedTarget.TempCapture("whole-native.memnb");
        Environment.SetEnvironmentVariable("MEMNB_TRACER_PATH", TracedTarget.TracerPath);
        Environment.SetEnvironmentVariable("MEMNB_TESTNATIVE_PATH", NativeTarget.LibraryPath);
        var run = Memnb("run", "--native", "-o", capture, "--", "dotnet", TracedTarget.TargetPath, "native-whole-process");
        Assert.True(run.ExitCode == 0, run.Err);
        var stats = Memnb("stats", "--json", capture);
        Assert.Equal(0, stats.ExitCode);
        using var json = JsonDocument.Parse(stats.Out);
        var allocators = json.RootElement.GetProperty("by_allocator").EnumerateArray()
            .ToDictionary(a => a.GetProperty("allocator").GetString()!, a => a.GetProperty("count").GetInt64());
        Assert.True(allocators["managed"] > 0);
        Assert.True(allocators["malloc"] >= 25);
        var leak = json.RootElement.GetProperty("top_functions").EnumerateArray()
            .Single(f => f.GetProperty("function").GetString() == "memnb_test_leak");
        Assert.Equal(25, leak.GetProperty("count").GetInt64());
        Assert.Equal(25 * 333, leak.GetProperty("bytes").GetInt64());
    }

    [Fact]
    public void Run_refuses_native_with_aggregate()
    {
        Environment.SetEnvironmentVariable("MEMNB_TRACER_PATH", TracedTarget.TracerPath);
        var run = Memnb("run", "--native", "--aggregate", "-o", TracedTarget.TempCapture("x.memnb"), "--", "dotnet", TracedTarget.TargetPath, "status");
        Assert.Equal((int)ExitCode.Usage, run.ExitCode);
        Assert.Contains("--native or --aggregate", run.Err);
    }
}
