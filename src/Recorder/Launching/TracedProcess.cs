using System.ComponentModel;
using System.Diagnostics;
using System.Runtime.InteropServices;
using MemNotebook.Recorder.Format;
using MemNotebook.Recorder.Tracing;

namespace MemNotebook.Recorder.Launching;

public enum LaunchFailure
{
    /// <summary>No command was given.</summary>
    MissingCommand,
    /// <summary>Options that cannot go together (native allocations in an aggregated capture).</summary>
    ConflictingOptions,
    /// <summary>The output exists and overwriting was not asked for.</summary>
    OutputExists,
    /// <summary>The output's directory is missing or not writable.</summary>
    OutputNotWritable,
    /// <summary>libmemnb_tracer.so is not where it should be.</summary>
    TracerMissing,
    /// <summary>The command could not be started (not found, not executable).</summary>
    CommandNotStarted,
}

public sealed class LaunchException(LaunchFailure failure, string message, Exception? inner = null)
    : Exception(message, inner)
{
    public LaunchFailure Failure { get; } = failure;
}

/// <summary>What to run under the tracer.</summary>
public sealed record TracedLaunchOptions
{
    public required string Command { get; init; }
    public IReadOnlyList<string> Arguments { get; init; } = [];

    /// <summary>The capture to write; default memnb-&lt;program&gt;-&lt;pid&gt;.memnb in the working directory.</summary>
    public string? OutputPath { get; init; }

    /// <summary>Overwrite an existing output.</summary>
    public bool Force { get; init; }

    /// <summary>
    /// Write totals per (stack, type) -- allocated, alive at the peak, leaked -- instead of every
    /// allocation: for runs too long to keep every record (docs/capture-format.md).
    /// </summary>
    public bool Aggregate { get; init; }

    /// <summary>
    /// Record native allocations too (malloc and the rest of its family, mmap, through GOT hooks), each
    /// with its merged native + managed stack. Not with <see cref="Aggregate"/>.
    /// </summary>
    public bool Native { get; init; }

    /// <summary>The tracer library; default <see cref="TracerLocation.Find"/>.</summary>
    public string? TracerPath { get; init; }

    public string? WorkingDirectory { get; init; }
}

/// <summary>A prepared launch: the resolved paths and environment, before the process starts.</summary>
public sealed record TracedLaunch(string Command, IReadOnlyList<string> Arguments, string OutputPath, string TracerPath,
    IReadOnlyDictionary<string, string> Environment, string WorkingDirectory);

/// <param name="CaptureAllocations">Allocations in the capture, null when it is missing or unreadable.</param>
public sealed record TracedRunResult(int ExitCode, int? Signal, string OutputPath, bool CaptureExists,
    long? CaptureAllocations, bool CaptureComplete, bool CaptureTruncated, string? CaptureProblem);

/// <summary>
/// Starts a program with the CoreCLR profiler variables pointing at libmemnb_tracer.so, so every
/// managed allocation is traced from the start (the allocation callbacks can only be enabled at startup).
/// </summary>
public static class TracedProcess
{
    public const string ProfilerClsid = "{6A1B7C3E-2D4F-4E59-8A0B-9C1D2E3F4A5B}";
    public const string OutputVariable = "MEMNB_OUTPUT";
    public const string AggregateVariable = "MEMNB_AGGREGATE";
    public const string NativeVariable = "MEMNB_NATIVE";

    /// <summary>The variables that load the tracer into the child, which records from its start into <paramref name="outputPath"/>.</summary>
    public static IReadOnlyDictionary<string, string> TracerEnvironment(string tracerPath, string outputPath) =>
        new Dictionary<string, string>(ProfilerEnvironment(tracerPath))
        {
            [OutputVariable] = Path.GetFullPath(outputPath),
        };

