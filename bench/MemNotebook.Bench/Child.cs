using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.Json;
using MemNotebook.Recorder.Tracing;

namespace MemNotebook.Bench;

/// <summary>What one child run reports on its stdout (one JSON line).</summary>
/// <param name="Counters">memnb_overhead_counters after Stop in a traced run; null untraced or when the tracer lacks the export.</param>
/// <param name="LoopThreadCpuMs">CPU time of the thread that ran the timed part (CLOCK_THREAD_CPUTIME_ID): unlike the loop's
/// wall time it does not grow while the thread waits for a core another process holds.</param>
/// <param name="LoopProcessCpuMs">CPU time of the whole process during the timed part (every thread: the writer, the JIT, the GC).</param>
internal sealed record ChildResult(double LoopMs, double StopMs, ulong Records, ulong[]? Counters, double LoopThreadCpuMs = 0, double LoopProcessCpuMs = 0);

/// <summary>
/// The child process: prepares a workload, records its timed part when the mode traces
/// (Tracker.Start around it, as a #!memprofile cell or a region does), prints a <see cref="ChildResult"/>.
/// </summary>
internal static class Child
{
    /// <summary>Arguments: workload, mode, scale, alloc count, native pairs, capture path (traced modes).</summary>
    public static string[] Arguments(Workload workload, Mode mode, BenchSizes sizes, string capture) =>
    [
        "child", workload.Name, mode.ToString(), sizes.Scale.ToString("R", CultureInfo.InvariantCulture),
        sizes.AllocCount.ToString(CultureInfo.InvariantCulture), sizes.NativePairs.ToString(CultureInfo.InvariantCulture), capture,
    ];

    public static int Run(string[] args)
    {
        var workload = Workload.Named(args[1]);
        var mode = Enum.Parse<Mode>(args[2]);
        var sizes = new BenchSizes(double.Parse(args[3], CultureInfo.InvariantCulture),
            long.Parse(args[4], CultureInfo.InvariantCulture), long.Parse(args[5], CultureInfo.InvariantCulture));
        workload.Prepare(sizes);
        // The first Tracker.Start of a process runs two full GCs before it records (Tracker.Prepare): every mode gets
        // them, so that no mode starts its loop with a heap the others do not have.
        for (int i = 0; i < 2; i++)
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
        }
        Tracker? tracker = mode.StartsRecording()
            ? Tracker.Start(args[6], new TrackerOptions { CollectBeforeStop = false, Overwrite = true, Native = mode == Mode.TracedNative })
            : null;
        var process = Process.GetCurrentProcess();
        var processCpu = process.TotalProcessorTime;
        long threadCpuNs = ThreadCpu.Nanoseconds();
        var clock = Stopwatch.StartNew();
        workload.Run();
        double loop = clock.Elapsed.TotalMilliseconds;
        double threadCpu = (ThreadCpu.Nanoseconds() - threadCpuNs) / 1e6;
        process.Refresh();
        double allCpu = (process.TotalProcessorTime - processCpu).TotalMilliseconds;
        // A whole-process recording (memnb run's) counts the process's allocations before the loop too.
        ulong records = tracker is null && mode != Mode.Run ? 0 : Tracker.RecordedAllocations + Tracker.RecordedNativeAllocations;
        clock.Restart();
        tracker?.Stop();
        double stop = clock.Elapsed.TotalMilliseconds;
        workload.Cleanup();
        Console.WriteLine(JsonSerializer.Serialize(new ChildResult(loop, stop, records, tracker is null ? null : OverheadCounters(), threadCpu, allCpu)));
        return 0;
    }

    [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
    delegate void CountersFunction([Out] ulong[] counters);

    /// <summary>
    /// The tracer's memnb_overhead_counters (all zeros unless the process started with MEMNB_TIMING=1);
    /// null when the tracer has no such export. Loading the mapped file's path returns the handle of the
    /// copy the runtime loaded as profiler, whose counters these are, not a second copy.
    /// </summary>
    static ulong[]? OverheadCounters()
    {
        if (Tracker.TracerFile is not string path || !NativeLibrary.TryLoad(path, out var handle)
            || !NativeLibrary.TryGetExport(handle, "memnb_overhead_counters", out var export))
            return null;
        var counters = new ulong[OverheadCounter.Count];
        Marshal.GetDelegateForFunctionPointer<CountersFunction>(export)(counters);
        return counters;
    }
}

/// <summary>Indexes into memnb_overhead_counters' array (the tracer times every 64th allocation part by part).</summary>
internal static class OverheadCounter
{
    public const int Timed = 0;        // allocations timed part by part
    public const int Walk = 1;         // ns walking stacks (timed allocations)
    public const int Intern = 2;       // ns interning stacks and types (timed)
    public const int Encode = 3;       // ns encoding and pushing records (timed)
    public const int LifetimeLog = 4;  // ns logging objects for lifetimes on the hot path (timed)
    public const int Hook = 5;         // ns of the whole hook, entry to exit (timed)
    public const int Gc = 6;           // ns in GC callbacks (all GCs)
    public const int Writer = 7;       // writer thread CPU ns (all)
    public const int Compression = 8;  // ns compressing (all)
    public const int Dropped = 9;      // records dropped
    public const int Count = 10;
}
