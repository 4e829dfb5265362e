using System.Diagnostics;
using MemNotebook.Cli;
using MemNotebook.Recorder.Analysis;
using MemNotebook.Recorder.Attaching;
using MemNotebook.Recorder.Launching;
using Xunit;
using Xunit.Abstractions;

namespace MemNotebook.Recorder.Tests.Cli;

/// <summary>memnb attach and memnb ps against tests/TestTarget's attach-target, a process started without the tracer.</summary>
public sealed class AttachCommandTests(ITestOutputHelper log)
{
    private const long SmallBytes = 64; // byte[40]: header, method table, length, 40 bytes
    private const long LargeBytes = 100_024; // byte[100_000]

    /// <summary>
    /// memnb attach in-process on another thread; <see cref="WaitForRecording"/> returns once it printed that it records
    /// (the tracer has turned the sampling on: the capture file exists a little earlier).
    /// </summary>
    private sealed class AttachRun
    {
        private readonly SharedWriter output = new(), error = new();
        private readonly Task<int> run;

        public AttachRun(params string[] args) => run = Task.Run(() => MemnbCommandLine.Run(args, output, error));

        public void WaitForRecording()
        {
            var watch = Stopwatch.StartNew();
            while (!error.Text.Contains("memnb: recording process", StringComparison.Ordinal))
            {
                Assert.True(!run.IsCompleted, $"memnb attach ended: {error.Text}");
                Assert.True(watch.Elapsed < TimeSpan.FromSeconds(20), "the recording did not start");
                Thread.Sleep(20);
            }
        }

        public async Task<CliResult> Result(TimeSpan? timeout = null)
        {
            var code = await run.WaitAsync(timeout ?? TimeSpan.FromSeconds(30));
            return new CliResult(code, output.Text, error.Text);
        }
    }

    /// <summary>A writer one thread writes and another reads.</summary>
    private sealed class SharedWriter : TextWriter
    {
        private readonly System.Text.StringBuilder text = new();
        public override System.Text.Encoding Encoding => System.Text.Encoding.UTF8;
        public SharedWriter() => NewLine = "\n";
        public string Text { get { lock (text) return text.ToString(); } }
        public override void Write(char value) { lock (text) text.Append(value); }
        public override void Write(string? value) { lock (text) text.Append(value); }
    }

    [Fact]
    public void A_known_workload_is_estimated_within_five_percent_and_the_target_runs_as_before_after_detach()
    {
        using var target = new AttachTargetProcess();
        using var cli = new CliHarness();
        var before = target.TimeAllocations(5_000_000);
        using var session = AttachSession.Start(new AttachOptions { ProcessId = target.Id, OutputPath = cli.PathOf("known.memnb") });
        Assert.Equal("recording", session.State);
        Assert.True(target.TracerMapped);
        // 16,000,000 byte[40] (1,024,000,000 bytes): ~10,000 samples; standard deviation of the estimate
        // sqrt(N / p) ≈ 10.2 MB (1.0%), so ±5% is five of them.
        Assert.Equal("done 16000000", target.Send("alloc 16000000"));
        var during = target.TimeAllocations(5_000_000);
        var result = session.Stop();
        Assert.Equal(DetachOutcome.Detached, result.Outcome);
        Assert.True(result.Capture.CaptureComplete);
        Assert.False(target.TracerMapped);
        var after = target.TimeAllocations(5_000_000);

        var capture = MemNotebook.Capture.Load(cli.PathOf("known.memnb"));
        Assert.True(capture.IsSampled);
        var stacks = capture.Columns.StackId.ToArray();
        var small = capture.All.Where(r => capture.Columns.OwnFunction(stacks[r]) == "MemNotebook.TestTarget.AttachTarget.AllocateSmall", "AllocateSmall");
        // The timing rounds inside the recording allocated 5,000,000 more.
        const long truth = (16_000_000L + 5_000_000L) * SmallBytes;
        var estimate = small.EstimatedBytes;
        Assert.InRange(estimate, (long)(truth * 0.95), (long)(truth * 1.05));
        log.WriteLine($"attach {session.StartTime.TotalMilliseconds:N0} ms; estimate {estimate:N0} of {truth:N0} bytes ({(estimate - truth) * 100.0 / truth:+0.00;-0.00}%), " +
            $"{small.Count:N0} samples; ns per allocation before {before:F2}, during {during:F2}, after detach {after:F2}");
        target.Exit();
    }

