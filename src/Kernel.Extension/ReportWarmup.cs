using System.Diagnostics;

namespace MemNotebook.Kernel;

/// <summary>
/// Makes the reports of a small capture shipped in this assembly (Warmup/ReportWarmup.memnb: 5,000 allocations under a
/// cell's code, 500 stacks) once per process, on a background thread, when the extension loads: the report code is then
/// compiled (JIT) and set up before the first <c>#!memprofile</c> cell ends, and that cell's reports take what a later
/// cell's take. A cell waits for it to end before it starts recording, so nothing it allocates or compiles is in a
/// capture. It also prepares the tracer's GC survivor events (<c>Tracker.Prepare</c>), which the first recording would
/// do otherwise. <c>MEMNB_WARMUP=0</c> turns it off. Regenerate the capture with
/// <c>bench postcell-capture src/Kernel.Extension/Warmup/ReportWarmup.memnb 5000 500</c> when the format changes (a test
/// makes its reports).
/// </summary>
internal static class ReportWarmup
{
    internal enum Outcome { NotStarted, Off, Running, Made, Failed }

    private const string ResourceName = "MemNotebook.Kernel.Warmup.ReportWarmup.memnb";

    /// <summary>The reports of a default cell and the timeline: every report made by the passes over the capture file.</summary>
    internal const string Reports = "stats,timeline,flamegraph";

    private static readonly object s_gate = new();
    private static Task? s_done;

    internal static Outcome State { get; private set; }

    /// <summary>Why the warm-up failed (it never fails a cell: the first cell's reports only compile their code then).</summary>
    internal static Exception? Failure { get; private set; }

    /// <summary>How long the warm-up took, once made.</summary>
    internal static TimeSpan Elapsed { get; private set; }

    /// <summary>Starts the warm-up on a thread of its own, the first time only.</summary>
    public static void Start() => Start(holdUntil: null);

    private static void Start(Task? holdUntil)
    {
        lock (s_gate)
        {
            if (State != Outcome.NotStarted)
                return;
            if (Environment.GetEnvironmentVariable("MEMNB_WARMUP") == "0")
            {
                State = Outcome.Off;
                return;
            }
            State = Outcome.Running;
            var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            s_done = done.Task;
            new Thread(() =>
            {
                holdUntil?.Wait();
                Run();
                done.SetResult();
            })
            { IsBackground = true, Name = "memnb report warm-up" }.Start();
        }
    }

    /// <summary>Returns once no warm-up runs (at once when it has ended or never started).</summary>
    public static void WaitUntilDone()
    {
        Task? done;
        lock (s_gate)
            done = s_done;
        done?.GetAwaiter().GetResult();
    }

    /// <summary>For tests: once the warm-up has ended, runs it again, its thread held until <paramref name="holdUntil"/> ends.</summary>
    internal static void Restart(Task? holdUntil = null)
    {
        WaitUntilDone();
        lock (s_gate)
        {
            (State, Failure, Elapsed, s_done) = (Outcome.NotStarted, null, TimeSpan.Zero, null);
        }
        Start(holdUntil);
    }

    private static void Run()
    {
        var clock = Stopwatch.StartNew();
        string? folder = null;
        try
        {
            // What the first recording of the process would do first (its GCs among it), done here instead.
            MemNotebook.Recorder.Tracing.Tracker.Prepare();
            folder = Directory.CreateTempSubdirectory("memnb-warmup-").FullName;
            var path = Path.Combine(folder, "warmup.memnb");
            using (var resource = typeof(ReportWarmup).Assembly.GetManifestResourceStream(ResourceName)
                ?? throw new InvalidOperationException($"the resource {ResourceName} is missing"))
            using (var file = File.Create(path))
                resource.CopyTo(file);
            var options = MemProfileOptions.From(new MemProfileCommand { Report = Reports });
            var heading = new NotebookRenderer.Heading("exact", path, options.Variable, DateTimeOffset.Now, null, []);
            // A kernel of its own: the real kernel's once-per-kernel scripts are still sent with its first cell's reports.
            var result = CellReports.Build(path, options, heading, kernel: new object());
            if (result.Outputs.Count == 0)
                throw new InvalidOperationException("the warm-up capture gave no report");
            Elapsed = clock.Elapsed;
            State = Outcome.Made;
        }
        catch (Exception ex)
        {
            Failure = ex;
            State = Outcome.Failed;
        }
        finally
        {
            if (folder is not null)
                try { Directory.Delete(folder, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
    }
}
