using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using MemNotebook.Recorder.Format;
using MemNotebook.Recorder.Launching;

namespace MemNotebook.Bench;

internal enum Mode
{
    /// <summary>The program with the runtime's defaults and no added variables: what users compare against.</summary>
    Plain,
    /// <summary>Untraced, with the runtime settings `memnb run` adds (blocking GCs, no on-stack replacement, loops optimized at their first call).</summary>
    PlainVars,
    /// <summary>The tracer loaded as profiler, as `memnb run` starts it, not recording.</summary>
    Loaded,
    /// <summary>
    /// Recording with the event masks of a recording but callbacks that return at once (MEMNB_FLOOR=1): what the
    /// runtime alone costs a recording (its slow allocation path, its dispatch of each callback, its GC monitoring).
    /// </summary>
    Floor,
    /// <summary>Loaded and recording the timed part to a capture file on disk.</summary>
    Traced,
    /// <summary>Traced with native tracking (--native).</summary>
    TracedNative,
    /// <summary>
    /// The whole process recorded from its start, as `memnb run` records it (MEMNB_OUTPUT): survivors from MONITOR_GC's
    /// callbacks until the startup switch moves them to the survivor events (docs/architecture.md, "Masks").
    /// </summary>
    Run,
    /// <summary>The C program of the native loop, plainly.</summary>
    CProgram,
    /// <summary>The C program under heaptrack.</summary>
    Heaptrack,
}

internal static class ModeNames
{
    public static string Label(this Mode mode) => mode switch
    {
        Mode.Plain => "plain",
        Mode.PlainVars => "plain+vars",
        Mode.Loaded => "loaded",
        Mode.Floor => "floor",
        Mode.Traced => "traced",
        Mode.TracedNative => "traced-native",
        Mode.Run => "memnb run",
        Mode.CProgram => "C program",
        Mode.Heaptrack => "C heaptrack",
        _ => mode.ToString(),
    };

    public static bool Records(this Mode mode) => mode is Mode.Traced or Mode.TracedNative or Mode.Run;

    /// <summary>Starts a recording in the child (the floor records nothing, but with a recording's masks).</summary>
    public static bool StartsRecording(this Mode mode) => mode is Mode.Traced or Mode.TracedNative or Mode.Floor;
}

/// <summary>One run: loop time, and for traced runs what the capture holds.</summary>
/// <param name="Dropped">END's dropped count, null when the capture has no END.</param>
internal sealed record RunResult(double LoopMs, double StopMs, ulong Records, long CaptureBytes, long? Dropped, ulong[]? Counters,
    double ThreadCpuMs = 0, double ProcessCpuMs = 0);

/// <summary>All runs of one workload: per mode, one result per round of the rotation, plus the timing run.</summary>
internal sealed class WorkloadResults(Workload workload, string description)
{
    public Workload Workload { get; } = workload;
    public string Description { get; } = description;
    public Dictionary<Mode, List<RunResult>> Runs { get; } = new();
    public RunResult? Timing { get; set; }

    public bool Has(Mode mode) => Runs.ContainsKey(mode);

    public double MedianLoopMs(Mode mode) => Median(Runs[mode].Select(r => r.LoopMs));

    /// <summary>The median of per-round ratios: the two runs of a round ran next to each other, under the same load.</summary>
    public double? Ratio(Mode numerator, Mode denominator) => Ratio(numerator, denominator, r => r.LoopMs);

    /// <summary>The same of another measure (the allocating thread's or the process's CPU time).</summary>
    public double? Ratio(Mode numerator, Mode denominator, Func<RunResult, double> measure) =>
        Has(numerator) && Has(denominator) && Runs[denominator].All(r => measure(r) > 0)
            ? Median(Runs[numerator].Zip(Runs[denominator], (a, b) => measure(a) / measure(b)))
            : null;

    static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[sorted.Count / 2 - 1] + sorted[sorted.Count / 2]) / 2;
    }
}

/// <summary>Starts each run in a fresh process with the mode's environment, rounds alternating the modes.</summary>
internal sealed class Runner(string tracer, BenchSizes sizes, int repeats)
{
    readonly string scratch = Path.Combine(Path.GetTempPath(), $"memnb-bench-{Environment.ProcessId}");