    [Fact]
    public async Task Attach_records_large_objects_exactly_detaches_and_a_second_attach_works()
    {
        using var target = new AttachTargetProcess();
        using var cli = new CliHarness();
        for (var round = 1; round <= 2; round++)
        {
            var path = cli.PathOf($"large{round}.memnb");
            var run = new AttachRun("attach", target.Id.ToString(), "-o", path, "--duration", "3s");
            run.WaitForRecording();
            Assert.Equal($"done {10 * round}", target.Send($"large {10 * round}"));
            var result = await run.Result();
            Assert.True(result.ExitCode == 0, result.Err);
            var lines = result.Err.Split('\n', StringSplitOptions.RemoveEmptyEntries);
            Assert.Equal(3, lines.Length);
            Assert.StartsWith($"memnb: recording process {target.Id} (dotnet) into {path} (attached in ", lines[0]);
            Assert.EndsWith("for 3 s, Ctrl-C stops)", lines[0]);
            Assert.Equal($"memnb: detached from process {target.Id}: hooks removed and the tracer unloaded", lines[1]);
            Assert.StartsWith($"memnb: wrote {path} (", lines[2]);
            Assert.Contains("managed bytes and counts are estimates", lines[2]);
            Assert.False(target.TracerMapped);

            var stats = CaptureStats.Compute(path);
            Assert.True(stats.Sampled && stats.Complete);
            Assert.Equal(10 * round, stats.ExactLargeObjects);
            Assert.Equal(10 * round * LargeBytes, stats.ExactLargeBytes);
        }
        target.Exit();
    }

    [Fact]
    public void Gcs_while_attached_are_counted_with_their_kind()
    {
        using var target = new AttachTargetProcess();
        using var cli = new CliHarness();
        var path = cli.PathOf("gcs.memnb");
        using var session = AttachSession.Start(new AttachOptions { ProcessId = target.Id, OutputPath = path });
        Assert.Equal("collected 4", target.Send("gc 4"));
        var result = session.Stop();
        Assert.Equal(DetachOutcome.Detached, result.Outcome);

        var stats = CaptureStats.Compute(path);
        Assert.True(stats.Sampled && stats.Complete);
        Assert.Equal(4, stats.GcCount);
        var gcs = Recorder.Format.CaptureData.Load(path).GcEvents;
        Assert.Equal([1L, 2L, 3L, 4L], gcs.Select(g => g.GcIndex));
        // GC.Collect(): induced, every generation and the LOH and POH (bits 0-4), each with a start and an end.
        Assert.All(gcs, g =>
        {
            Assert.True(g.IsInduced);
            Assert.Equal(0x1F, g.Generations);
            Assert.NotNull(g.StartNs);
            Assert.NotNull(g.EndNs);
        });
        Assert.Equal("4", LiveView.Gcs(stats));
        target.Exit();
    }

