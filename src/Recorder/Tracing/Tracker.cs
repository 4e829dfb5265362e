namespace MemNotebook.Recorder.Tracing;

public sealed record TrackerOptions
{
    /// <summary>
    /// Run a full blocking GC before recording stops, so that objects still alive at the
    /// end (the leaks view) are the reachable ones, not garbage the GC has not met yet.
    /// </summary>
    public bool CollectBeforeStop { get; init; } = true;

    /// <summary>Replace an existing capture file.</summary>
    public bool Overwrite { get; init; }

    /// <summary>
    /// Keep totals per (stack, type) -- allocated, alive at the peak, leaked -- instead of every
    /// allocation, for regions too long to keep every record.
    /// </summary>
    public bool Aggregate { get; init; }

    /// <summary>
    /// Record native allocations too (malloc and its family, mmap; GOT hooks patched while the region
    /// runs), each with its merged native + managed stack. Not with <see cref="Aggregate"/>. In a
    /// process started without the tracer as profiler this alone works: native allocations only,
    /// managed frames unnamed.
    /// </summary>
    public bool Native { get; init; }

    /// <summary>
    /// Record the runtime's allocation samples (.NET 10 AllocationSampled, about one object per 100 KB) instead
    /// of every allocation: the mode of a process started without the tracer (see <see cref="SampledMode"/>).
    /// </summary>
    public bool Sampled { get; init; }
}

/// <summary>
/// A recorded region: <c>using (Tracker.Start("out.memnb")) { ... }</c> records every
/// managed allocation made inside it (in a process started with the tracer).
/// </summary>
public sealed class Tracker : IDisposable
{
    private readonly TrackerOptions _options;
    private bool _stopped;

    private Tracker(string path, TrackerOptions options)
    {
        Path = path;
        _options = options;
    }

    public string Path { get; }

    /// <summary>True when this process was started with the tracer as its profiler.</summary>
    public static bool IsAvailable
    {
        get
        {
            try
            {
                return (NativeTracer.GetStatus() & NativeTracer.Status.ProfilerLoaded) != 0;
            }
            catch (DllNotFoundException)
            {
                return false;
            }
        }
    }

    /// <summary>
    /// The tracer library this process uses or would use (<see cref="TracerLocation.Find"/>): the copy mapped as its
    /// profiler, else MEMNB_TRACER_PATH, the file beside this assembly or in its NuGet package; null when there is none.
    /// </summary>
    public static string? TracerFile => TracerLocation.Find();

    public static bool IsRecording
    {
        get
        {
            try
            {
                return (NativeTracer.GetStatus() & NativeTracer.Status.Recording) != 0;
            }
            catch (DllNotFoundException)
            {
                return false;
            }
        }
    }

    /// <summary>
    /// True while the tracer reads object sizes from the runtime's type layout (it checks
    /// them against the runtime first, and falls back for good on any difference).
    /// </summary>
    public static bool ReadsSizesDirectly => IsAvailable && (NativeTracer.GetStatus() & NativeTracer.Status.SizeShortcut) != 0;

    /// <summary>
    /// Waited for by every <see cref="Start"/> before recording begins: work of the host that must not be in any capture
    /// (the notebook extension's report warm-up, which runs on a thread of its own when it loads). Null: none.
    /// </summary>
    internal static Action? StartGate { get; set; }

    private static readonly object s_prepareLock = new();
    private static bool s_prepared;

    /// <summary>
    /// Done once per process before its first exact recording (<see cref="Start"/> calls it; the notebook extension
    /// calls it as it loads): the tracer's survivor events are switched on and off once, so that the runtime's managed
    /// event source builds its manifest now, then two blocking GCs let the finalizer thread finish what that leaves
    /// (reflection-emitted invokers' resolvers). Recordings then take GC survivors from those events, which spares
    /// every GC the runtime's walk of gen0 and of the roots; none of this work is in any capture. Without the profiler,
    /// attached, or refused by the runtime: nothing to do (recordings then use the runtime's GC callbacks).
    /// </summary>
    internal static void Prepare()
    {
        lock (s_prepareLock)
        {
            if (s_prepared)
                return;
            NativeTracer.Status status;
            try
            {
                status = NativeTracer.GetStatus();
            }
            catch (DllNotFoundException)
            {
                s_prepared = true;
                return;
            }
            // While a recording runs (one from startup) it is tried again at the next Start.
            if ((status & NativeTracer.Status.Recording) != 0)
                return;
            s_prepared = true;
            if ((status & NativeTracer.Status.ProfilerLoaded) == 0 || (status & NativeTracer.Status.Attached) != 0)
                return;
            if (NativeTracer.Prepare() != 0)
                return;
            GC.Collect();
            GC.WaitForPendingFinalizers();
            GC.Collect();
            GC.WaitForPendingFinalizers();
        }
    }

    public static Tracker Start(string path, TrackerOptions? options = null)
    {
        // Before the checks below, so that nothing the gate waits for overlaps the recording whatever the caller.
        StartGate?.Invoke();
        options ??= new TrackerOptions();
        if (!options.Sampled)
            Prepare();
        string full = System.IO.Path.GetFullPath(path);
        if (File.Exists(full) && !options.Overwrite)
            throw new IOException($"{full} exists already (set Overwrite to replace it)");
        string? dir = System.IO.Path.GetDirectoryName(full);
        if (dir is not null && !Directory.Exists(dir))
            throw new DirectoryNotFoundException($"the folder of the capture does not exist: {dir}");
        var tracker = new Tracker(full, options);
        var words = new List<string>();
        if (options.Aggregate) words.Add("aggregate");
        if (options.Native) words.Add("native");
        if (options.Sampled) words.Add("sampled");
        int rc = NativeTracer.Start(full, words.Count == 0 ? null : string.Join(",", words));
        if (rc != 0) throw new TracerException(NativeTracer.LastError());
        return tracker;
    }

    /// <summary>Allocations recorded so far in this region.</summary>
    public static ulong RecordedAllocations => NativeTracer.RecordedAllocations();

    /// <summary>Native allocations recorded so far in this region (with <see cref="TrackerOptions.Native"/>).</summary>
    public static ulong RecordedNativeAllocations => NativeTracer.RecordedNativeAllocations();

    public void Stop()
    {
        if (_stopped) return;
        _stopped = true;
        if (_options.CollectBeforeStop)
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
            GC.Collect();
        }
        int rc = NativeTracer.Stop();
        if (rc != 0) throw new TracerException(NativeTracer.LastError());
    }

    public void Dispose() => Stop();
}