    /// <summary>
    /// The variables that load the tracer as a process's profiler, idle until something calls
    /// <c>Tracker.Start</c> (a notebook kernel started this way profiles <c>#!memprofile</c> cells exactly).
    /// </summary>
    public static IReadOnlyDictionary<string, string> ProfilerEnvironment(string tracerPath) =>
        new Dictionary<string, string>
        {
            ["CORECLR_ENABLE_PROFILING"] = "1",
            ["CORECLR_PROFILER"] = ProfilerClsid,
            ["CORECLR_PROFILER_PATH"] = Path.GetFullPath(tracerPath),
            // Blocking GCs report every survivor. The tracer turns background GC off by itself
            // at startup (docs/architecture.md, "Masks"); the variable says so to the GC from
            // its first instruction.
            ["DOTNET_gcConcurrent"] = "0",
            // On-stack replacement moves a long-running loop into a new frame whose chain
            // skips the method's callers: off, every stack is whole. Without it a method with
            // a loop would run its first 30 calls unoptimized (tier 0, loops included), so
            // quick JIT for loops is off too: such methods are optimized at their first call
            // (docs/architecture.md, "On-stack replacement").
            ["DOTNET_TC_OnStackReplacement"] = "0",
            ["DOTNET_TC_QuickJitForLoops"] = "0",
        };

    /// <summary>
    /// memnb-&lt;program&gt;-&lt;pid&gt;.memnb. The pid is memnb's own: the child's is not known before it starts,
    /// and the tracer needs the path at startup. For "dotnet app.dll" the program is "app".
    /// </summary>
    public static string DefaultOutputFileName(string command, IReadOnlyList<string> arguments, int processId)
    {
        var program = Path.GetFileNameWithoutExtension(command);
        if (program == "dotnet" && arguments.Count > 0 && arguments[0].EndsWith(".dll", StringComparison.OrdinalIgnoreCase))
            program = Path.GetFileNameWithoutExtension(arguments[0]);
        var safe = new string(program.Select(c => char.IsLetterOrDigit(c) || c is '-' or '_' or '.' ? c : '_').ToArray());
        return $"memnb-{(safe.Length == 0 ? "program" : safe)}-{processId}.memnb";
    }

    /// <summary>Resolves and checks everything before starting; throws <see cref="LaunchException"/>.</summary>
    public static TracedLaunch Prepare(TracedLaunchOptions options)
    {
        if (string.IsNullOrWhiteSpace(options.Command))
            throw new LaunchException(LaunchFailure.MissingCommand, "no command given: memnb run [options] -- COMMAND [ARGS...]");
        var workingDirectory = Path.GetFullPath(options.WorkingDirectory ?? System.Environment.CurrentDirectory);
        var output = Path.GetFullPath(options.OutputPath
            ?? DefaultOutputFileName(options.Command, options.Arguments, System.Environment.ProcessId), workingDirectory);

        if (Directory.Exists(output))
            throw new LaunchException(LaunchFailure.OutputNotWritable, $"output {output} is a directory");
        if (File.Exists(output) && !options.Force)
            throw new LaunchException(LaunchFailure.OutputExists, $"output {output} already exists (use --force to overwrite it)");
        CheckWritableDirectory(output);

        var tracer = options.TracerPath is null ? TracerLocation.Find() : Path.GetFullPath(options.TracerPath);
        if (tracer is null || !File.Exists(tracer))
            throw new LaunchException(LaunchFailure.TracerMissing, TracerLocation.NotFound(tracer));

        var environment = new Dictionary<string, string>(TracerEnvironment(tracer, output));
        if (options.Aggregate && options.Native)
            throw new LaunchException(LaunchFailure.ConflictingOptions,
                "native allocations cannot be recorded in an aggregated capture: choose --native or --aggregate");
        if (options.Aggregate) environment[AggregateVariable] = "1";
        if (options.Native) environment[NativeVariable] = "1";
        return new TracedLaunch(options.Command, options.Arguments, output, tracer, environment, workingDirectory);
    }

    private static void CheckWritableDirectory(string output)
    {
        var directory = Path.GetDirectoryName(output) ?? "/";
        if (!Directory.Exists(directory))
            throw new LaunchException(LaunchFailure.OutputNotWritable, $"cannot write {output}: directory {directory} does not exist");
        var probe = Path.Combine(directory, $".memnb-probe-{Guid.NewGuid():N}");
        try
        {
            using (File.Create(probe, 1, FileOptions.DeleteOnClose)) { }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new LaunchException(LaunchFailure.OutputNotWritable, $"cannot write {output}: directory {directory} is not writable ({ex.Message})", ex);
        }
    }

    /// <summary>Builds the start info: stdio inherited, tracer variables added to this process's environment.</summary>
    public static ProcessStartInfo StartInfo(TracedLaunch launch)
    {
        var info = new ProcessStartInfo(launch.Command)
        {
            UseShellExecute = false,
            WorkingDirectory = launch.WorkingDirectory,
        };
        foreach (var argument in launch.Arguments)
            info.ArgumentList.Add(argument);
        foreach (var (name, value) in launch.Environment)
            info.Environment[name] = value;
        return info;
    }