    [Fact]
    public void A_tracer_the_runtime_keeps_loaded_stays_idle_and_the_next_attach_reuses_it()
    {
        // The hook takes the path of a runtime that refuses RequestProfilerDetach.
        using var target = new AttachTargetProcess(environment: new Dictionary<string, string> { ["MEMNB_ATTACH_KEEP_LOADED"] = "1" });
        using var cli = new CliHarness();
        for (var round = 1; round <= 3; round++)
        {
            var path = cli.PathOf($"reuse{round}.memnb");
            using var session = AttachSession.Start(new AttachOptions { ProcessId = target.Id, OutputPath = path });
            Assert.Equal(round > 1, session.Reused);
            Assert.Equal("recording", session.State);
            // While it records, the tracer listens nowhere: a further attach is refused and changes nothing.
            var refused = CliHarness.Run("attach", target.Id.ToString(), "-o", cli.PathOf($"refused{round}.memnb"));
            Assert.Equal((int)ExitCode.AttachFailed, refused.ExitCode);
            Assert.Equal($"memnb: process {target.Id} (dotnet) has memnb's tracer loaded already ({AttachSession.MappedTracer(target.Id)}): " +
                "it is being recorded, or was started with the tracer (memnb run, the tracer kernel)\n", refused.Err);
            Assert.False(File.Exists(cli.PathOf($"refused{round}.memnb")));
            Assert.Equal($"done {round}", target.Send($"large {round}"));
            var result = session.Stop();
            Assert.Equal(DetachOutcome.Idle, result.Outcome);
            Assert.Equal("kept loaded by MEMNB_ATTACH_KEEP_LOADED=1; a later memnb attach reuses it", result.Detail);
            Assert.True(target.TracerMapped);
            var stats = CaptureStats.Compute(path);
            Assert.True(stats.Sampled && stats.Complete);
            Assert.Equal(round, stats.ExactLargeObjects);
            Assert.Equal(round * LargeBytes, stats.ExactLargeBytes);
        }
        Assert.Equal("done 1", target.Send("alloc 1"));
        target.Exit();
    }