    public WorkloadResults Run(Workload workload)
    {
        var results = new WorkloadResults(workload, workload.Describe(sizes));
        foreach (var mode in workload.Modes) results.Runs[mode] = new();
        for (int round = 0; round < repeats; round++)
        {
            // Progress on stderr, one line a round: a full-size invocation takes a while.
            Console.Error.Write($"  {workload.Name} round {round + 1}/{repeats}, loop ms:");
            foreach (var mode in workload.Modes)
            {
                var run = RunOnce(workload, mode, timing: false);
                results.Runs[mode].Add(run);
                Console.Error.Write($" {mode.Label()} {run.LoopMs:F0}");
            }
            Console.Error.WriteLine();
        }
        // Timing perturbs what it measures: the breakdown gets a run of its own, and only when the
        // tracer has the counters at all.
        if (results.Runs[workload.TimingMode][0].Counters is not null)
            results.Timing = RunOnce(workload, workload.TimingMode, timing: true);
        return results;
    }

    RunResult RunOnce(Workload workload, Mode mode, bool timing) => mode switch
    {
        Mode.CProgram => RunProgram(heaptrack: false),
        Mode.Heaptrack => RunProgram(heaptrack: true),
        _ => RunChild(workload, mode, timing),
    };

    RunResult RunChild(Workload workload, Mode mode, bool timing)
    {
        string capture = scratch + ".memnb";
        var psi = new ProcessStartInfo(Environment.ProcessPath!) { RedirectStandardOutput = true, UseShellExecute = false };
        if (Path.GetFileNameWithoutExtension(Environment.ProcessPath!) == "dotnet") psi.ArgumentList.Add(typeof(Program).Assembly.Location);
        foreach (var argument in Child.Arguments(workload, mode, sizes, capture)) psi.ArgumentList.Add(argument);
        // The memnb run variables come from TracedProcess itself, so the bench follows what memnb run sets.
        // Plain removes them in case this process was started with any.
        var profiler = TracedProcess.ProfilerEnvironment(tracer);
        foreach (var (name, value) in profiler)
        {
            bool profilerVariable = name.StartsWith("CORECLR_", StringComparison.Ordinal);
            if (mode == Mode.Plain || (mode == Mode.PlainVars && profilerVariable)) psi.Environment.Remove(name);
            else psi.Environment[name] = value;
        }
        if (timing) psi.Environment["MEMNB_TIMING"] = "1";
        else psi.Environment.Remove("MEMNB_TIMING");
        if (mode == Mode.Floor) psi.Environment["MEMNB_FLOOR"] = "1";
        else psi.Environment.Remove("MEMNB_FLOOR");
        if (mode == Mode.Run) psi.Environment[TracedProcess.OutputVariable] = capture;
        else psi.Environment.Remove(TracedProcess.OutputVariable);

        using var child = Process.Start(psi)!;
        string output = child.StandardOutput.ReadToEnd();
        child.WaitForExit();
        if (child.ExitCode != 0) throw new InvalidOperationException($"{workload.Name}/{mode.Label()} exited with {child.ExitCode}: {output}");
        var result = JsonSerializer.Deserialize<ChildResult>(output.Trim().Split('\n')[^1])!;
        long bytes = 0;
        long? dropped = null;
        if (mode.Records())
        {
            bytes = new FileInfo(capture).Length;
            dropped = CaptureReader.Read(capture, new NoVisitor()).End?.Dropped;
        }
        if (mode.Records() || mode.StartsRecording()) File.Delete(capture);
        return new RunResult(result.LoopMs, result.StopMs, result.Records, bytes, dropped, result.Counters, result.LoopThreadCpuMs, result.LoopProcessCpuMs);
    }

    /// <summary>Reads a capture for its END record only (what `memnb stats` reports as dropped).</summary>
    sealed class NoVisitor : CaptureVisitor;

    RunResult RunProgram(bool heaptrack)
    {
        string program = NativeWorkload.Program;
        long pairs = sizes.Scaled(sizes.NativePairs);
        var psi = new ProcessStartInfo(heaptrack ? "heaptrack" : program) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        string output = scratch + "-heaptrack";
        if (heaptrack)
        {
            psi.ArgumentList.Add("--output");
            psi.ArgumentList.Add(output);
            psi.ArgumentList.Add(program);
        }
        psi.ArgumentList.Add(pairs.ToString(CultureInfo.InvariantCulture));
        using var child = Process.Start(psi)!;
        var stderr = child.StandardError.ReadToEndAsync();
        string stdout = child.StandardOutput.ReadToEnd();
        child.WaitForExit();
        foreach (var file in Directory.GetFiles(Path.GetTempPath(), Path.GetFileName(output) + "*"))
            File.Delete(file);
        if (child.ExitCode != 0) throw new InvalidOperationException($"{psi.FileName} exited with {child.ExitCode}: {stderr.Result}");
        var line = stdout.Split('\n').First(l => l.Contains("loop_ms", StringComparison.Ordinal));
        return new RunResult(JsonDocument.Parse(line).RootElement.GetProperty("loop_ms").GetDouble(), 0, 0, 0, null, null);
    }
}
