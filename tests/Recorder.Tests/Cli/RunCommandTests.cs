using MemNotebook.Recorder.Tracing;
using MemNotebook.Recorder.Launching;
using MemNotebook.Recorder.Tests.Capture;
using Xunit;

namespace MemNotebook.Recorder.Tests.Cli;

/// <summary>These tests set MEMNB_TRACER_PATH, so they share one collection and never run in parallel.</summary>
[CollectionDefinition("environment", DisableParallelization = true)]
public sealed class EnvironmentCollection;

[Collection("environment")]
public class RunCommandTests : IDisposable
{
    private readonly CliHarness cli = new();
    private readonly string? savedTracerPath = Environment.GetEnvironmentVariable(TracerLocation.PathVariable);
    private readonly string fakeTracer;

    public RunCommandTests()
    {
        // Stands in for libmemnb_tracer.so: the commands below are not .NET programs and never load it.
        fakeTracer = cli.File("libmemnb_tracer.so", [0x7F, (byte)'E', (byte)'L', (byte)'F']);
        Environment.SetEnvironmentVariable(TracerLocation.PathVariable, fakeTracer);
    }

    public void Dispose()
    {
        Environment.SetEnvironmentVariable(TracerLocation.PathVariable, savedTracerPath);
        cli.Dispose();
    }

    [Fact]
    public void Run_without_a_command_is_a_usage_error()
    {
        var result = CliHarness.Run("run", "-o", cli.PathOf("x.memnb"));
        Assert.Equal(1, result.ExitCode);
        Assert.StartsWith("memnb: no command given", result.Err);
    }

    [Fact]
    public void Run_refuses_an_existing_output_without_force_and_names_it()
    {
        var existing = cli.File("old.memnb", [1, 2, 3]);
        var result = CliHarness.Run("run", "-o", existing, "--", "sh", "-c", "exit 0");
        Assert.Equal(1, result.ExitCode);
        Assert.Equal($"memnb: output {existing} already exists (use --force to overwrite it)\n", result.Err);
        Assert.Equal(new byte[] { 1, 2, 3 }, File.ReadAllBytes(existing));
    }

    [Fact]
    public void Run_with_force_removes_the_old_capture_and_reports_that_none_was_written()
    {
        var existing = cli.File("old.memnb", [1, 2, 3]);
        var result = CliHarness.Run("run", "--force", "-o", existing, "--", "sh", "-c", "exit 0");
        Assert.Equal(0, result.ExitCode);
        Assert.False(File.Exists(existing));
        Assert.Equal($"memnb: no capture was written to {existing}: sh is not a .NET program, and no .NET program it started loaded the tracer " +
            "(memnb run traces .NET programs: memnb run -- dotnet app.dll, or an app's own executable)\n", result.Err);
    }

    [Fact]
    public void Run_into_a_missing_directory_is_an_io_error_naming_the_path()
    {
        var output = Path.Combine(cli.Root, "no", "such", "dir", "out.memnb");
        var result = CliHarness.Run("run", "-o", output, "--", "sh", "-c", "exit 0");
        Assert.Equal(3, result.ExitCode);
        Assert.Contains(output, result.Err);
        Assert.Contains("does not exist", result.Err);
    }

    [Fact]
    public void Run_into_a_path_below_a_file_is_an_io_error()
    {
        var file = cli.File("plain", [0]);
        var result = CliHarness.Run("run", "-o", Path.Combine(file, "out.memnb"), "--", "sh", "-c", "exit 0");
        Assert.Equal(3, result.ExitCode);
    }

    [Fact]
    public void Run_without_the_tracer_library_exits_four()
    {
        var missing = cli.PathOf("gone/libmemnb_tracer.so");
        Environment.SetEnvironmentVariable(TracerLocation.PathVariable, missing);
        var result = CliHarness.Run("run", "-o", cli.PathOf("x.memnb"), "--", "sh", "-c", "exit 0");
        Assert.Equal(4, result.ExitCode);
        Assert.Equal($"memnb: tracer library not found at {missing} (build native/ or set MEMNB_TRACER_PATH)\n", result.Err);
    }