    [Fact]
    public void A_request_goes_to_no_socket_another_process_holds_under_the_idle_name()
    {
        using var target = new AttachTargetProcess(withTracer: true);
        // Another process (this one) holds the name an idle tracer in the target would listen on.
        using var squatter = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.Unix, System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Unspecified);
        squatter.Bind(new System.Net.Sockets.UnixDomainSocketEndPoint($"\0memnb-idle-{target.Id}"));
        squatter.Listen(1);
        var path = Path.Combine(Path.GetTempPath(), $"never-{Guid.NewGuid():N}.memnb");
        var result = CliHarness.Run("attach", target.Id.ToString(), "-o", path);
        Assert.Equal((int)ExitCode.AttachFailed, result.ExitCode);
        Assert.Equal($"memnb: the socket memnb-idle-{target.Id} is held by another process than {target.Id} (dotnet) or by another user; nothing was sent\n", result.Err);
        using var accepted = squatter.Accept();
        var buffer = new byte[64];
        Assert.Equal(0, accepted.Receive(buffer)); // closed without a byte
        Assert.False(File.Exists(path));
        Assert.Equal("done 1", target.Send("alloc 1"));
        target.Exit();
    }

    [Fact]
    public async Task The_cli_says_it_reused_an_idle_tracer()
    {
        using var target = new AttachTargetProcess(environment: new Dictionary<string, string> { ["MEMNB_ATTACH_KEEP_LOADED"] = "1" });
        using var cli = new CliHarness();
        for (var round = 1; round <= 2; round++)
        {
            var path = cli.PathOf($"cli{round}.memnb");
            var run = new AttachRun("attach", target.Id.ToString(), "-o", path, "--duration", "1s");
            run.WaitForRecording();
            var result = await run.Result();
            Assert.True(result.ExitCode == 0, result.Err);
            var lines = result.Err.Split('\n', StringSplitOptions.RemoveEmptyEntries);
            Assert.StartsWith($"memnb: recording process {target.Id} (dotnet) into {path} ({(round == 1 ? "attached" : "its idle tracer reused")} in ", lines[0]);
            Assert.Equal($"memnb: stopped recording process {target.Id} (hooks removed); the tracer stays loaded there, idle: " +
                "kept loaded by MEMNB_ATTACH_KEEP_LOADED=1; a later memnb attach reuses it", lines[1]);
            Assert.True(target.TracerMapped);
        }
        target.Exit();
    }

    [Fact]
    public async Task A_target_that_exits_while_recording_leaves_a_readable_capture()
    {
        using var target = new AttachTargetProcess();
        using var cli = new CliHarness();
        var path = cli.PathOf("exits.memnb");
        var run = new AttachRun("attach", target.Id.ToString(), "-o", path);
        run.WaitForRecording();
        Assert.Equal("done 7", target.Send("large 7"));
        target.Exit();
        var result = await run.Result(TimeSpan.FromSeconds(20));
        Assert.True(result.ExitCode == 0, result.Err);
        Assert.Contains($"memnb: process {target.Id} exited while recording; the capture holds what it wrote until then\n", result.Err);
        var stats = CaptureStats.Compute(path);
        Assert.Equal(7, stats.ExactLargeObjects);
        Assert.Equal(7 * LargeBytes, stats.ExactLargeBytes);
    }

    [Fact]
    public void A_process_id_that_does_not_exist_is_one_clear_error()
    {
        var result = CliHarness.Run("attach", "2147483647");
        Assert.Equal((int)ExitCode.AttachFailed, result.ExitCode);
        Assert.Equal("memnb: no process has id 2147483647\n", result.Err);
    }

    [Fact]
    public void A_process_that_is_not_dotnet_is_one_clear_error()
    {
        using var sleep = Process.Start("sleep", "30");
        try
        {
            var result = CliHarness.Run("attach", sleep.Id.ToString());
            Assert.Equal((int)ExitCode.AttachFailed, result.ExitCode);
            Assert.Equal($"memnb: process {sleep.Id} (sleep) is not a .NET process (it has no diagnostics port; " +
                "a .NET process started with DOTNET_EnableDiagnostics=0 has none either)\n", result.Err);
            Assert.False(sleep.HasExited);
        }
        finally
        {
            sleep.Kill();
        }
    }

    [Fact]
    public void A_process_with_the_tracer_loaded_already_is_refused_and_left_alone()
    {
        using var target = new AttachTargetProcess(withTracer: true);
        var result = CliHarness.Run("attach", target.Id.ToString(), "-o", Path.Combine(Path.GetTempPath(), $"never-{Guid.NewGuid():N}.memnb"));
        Assert.Equal((int)ExitCode.AttachFailed, result.ExitCode);
        Assert.StartsWith($"memnb: process {target.Id} (dotnet) has memnb's tracer loaded already (", result.Err);
        Assert.Single(result.Err.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Equal("done 1", target.Send("alloc 1"));
        target.Exit();
    }

    [Theory]
    [InlineData(new[] { "attach", "abc" }, "memnb attach: PID must be a process id (a whole number above 0), not 'abc'")]
    [InlineData(new[] { "attach", "0" }, "memnb attach: PID must be a process id (a whole number above 0), not '0'")]
    [InlineData(new[] { "attach", "1", "--duration", "5x" }, "memnb attach: --duration takes a time such as 30s, 2m, 500ms or 1h, not '5x'")]
    [InlineData(new[] { "attach", "1", "--bogus" }, "memnb attach: unknown option '--bogus'")]
    public void Bad_arguments_are_one_usage_error(string[] args, string message)
    {
        var result = CliHarness.Run(args);
        Assert.Equal((int)ExitCode.Usage, result.ExitCode);
        Assert.Equal(message, result.Err.Split('\n')[0]);
    }

    [Theory]
    [InlineData("30s", 30_000)]
    [InlineData("500ms", 500)]
    [InlineData("2m", 120_000)]
    [InlineData("1h", 3_600_000)]
    [InlineData("1.5", 1_500)]
    public void Durations_are_read_with_their_unit(string text, double milliseconds) =>
        Assert.Equal(milliseconds, AttachCommand.ParseDuration(text)!.Value.TotalMilliseconds);

    [Fact]
    public void Ps_lists_the_target_with_its_name_and_command_line()
    {
        using var target = new AttachTargetProcess();
        var result = CliHarness.Run("ps");
        Assert.Equal(0, result.ExitCode);
        var line = Assert.Single(result.Out.Split('\n'), l => l.TrimStart().StartsWith($"{target.Id} ", StringComparison.Ordinal));
        Assert.Matches($@"^\s*{target.Id}  dotnet\s+dotnet .*MemNotebook\.TestTarget\.dll attach-target$", line);
        Assert.DoesNotContain(result.Out.Split('\n'), l => l.TrimStart().StartsWith($"{Environment.ProcessId} ", StringComparison.Ordinal));
        target.Exit();
    }

    [Fact]
    public async Task Live_output_that_is_not_a_terminal_is_one_summary_line_a_second()
    {
        using var target = new AttachTargetProcess();
        using var cli = new CliHarness();
        var path = cli.PathOf("live.memnb");
        var run = new AttachRun("attach", target.Id.ToString(), "-o", path, "--duration", "2.5s", "--live");
        run.WaitForRecording();
        Assert.Equal("done 5", target.Send("large 5"));
        Assert.Equal("collected 3", target.Send("gc 3"));
        var result = await run.Result();
        Assert.True(result.ExitCode == 0, result.Err);
        var lines = result.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.InRange(lines.Length, 2, 3);
        Assert.All(lines, l => Assert.Matches(@"^\s*\d+\.\d s  [\d,]+ records  ~\S+ \S+ allocated \(estimate\)  RSS \S+ \S+  GCs \d  top function .+  top type .+$", l));
        // The last line (2 s or later) holds the five LOH objects and the three GCs, made right after the start.
        Assert.Contains("GCs 3  top function MemNotebook.TestTarget.AttachTarget.AllocateLarge  top type System.Byte[]", lines[^1]);
        target.Exit();
    }
}

