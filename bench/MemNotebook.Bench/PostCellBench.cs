using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using MemNotebook.Kernel;
using MemNotebook.Recorder.Launching;

namespace MemNotebook.Bench;

// `postcell [--records N]`: the time from a #!memprofile cell's code ending to its reports, on a synthetic capture of
// N allocations (default 10M; 50,000 stacks of depth 5-30 under a cell's code, Submission#1). The same code the kernel
// runs (CellReports.Build: load with the Arrow conversion, scope to the cell, each default report plus the timeline),
// in a child process started with the tracer loaded as the kernel is (every allocation on the runtime's slow path),
// without recording; and in a plain child for comparison. Prints each step, the total per 10M allocations and the
// child's peak RSS and managed heap after the reports. CPU: the process's CPU time in each step (all threads), steadier
// than wall time on a machine shared with other work. Before the cells the child makes the extension's report warm-up
// (ReportWarmup), as the kernel does when the extension loads; MEMNB_WARMUP=0 leaves it out (the first cell compiles the
// report code then). JIT: the methods compiled while each cell's reports were made and the time they took.
public static class PostCellBench
{
    /// <summary>The cells whose reports one child makes in turn (the first one's include the JIT).</summary>
    const int Cells = 3;

    public static int Run(long records)
    {
        var tracer = Path.Combine(AppContext.BaseDirectory, "libmemnb_tracer.so");
        if (!File.Exists(tracer))
        {
            Console.Error.WriteLine($"bench: {tracer} is missing; build the solution first");
            return 1;
        }
        var dir = Path.Combine(Path.GetTempPath(), $"memnb-postcell-bench-{Environment.ProcessId}");
        Directory.CreateDirectory(dir);
        try
        {
            var capture = Path.Combine(dir, "cell.memnb");
            ArrowBench.Generate(capture, records, leafStacks: 50_000, cell: true);
            Console.WriteLine($"post-cell benchmark: {records:N0} allocations ({new FileInfo(capture).Length / 1048576.0:F0} MiB capture), reports stats,flamegraph,timeline");
            Console.WriteLine();
            foreach (var loaded in new[] { true, false })
            {
                // A fresh capture file per cell: the Arrow cache of the previous one is not reused. The child makes the
                // reports of Cells cells in turn, as a kernel does: the first pays for compiling the report code (JIT),
                // the later ones are what every further cell of the notebook costs.
                var copies = Enumerable.Range(1, Cells).Select(c => Path.Combine(dir, $"cell-{(loaded ? "loaded" : "plain")}-{c}.memnb")).ToList();
                foreach (var copy in copies)
                    File.Copy(capture, copy);
                var results = Child(tracer, copies, loaded);
                for (var c = 0; c < results.Count; c++)
                {
                    var result = results[c];
                    var total = result.Steps.Sum(s => s.Seconds);
                    var cpu = result.Steps.Sum(s => s.Cpu);
                    var who = (loaded ? "tracer loaded (as the kernel)" : "plain process") + (c == 0 ? ", first cell" : $", cell {c + 1}");
                    Console.WriteLine($"{who,-40} post-cell {total,6:F2} s = {total / (records / 1e7),5:F2} s per 10M allocations (CPU {cpu:F2} s)");
                    foreach (var step in result.Steps)
                        Console.WriteLine($"  {step.Name,-30} {step.Seconds,6:F2} s  CPU {step.Cpu,6:F2} s");
                    Console.WriteLine($"  peak RSS {result.PeakRssBytes / 1048576.0:F0} MiB ({result.PeakRssBytes / 1048576.0 / (records / 1e6):F1} MiB per M allocations), managed heap after {result.HeapBytes / 1048576.0:F0} MiB; " +
                        $"allocated {result.AllocatedBytes / 1048576.0:F0} MiB during the reports ({result.AllocatedBytes / (double)records:F1} B per allocation); cache {result.CacheBytes / (double)records:F1} B per allocation row");
                    Console.WriteLine($"  JIT: {result.JitMethods:N0} methods compiled during the reports, {result.JitSeconds:F2} s (all threads)");
                }
                Console.WriteLine();
            }
            return 0;
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    /// <summary>The child's line about the extension's report warm-up, before the cells.</summary>
    const string WarmupLine = "report warm-up (as the extension loads):";

    internal sealed record StepTime(string Name, double Seconds, double Cpu);

    /// <param name="JitMethods">Methods the JIT compiled while the reports were made, on every thread (tier-1 recompilations included).</param>
    /// <param name="JitSeconds">The time those compilations took, on every thread.</param>
    internal sealed record ChildOutput(List<StepTime> Steps, long PeakRssBytes, long HeapBytes, long CacheBytes, long AllocatedBytes = 0,
        long JitMethods = 0, double JitSeconds = 0);

    static List<ChildOutput> Child(string tracer, IReadOnlyList<string> captures, bool loaded)
    {
        var psi = new ProcessStartInfo(Environment.ProcessPath!) { RedirectStandardOutput = true, UseShellExecute = false };
        if (Path.GetFileNameWithoutExtension(Environment.ProcessPath!) == "dotnet")
            psi.ArgumentList.Add(typeof(Program).Assembly.Location);
        psi.ArgumentList.Add("postcell-child");
        foreach (var capture in captures)
            psi.ArgumentList.Add(capture);
        foreach (var (name, value) in TracedProcess.ProfilerEnvironment(tracer))
            if (loaded) psi.Environment[name] = value;
            else psi.Environment.Remove(name);
        using var child = Process.Start(psi)!;
        var output = child.StandardOutput.ReadToEnd();
        child.WaitForExit();
        if (child.ExitCode != 0)
            throw new InvalidOperationException($"postcell-child exited with {child.ExitCode}: {output}");
        // One JSON line per capture, in order, after whatever else the child printed.
        var lines = output.Trim().Split('\n');
        foreach (var line in lines.Where(l => l.StartsWith(WarmupLine, StringComparison.Ordinal)))
            Console.WriteLine($"{(loaded ? "tracer loaded" : "plain process")}: {line}");
        return lines[^captures.Count..].Select(l => JsonSerializer.Deserialize<ChildOutput>(l)!).ToList();
    }

    /// <summary>
    /// `postcell-compare CAPTURE`: the reports CellReports.Build makes (streamed) against those made from the loaded tables
    /// scoped to the cell (the way before), report by report; 0 when every one is the same HTML.
    /// </summary>
    public static int Compare(string capture, string reports = "stats,flamegraph,timeline,summary,table")
    {
        var options = MemProfileOptions.From(new MemProfileCommand { Report = reports });
        var heading = new NotebookRenderer.Heading("exact", capture, options.Variable, DateTimeOffset.UnixEpoch, null, []);
        var streamed = CellReports.Build(capture, options, heading, kernel: new object()).Outputs;
        var fromTables = NotebookRenderer.Render(Capture.Load(capture).WithinSubmissions(), options, heading, new object()).ToList();
        static string Ids(string html) => System.Text.RegularExpressions.Regex.Replace(html, @"memnb-timeline-\d+-\d+", "memnb-timeline-ID");
        var differ = 0;
        for (var i = 0; i < Math.Max(streamed.Count, fromTables.Count); i++)
        {
            var same = i < streamed.Count && i < fromTables.Count && Ids(streamed[i].Html) == Ids(fromTables[i].Html);
            differ += same ? 0 : 1;
            Console.WriteLine($"{(i < fromTables.Count ? fromTables[i].Report ?? "heading" : "?"),-12} {(same ? "same" : "DIFFERS")} ({(i < streamed.Count ? streamed[i].Html.Length : 0):N0} chars)");
        }
        return differ == 0 ? 0 : 1;
    }

    /// <summary>The child: CellReports.Build on each capture in turn, as a kernel runs it after each cell; one JSON line each.</summary>
    public static int RunChild(IReadOnlyList<string> captures)
    {
        // As the extension does when it loads (the kernel's first cell comes later); MEMNB_WARMUP=0 leaves it out.
        var jitMethodsBefore = System.Runtime.JitInfo.GetCompiledMethodCount();
        var jitTimeBefore = System.Runtime.JitInfo.GetCompilationTime();
        ReportWarmup.Start();
        ReportWarmup.WaitUntilDone();
        Console.WriteLine($"{WarmupLine} {ReportWarmup.State}" + (ReportWarmup.State == ReportWarmup.Outcome.Made
            ? $" in {ReportWarmup.Elapsed.TotalSeconds:F2} s, JIT {System.Runtime.JitInfo.GetCompiledMethodCount() - jitMethodsBefore:N0} methods, " +
              $"{(System.Runtime.JitInfo.GetCompilationTime() - jitTimeBefore).TotalSeconds:F2} s"
            : ReportWarmup.Failure is { } failure ? $": {failure.Message}" : ""));
        foreach (var capture in captures)
            RunChild(capture);
        return 0;
    }

    /// <summary>CellReports.Build on one capture; one JSON line.</summary>
    /// <param name="reports">The reports to make (the notebook's --report), default stats,flamegraph,timeline.</param>
    public static int RunChild(string capture, string reports = "stats,flamegraph,timeline")
    {
        var options = MemProfileOptions.From(new MemProfileCommand { Report = reports });
        var heading = new NotebookRenderer.Heading("exact", capture, options.Variable, DateTimeOffset.Now, null, []);
        var allocatedBefore = GC.GetTotalAllocatedBytes(precise: true);
        var jitMethodsBefore = System.Runtime.JitInfo.GetCompiledMethodCount();
        var jitTimeBefore = System.Runtime.JitInfo.GetCompilationTime();
        var result = CellReports.Build(capture, options, heading, kernel: new object());
        var allocated = GC.GetTotalAllocatedBytes(precise: true) - allocatedBefore;
        var jitMethods = System.Runtime.JitInfo.GetCompiledMethodCount() - jitMethodsBefore;
        var jitTime = System.Runtime.JitInfo.GetCompilationTime() - jitTimeBefore;
        var html = result.Outputs.Sum(o => (long)o.Html.Length);
        using var self = Process.GetCurrentProcess();
        // The cell's variable loads its tables when first used: after the reports only if a report needed them.
        var cache = result.Capture.IsLoaded ? Directory.EnumerateFiles(result.Capture.ArrowFolder).Sum(f => new FileInfo(f).Length) : 0;
        var steps = result.Steps.Select(s => new StepTime(s.Name, s.Elapsed.TotalSeconds, s.Cpu.TotalSeconds)).ToList();
        Console.WriteLine(JsonSerializer.Serialize(new ChildOutput(steps, self.PeakWorkingSet64, GC.GetTotalMemory(false), cache, allocated, jitMethods, jitTime.TotalSeconds)));
        GC.KeepAlive(html);
        return 0;
    }
}