    [Fact]
    public void Run_of_a_command_that_cannot_start_is_an_io_error()
    {
        var result = CliHarness.Run("run", "-o", cli.PathOf("x.memnb"), "--", cli.PathOf("no-such-program"));
        Assert.Equal(3, result.ExitCode);
        Assert.StartsWith($"memnb: cannot start {cli.PathOf("no-such-program")}", result.Err);
    }

    [Fact]
    public void Run_passes_the_profiler_environment_to_the_child_and_its_exit_code_back()
    {
        var output = cli.PathOf("out.memnb");
        var envFile = cli.PathOf("env.txt");
        var script = $"printf '%s\\n' \"$CORECLR_ENABLE_PROFILING\" \"$CORECLR_PROFILER\" \"$CORECLR_PROFILER_PATH\" \"$MEMNB_OUTPUT\" > '{envFile}'; exit 7";
        var result = CliHarness.Run("run", "-o", output, "--", "sh", "-c", script);
        Assert.Equal(7, result.ExitCode);
        Assert.Equal(new[] { "1", "{6A1B7C3E-2D4F-4E59-8A0B-9C1D2E3F4A5B}", fakeTracer, output }, File.ReadAllLines(envFile));
    }

    [Fact]
    public void Run_reports_the_capture_the_child_wrote_with_its_allocation_count()
    {
        var source = cli.File("source.memnb", StatsCapture.Create().ToArray());
        var output = cli.PathOf("out.memnb");
        var result = CliHarness.Run("run", "-o", output, "--", "sh", "-c", $"cp '{source}' \"$MEMNB_OUTPUT\"");
        Assert.Equal(0, result.ExitCode);
        Assert.Equal($"memnb: wrote {output} (7 allocations)\n", result.Err);
    }

    [Fact]
    public void Run_reports_the_allocation_count_of_an_aggregated_capture_from_its_totals()
    {
        var source = cli.File("source.memnb", Aggregated.AggregatedWorkload.Create(aggregated: true).ToArray());
        var output = cli.PathOf("out.memnb");
        var result = CliHarness.Run("run", "--aggregate", "-o", output, "--", "sh", "-c", $"cp '{source}' \"$MEMNB_OUTPUT\"");
        Assert.Equal((0, $"memnb: wrote {output} (9 allocations)\n"), (result.ExitCode, result.Err));
    }