public sealed class AttachSignalTests
{
    [Fact]
    public async Task Native_allocations_are_recorded_beside_the_samples_and_ctrl_c_stops_and_detaches()
    {
        using var target = new AttachTargetProcess();
        using var cli = new CliHarness();
        var path = cli.PathOf("native.memnb");
        // memnb in a process of its own, so that SIGINT reaches it alone (the target is never signalled).
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        psi.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "memnb.dll"));
        foreach (var a in new[] { "attach", target.Id.ToString(), "--native", "-o", path })
            psi.ArgumentList.Add(a);
        using var memnb = Process.Start(psi)!;
        // The line comes once the tracer has turned the sampling on.
        Assert.StartsWith($"memnb: recording process {target.Id} (dotnet) into {path}",
            await memnb.StandardError.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(20)));
        Assert.Equal("done 2000000", target.Send("alloc 2000000"));
        Assert.Equal("done 3", target.Send("large 3"));
        Assert.Equal(0, kill(memnb.Id, 2));
        var rest = await memnb.StandardError.ReadToEndAsync().WaitAsync(TimeSpan.FromSeconds(20));
        await memnb.WaitForExitAsync();
        Assert.Equal(0, memnb.ExitCode);
        var lines = rest.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal($"memnb: interrupted: stopping the recording; process {target.Id} keeps running", lines[0]);
        Assert.Equal($"memnb: detached from process {target.Id}: hooks removed and the tracer unloaded", lines[1]);
        Assert.False(target.HasExited);
        Assert.False(target.TracerMapped);
        Assert.Equal("done 1", target.Send("alloc 1"));

        var stats = CaptureStats.Compute(path);
        Assert.True(stats.Sampled && stats.Native && stats.Complete);
        Assert.Equal(3, stats.ExactLargeObjects);
        Assert.Contains(stats.TopFunctions, f => f.Function == "MemNotebook.TestTarget.AttachTarget.AllocateSmall" && f.Count > 100);
        Assert.Contains(stats.ByAllocator, a => a.Allocator == "malloc" && a.Count > 0);
        target.Exit();
    }

    [System.Runtime.InteropServices.DllImport("libc", SetLastError = true)]
    private static extern int kill(int pid, int signal);
}