    /// <summary>Runs the program to completion and looks at the capture it left.</summary>
    public static TracedRunResult Run(TracedLaunch launch)
    {
        using var run = Start(launch);
        return run.WaitForExit();
    }

    /// <summary>
    /// Starts the program and returns at once, so that the caller can watch the capture grow while it runs
    /// (<c>memnb run --live</c>); <see cref="TracedRun.WaitForExit"/> then reports the capture.
    /// </summary>
    public static TracedRun Start(TracedLaunch launch)
    {
        if (File.Exists(launch.OutputPath))
            File.Delete(launch.OutputPath); // --force: a stale capture must not pass for this run's
        return new TracedRun(launch);
    }

    /// <summary>
    /// .NET reports a child killed by signal N as exit code 128 + N (as shells do); a program that
    /// exits with such a code itself looks the same.
    /// </summary>
    public static int? SignalOf(int exitCode) => exitCode is > 128 and < 128 + 65 ? exitCode - 128 : null;

    public static TracedRunResult Inspect(string outputPath, int exitCode)
    {
        var signal = SignalOf(exitCode);
        if (!File.Exists(outputPath))
            return new TracedRunResult(exitCode, signal, outputPath, false, null, false, false, null);
        try
        {
            var counter = new AllocationCounter();
            var read = CaptureReader.Read(outputPath, counter);
            // An aggregated capture has no ALLOC records: its count is in its (last) table of totals.
            var aggregated = 0L;
            foreach (var row in read.AggregateTable?.Rows ?? [])
                aggregated = checked(aggregated + row.Count);
            return new TracedRunResult(exitCode, signal, outputPath, true, checked(counter.Count + aggregated), read.Complete, read.Truncated,
                read.TruncationReason);
        }
        catch (CaptureFormatException ex)
        {
            return new TracedRunResult(exitCode, signal, outputPath, true, null, false, false, ex.Message);
        }
        catch (IOException ex)
        {
            return new TracedRunResult(exitCode, signal, outputPath, true, null, false, false, ex.Message);
        }
        catch (OverflowException)
        {
            return new TracedRunResult(exitCode, signal, outputPath, true, null, false, false, "its aggregate counts add up past 2^63");
        }
    }

    private sealed class AllocationCounter : CaptureVisitor
    {
        public long Count;
        public override void OnAllocation(in AllocationRecord allocation) => Count++;
    }
}

/// <summary>A program started under the tracer (<see cref="TracedProcess.Start"/>).</summary>
public sealed class TracedRun : IDisposable
{
    private readonly Process? process;
    // Ctrl-C reaches the whole foreground group: let the child decide, and stay to report its capture.
    private readonly PosixSignalRegistration sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, context => context.Cancel = true);
    private readonly PosixSignalRegistration sigquit = PosixSignalRegistration.Create(PosixSignal.SIGQUIT, context => context.Cancel = true);

    internal TracedRun(TracedLaunch launch)
    {
        Launch = launch;
        try
        {
            process = Process.Start(TracedProcess.StartInfo(launch))
                ?? throw new LaunchException(LaunchFailure.CommandNotStarted, $"cannot start {launch.Command}");
        }
        catch (Win32Exception ex)
        {
            Dispose();
            throw new LaunchException(LaunchFailure.CommandNotStarted, $"cannot start {launch.Command}: {ex.Message}", ex);
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    public TracedLaunch Launch { get; }
    public int ProcessId => Process.Id;

    /// <summary>The program's name as the kernel knows it (/proc/PID/comm), else the command's file name.</summary>
    public string ProcessName => Attaching.AttachSession.NameOf(ProcessId) is var name && name != "?" ? name : Path.GetFileName(Launch.Command);

    public bool HasExited => Process.HasExited;

    private Process Process => process ?? throw new ObjectDisposedException(nameof(TracedRun));

    /// <summary>Waits for the program to exit, then looks at the capture it left.</summary>
    public TracedRunResult WaitForExit()
    {
        Process.WaitForExit();
        return TracedProcess.Inspect(Launch.OutputPath, Process.ExitCode);
    }

    public void Dispose()
    {
        process?.Dispose();
        sigint.Dispose();
        sigquit.Dispose();
    }
}