    [Fact]
    public void Run_of_a_dotnet_command_that_never_loaded_the_tracer_says_so_without_calling_it_not_dotnet()
    {
        // A directory on PATH whose "dotnet" exits at once, as `dotnet --list-sdks` does (no runtime, no tracer).
        var bin = Path.Combine(cli.Root, "bin");
        Directory.CreateDirectory(bin);
        var dotnet = Path.Combine(bin, "dotnet");
        File.WriteAllText(dotnet, "#!/bin/sh\nexit 0\n");
        if (!OperatingSystem.IsWindows())
            File.SetUnixFileMode(dotnet, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        var output = cli.PathOf("x.memnb");
        var result = CliHarness.Run("run", "-o", output, "--", dotnet, "--list-sdks");
        Assert.Equal((0, $"memnb: warning: no capture was written to {output}: {dotnet} exited without loading the tracer " +
            "(did it start a .NET app? commands such as dotnet --info run no managed code)\n"), (result.ExitCode, result.Err));
    }

    [Fact]
    public void Run_warns_about_a_truncated_capture()
    {
        var writer = StatsCapture.Create();
        var source = cli.File("source.memnb", writer.ToArray()[..(int)(writer.Boundaries[^2] + 25)]);
        var output = cli.PathOf("out.memnb");
        var result = CliHarness.Run("run", "-o", output, "--", "sh", "-c", $"cp '{source}' \"$MEMNB_OUTPUT\"");
        Assert.Equal(0, result.ExitCode);
        Assert.StartsWith($"memnb: warning: wrote a truncated capture {output} (7 allocations; truncated chunk", result.Err);
    }

    [Fact]
    public void Run_reports_a_child_killed_by_a_signal_as_128_plus_the_signal()
    {
        var result = CliHarness.Run("run", "-o", cli.PathOf("x.memnb"), "--", "sh", "-c", "kill -KILL $$");
        Assert.Equal(137, result.ExitCode);
        Assert.StartsWith("memnb: sh was killed by signal 9 (exit code 137)\n", result.Err);
    }

    [Fact]
    public void Tracker_run_and_jupyter_install_find_the_same_tracer()
    {
        // With MEMNB_TRACER_PATH (the constructor sets it to the stand-in) and without it (the tracer of this build,
        // beside this assembly), the three find the same file.
        var tool = cli.File("dotnet-interactive", []);
        foreach (var variable in new[] { fakeTracer, null })
        {
            Environment.SetEnvironmentVariable(TracerLocation.PathVariable, variable);
            var expected = variable ?? Path.Combine(Path.GetDirectoryName(typeof(TracerLocation).Assembly.Location)!, TracerLocation.FileName);
            Assert.True(File.Exists(expected), expected);
            Assert.Equal(expected, Tracker.TracerFile);
            Assert.Equal(expected, TracedProcess.Prepare(new TracedLaunchOptions { Command = "prog", OutputPath = cli.PathOf("t.memnb") }).TracerPath);
            var kernels = cli.PathOf(variable is null ? "k-built" : "k-variable");
            var installed = CliHarness.Run("jupyter", "install", "--dotnet-interactive", tool, "--kernels-dir", kernels);
            Assert.Equal((0, ""), (installed.ExitCode, installed.Err));
            Assert.Equal(File.ReadAllBytes(expected), File.ReadAllBytes(Path.Combine(kernels, ".net-csharp-memprofile", TracerLocation.FileName)));
        }
    }

    [Fact]
    public void Run_and_jupyter_install_name_the_missing_tracer_the_same_way()
    {
        var missing = cli.PathOf("gone/libmemnb_tracer.so");
        Environment.SetEnvironmentVariable(TracerLocation.PathVariable, missing);
        var message = $"tracer library not found at {missing} (build native/ or set MEMNB_TRACER_PATH)";
        Assert.Null(Tracker.TracerFile);
        var run = CliHarness.Run("run", "-o", cli.PathOf("x.memnb"), "--", "true");
        Assert.Equal((4, $"memnb: {message}\n"), (run.ExitCode, run.Err));
        var install = CliHarness.Run("jupyter", "install", "--dotnet-interactive", cli.File("dotnet-interactive", []), "--kernels-dir", cli.PathOf("k"));
        Assert.Equal((4, $"memnb jupyter install: {message}\n"), (install.ExitCode, install.Err));
    }
}

public class TracedProcessTests
{
    [Fact]
    public void Tracer_environment_enables_the_profiler_with_absolute_paths()
    {
        var env = TracedProcess.TracerEnvironment("/opt/memnb/libmemnb_tracer.so", "/tmp/out.memnb");
        Assert.Equal(new Dictionary<string, string>
        {
            ["CORECLR_ENABLE_PROFILING"] = "1",
            ["CORECLR_PROFILER"] = "{6A1B7C3E-2D4F-4E59-8A0B-9C1D2E3F4A5B}",
            ["CORECLR_PROFILER_PATH"] = "/opt/memnb/libmemnb_tracer.so",
            ["MEMNB_OUTPUT"] = "/tmp/out.memnb",
            ["DOTNET_gcConcurrent"] = "0",
            ["DOTNET_TC_OnStackReplacement"] = "0",
            ["DOTNET_TC_QuickJitForLoops"] = "0",
        }, env);
    }

    [Fact]
    public void Default_output_is_named_after_the_program_and_pid()
    {
        Assert.Equal("memnb-myapp-42.memnb", TracedProcess.DefaultOutputFileName("/usr/bin/myapp", [], 42));
        Assert.Equal("memnb-Server-42.memnb", TracedProcess.DefaultOutputFileName("dotnet", ["bin/Server.dll", "--port"], 42));
        Assert.Equal("memnb-dotnet-42.memnb", TracedProcess.DefaultOutputFileName("dotnet", ["run"], 42));
        Assert.Equal("memnb-a_b-1.memnb", TracedProcess.DefaultOutputFileName("a b", [], 1));
    }

