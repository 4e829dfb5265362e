using System.Diagnostics;
using MemNotebook.Recorder.Analysis;
using MemNotebook.Recorder.Arrow;

namespace MemNotebook.Kernel;

/// <summary>
/// The work between a profiled cell's code ending and its reports appearing: the capture read in two streaming passes,
/// scoped to the cell's code by stack (<see cref="ScopedPass"/>), and each report rendered; the capture's tables (the Arrow
/// conversion the first time) are loaded only by the reports that need every allocation, or when the cell's variable is
/// first used (<see cref="Capture.LoadLazily"/>). The kernel runs it after every
/// <c>#!memprofile</c> cell and the benchmark runs the same code (<c>bench postcell</c>), each step timed.
/// </summary>
public static class CellReports
{
    /// <summary>One step, how long it took and the process's CPU time during it (all threads, the GC's included).</summary>
    public sealed record Step(string Name, TimeSpan Elapsed, TimeSpan Cpu);

    /// <summary>The capture the reports were made from and the reports, in order, with the time of each step.</summary>
    public sealed record Result(Capture Capture, IReadOnlyList<(string Html, string? Report)> Outputs, IReadOnlyList<Step> Steps);

    /// <summary>
    /// Reads <paramref name="path"/>, scoped to the cell's code (unless aggregated), and renders the reports
    /// <paramref name="options"/> asks for; <paramref name="output"/> gets each report as soon as it is made.
    /// <paramref name="progress"/> hears of the step being run and, for the conversion, its fraction done.
    /// </summary>
    public static Result Build(string path, MemProfileOptions options, NotebookRenderer.Heading heading, object kernel,
        Action<string, string?>? output = null, Action<string, double?>? progress = null)
    {
        var steps = new List<Step>();
        var clock = Stopwatch.StartNew();
        var cpu = Process.GetCurrentProcess().TotalProcessorTime;
        void Done(string step)
        {
            var now = Process.GetCurrentProcess().TotalProcessorTime;
            steps.Add(new Step(step, clock.Elapsed, now - cpu));
            (cpu, clock) = (now, Stopwatch.StartNew());
        }
        // The notebook's captures keep their tables in the per-user cache, not beside the notebook, unless MEMNB_CACHE=beside.
        var cache = ArrowCache.DefaultLocation(fallback: ArrowCacheLocation.UserCache);
        // An exact capture's heading, stats and timeline come from two streaming passes over the capture file, scoped to
        // the cell's code by stack; the variable's tables are loaded (converted to Arrow the first time) when first used.
        progress?.Invoke("reading the capture", 0);
        var streamed = ScopedPass.Compute(path, Capture.IsSubmissionFrame, Capture.SubmissionScope,
            progress: progress is null ? null : new Progress(p => progress("reading the capture", p)), flame: NotebookRenderer.StreamedFlame(options));
        Done("read");
        Capture capture;
        // The tables load during Build only for a report that needs every allocation; its progress is shown then, not
        // when the variable is used later (the progress line is done by then).
        var building = true;
        if (streamed is not null)
            capture = Capture.LoadLazily(path, Capture.IsSubmissionFrame, Capture.SubmissionScope, cache,
                progress is null ? null : new Progress(p => { if (building) progress("loading the capture", p); }));
        else
        {
            // Aggregated or sampled: small captures, whose reports come from the loaded tables.
            progress?.Invoke("loading the capture", 0);
            capture = Capture.Load(path, progress is null ? null : new Progress(p => progress("loading the capture", p)), cache: cache);
            Done("load");
            if (!capture.IsAggregated)
            {
                progress?.Invoke("scoping to the cell's code", null);
                capture = capture.WithinSubmissions();
                Done("scope");
            }
        }
        var outputs = new List<(string, string?)>();
        progress?.Invoke("making the reports", null);
        foreach (var (html, report) in NotebookRenderer.Render(capture, options, heading, kernel, streamed))
        {
            outputs.Add((html, report));
            Done(report ?? "heading");
            output?.Invoke(html, report);
        }
        building = false;
        return new Result(capture, outputs, steps);
    }

    /// <summary>
    /// The capture of a cell whose reports failed, loaded when first used, scoped as <see cref="Build"/> scopes it
    /// (an aggregated capture is not scoped): the cell's variable keeps it.
    /// </summary>
    public static Capture Unreported(string path, MemProfileOptions options)
    {
        var cache = ArrowCache.DefaultLocation(fallback: ArrowCacheLocation.UserCache);
        return options.Aggregate
            ? Capture.LoadLazily(path, cache: cache)
            : Capture.LoadLazily(path, Capture.IsSubmissionFrame, Capture.SubmissionScope, cache);
    }

    /// <summary>Calls back on the caller's thread (not through a synchronization context as <see cref="Progress{T}"/> does).</summary>
    private sealed class Progress(Action<double> report) : IProgress<double>
    {
        public void Report(double value) => report(value);
    }
}
