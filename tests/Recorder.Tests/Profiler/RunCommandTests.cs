using MemNotebook.Recorder.Analysis;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
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

    [Fact]
    public void Run_optimizes_a_method_with_a_loop_at_its_first_call_where_turning_on_stack_replacement_off_alone_leaves_it_unoptimized()
    {
        // The runtime's perf map names the tier of the code it made for the target's SumOfSquares, called once.
        var maps = Directory.CreateTempSubdirectory("memnb-perf-map-").FullName;
        try
        {
            var perfMap = new Dictionary<string, string> { ["DOTNET_PerfMapEnabled"] = "3", ["DOTNET_PerfMapJitDumpPath"] = maps };

            // On-stack replacement off alone: the method runs at tier 0, loop and all (with it on, a longer loop would
            // move to optimized code while it ran, its frame chain broken).
            var (aloneExit, alone, aloneErrors) = LoopTier([], new Dictionary<string, string>(perfMap) { ["DOTNET_TC_OnStackReplacement"] = "0" });
            Assert.True(aloneExit == 0, aloneErrors);
            Assert.Equal("""{"on_stack_replacement":"0","quick_jit_for_loops":null,"sum":328350,"loop_code":["[QuickJitted]"]}""", alone);

            // memnb run: both variables reach the program, and the method's first and only code is optimized.
            var capture = TracedTarget.TempCapture("loop-tier.memnb");
            var (runExit, run, runErrors) = LoopTier([Path.Combine(AppContext.BaseDirectory, "memnb.dll"), "run", "-o", capture, "--", "dotnet"],
                new Dictionary<string, string>(perfMap) { ["MEMNB_TRACER_PATH"] = TracedTarget.TracerPath });
            Assert.True(runExit == 0, runErrors);
            Assert.Equal("""{"on_stack_replacement":"0","quick_jit_for_loops":"0","sum":328350,"loop_code":["[Optimized]"]}""", run);
            Assert.True(CaptureStats.Compute(capture).Complete);
        }
        finally
        {
            Directory.Delete(maps, recursive: true);
        }
    }

    /// <summary>`dotnet PREFIX... TestTarget loop-tier` with <paramref name="environment"/> and none of the tiering variables of this process.</summary>
    static (int ExitCode, string Stdout, string Stderr) LoopTier(string[] prefix, Dictionary<string, string> environment)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in prefix.Concat([TracedTarget.TargetPath, "loop-tier"]))
            start.ArgumentList.Add(argument);
        foreach (var name in start.Environment.Keys.Where(k => k.StartsWith("DOTNET_TC_", StringComparison.Ordinal) || k.StartsWith("CORECLR_", StringComparison.Ordinal)
                     || k.StartsWith("MEMNB_", StringComparison.Ordinal)).ToList())
            start.Environment.Remove(name);
        foreach (var (name, value) in environment)
            start.Environment[name] = value;
        using var process = Process.Start(start)!;
        var stderr = process.StandardError.ReadToEndAsync();
        var stdout = process.StandardOutput.ReadToEnd();
        if (!process.WaitForExit(120_000))
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"dotnet {string.Join(' ', prefix)} TestTarget loop-tier did not finish in 120 s");
        }
        return (process.ExitCode, stdout.Trim(), stderr.Result);
    }

    [Fact]
    public async Task Run_live_prints_summary_lines_on_stderr_that_end_at_the_captures_totals_and_keeps_stdout_and_the_exit_code()
    {
        string capture = TracedTarget.TempCapture("live.memnb");
        // memnb in a process of its own, its stdout and stderr pipes: not a terminal, so summary lines.
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in new[] { Path.Combine(AppContext.BaseDirectory, "memnb.dll"), "run", "--live", "-o", capture, "--",
                     "dotnet", TracedTarget.TargetPath, "live-markers" })
            start.ArgumentList.Add(argument);
        start.Environment["MEMNB_TRACER_PATH"] = TracedTarget.TracerPath;
        using var memnb = Process.Start(start)!;
        var stderr = memnb.StandardError.ReadToEndAsync();
        var stdout = await memnb.StandardOutput.ReadToEndAsync().WaitAsync(TimeSpan.FromSeconds(60));
        await memnb.WaitForExitAsync();
        var errors = await stderr;

        Assert.True(memnb.ExitCode == 9, errors);
        Assert.Equal("{\"markers\":400}\n", stdout); // the program's output alone
        var lines = errors.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        var stats = CaptureStats.Compute(capture);
        Assert.True(stats.Complete && !stats.Sampled);
        var marker = stats.ByType.Single(t => t.Type == "MemNotebook.TestTarget.Marker");
        Assert.Equal((400L, 400L * 24), (marker.Count, marker.Bytes));
        Assert.Equal($"memnb: wrote {capture} ({stats.TotalAllocations.ToString("N0", CultureInfo.InvariantCulture)} allocations)", lines[^1]);

        var live = lines[..^1];
        Assert.InRange(live.Length, 2, 6); // the program runs 2.4 s and more: a line a second, and one when it exits
        var pattern = new Regex(@"^\s*\d+\.\d s  ([\d,]+) records  (\S+ \S+) allocated  RSS \S+ \S+  GCs ([\d,]+)  top function .+  top type .+$");
        var records = new List<long>();
        foreach (var line in live)
        {
            var match = pattern.Match(line);
            Assert.True(match.Success, line);
            records.Add(long.Parse(match.Groups[1].Value, NumberStyles.AllowThousands, CultureInfo.InvariantCulture));
        }
        Assert.Equal(records.Order(), records); // the capture only grows
        Assert.True(records[0] < records[^1], string.Join("\n", live));
        // The last line is read after the program exited: the whole capture.
        var last = pattern.Match(live[^1]);
        Assert.Equal(stats.TotalAllocations, records[^1]);
        Assert.Equal(ByteUnits.Format(stats.TotalBytes), last.Groups[2].Value);
        Assert.Equal(stats.GcCount.ToString("N0", CultureInfo.InvariantCulture), last.Groups[3].Value);
    }
}