    [Fact]
    public void Tracer_is_looked_for_in_the_variable_alone_else_beside_the_assembly_in_the_package_and_beside_the_application()
    {
        Assert.Equal(["/x/y.so"], TracerLocation.Candidates("/x/y.so", "/pkg/lib/net10.0", "/app"));
        Assert.Equal([Path.Combine(Environment.CurrentDirectory, "rel", "y.so")], TracerLocation.Candidates("rel/y.so", "/a", "/a"));
        Assert.Equal(["/pkg/lib/net10.0/libmemnb_tracer.so", "/pkg/runtimes/linux-x64/native/libmemnb_tracer.so", "/app/libmemnb_tracer.so"],
            TracerLocation.Candidates("", "/pkg/lib/net10.0", "/app"));
        Assert.Equal(["/base/libmemnb_tracer.so", "/runtimes/linux-x64/native/libmemnb_tracer.so"], TracerLocation.Candidates(null, "/base", "/base"));
    }

    [Fact]
    public void Prepare_resolves_a_relative_output_against_the_working_directory()
    {
        var dir = Path.Combine(Path.GetTempPath(), $"memnb-prep-{Guid.NewGuid():N}");
        Directory.CreateDirectory(dir);
        try
        {
            var tracer = Path.Combine(dir, "t.so");
            File.WriteAllBytes(tracer, [0]);
            var launch = TracedProcess.Prepare(new TracedLaunchOptions
            {
                Command = "dotnet",
                Arguments = ["app.dll", "a"],
                OutputPath = "cap.memnb",
                TracerPath = tracer,
                WorkingDirectory = dir,
            });
            Assert.Equal(Path.Combine(dir, "cap.memnb"), launch.OutputPath);
            Assert.Equal(Path.Combine(dir, "cap.memnb"), launch.Environment["MEMNB_OUTPUT"]);
            var info = TracedProcess.StartInfo(launch);
            Assert.Equal(new[] { "app.dll", "a" }, info.ArgumentList);
            Assert.False(info.UseShellExecute);
            Assert.False(info.RedirectStandardOutput);
            Assert.Equal(tracer, info.Environment["CORECLR_PROFILER_PATH"]);
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    [Fact]
    public void A_dotnet_host_an_apphost_and_other_programs_are_told_apart()
    {
        var dir = Directory.CreateTempSubdirectory("memnb-kind-").FullName;
        try
        {
            Assert.Equal(ProgramKind.DotnetHost, DotnetProgram.Classify("dotnet", dir));
            Assert.Equal(ProgramKind.NotDotnet, DotnetProgram.Classify("sh", dir));
            Assert.Equal(ProgramKind.NotDotnet, DotnetProgram.Classify("/bin/ls", dir));
            Assert.Equal(ProgramKind.Unknown, DotnetProgram.Classify("./no-such-program", dir));
            // The test target's apphost, beside its dll; and a copy of it alone (as a single-file app is): its bundle marker.
            var appHost = Path.ChangeExtension(Profiler.TracedTarget.TargetPath, null);
            Assert.Equal(ProgramKind.AppHost, DotnetProgram.Classify(appHost, dir));
            var alone = Path.Combine(dir, "app");
            File.Copy(appHost, alone);
            Assert.Equal(ProgramKind.AppHost, DotnetProgram.Classify("./app", dir));
            // A shell script named like an app is not one.
            File.WriteAllText(Path.Combine(dir, "tool"), "#!/bin/sh\n");
            Assert.Equal(ProgramKind.NotDotnet, DotnetProgram.Classify(Path.Combine(dir, "tool"), dir));
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    [Fact]
    public void Signal_is_read_from_exit_codes_above_128()
    {
        Assert.Equal(9, TracedProcess.SignalOf(137));
        Assert.Equal(15, TracedProcess.SignalOf(143));
        Assert.Null(TracedProcess.SignalOf(1));
        Assert.Null(TracedProcess.SignalOf(128));
        Assert.Null(TracedProcess.SignalOf(255));
    }
}
