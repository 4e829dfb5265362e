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
// than wall time on a machine shared with other work.
public static class PostCellBench
{
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
                // A fresh capture file each run: the Arrow cache of the previous one is not reused.
                var copy = Path.Combine(dir, $"cell-{(loaded ? "loaded" : "plain")}.memnb");
                File.Copy(capture, copy);
                var result = Child(tracer, copy, loaded);
                var total = result.Steps.Sum(s => s.Seconds);
                var cpu = result.Steps.Sum(s => s.Cpu);
                Console.WriteLine($"{(loaded ? "tracer loaded (as the kernel)" : "plain process"),-32} post-cell {total,6:F2} s = {total / (records / 1e7),5:F2} s per 10M allocations (CPU {cpu:F2} s)");
                foreach (var step in result.Steps)
                    Console.WriteLine($"  {step.Name,-30} {step.Seconds,6:F2} s  CPU {step.Cpu,6:F2} s");
                Console.WriteLine($"  peak RSS {result.PeakRssBytes / 1048576.0:F0} MiB ({result.PeakRssBytes / 1048576.0 / (records / 1e6):F1} MiB per M allocations), managed heap after {result.HeapBytes / 1048576.0:F0} MiB; " +
                    $"allocated {result.AllocatedBytes / 1048576.0:F0} MiB during the reports ({result.AllocatedBytes / (double)records:F1} B per allocation); cache {result.CacheBytes / (double)records:F1} B per allocation row");
                Console.WriteLine();
            }
            return 0;
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    internal sealed record StepTime(string Name, double Seconds, double Cpu);

    internal sealed record ChildOutput(List<StepTime> Steps, long PeakRssBytes, long HeapBytes, long CacheBytes, long AllocatedBytes = 0);

    static ChildOutput Child(string tracer, string capture, bool loaded)
    {
        var psi = new ProcessStartInfo(Environment.ProcessPath!) { RedirectStandardOutput = true, UseShellExecute = false };
        if (Path.GetFileNameWithoutExtension(Environment.ProcessPath!) == "dotnet")
            psi.ArgumentList.Add(typeof(Program).Assembly.Location);
        psi.ArgumentList.Add("postcell-child");
        psi.ArgumentList.Add(capture);
        foreach (var (name, value) in TracedProcess.ProfilerEnvironment(tracer))
            if (loaded) psi.Environment[name] = value;
            else psi.Environment.Remove(name);
        using var child = Process.Start(psi)!;
        var output = child.StandardOutput.ReadToEnd();
        child.WaitForExit();
        if (child.ExitCode != 0)
            throw new InvalidOperationException($"postcell-child exited with {child.ExitCode}: {output}");
        return JsonSerializer.Deserialize<ChildOutput>(output.Trim().Split('\n')[^1])!;
    }

    /// <summary>The child: CellReports.Build on the capture, as a kernel runs it after a cell; one JSON line.</summary>
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

    /// <param name="reports">The reports to make (the notebook's --report), default stats,flamegraph,timeline.</param>
    public static int RunChild(string capture, string reports = "stats,flamegraph,timeline")
    {
        var options = MemProfileOptions.From(new MemProfileCommand { Report = reports });
        var heading = new NotebookRenderer.Heading("exact", capture, options.Variable, DateTimeOffset.Now, null, []);
        var allocatedBefore = GC.GetTotalAllocatedBytes(precise: true);
        var result = CellReports.Build(capture, options, heading, kernel: new object());
        var allocated = GC.GetTotalAllocatedBytes(precise: true) - allocatedBefore;
        var html = result.Outputs.Sum(o => (long)o.Html.Length);
        using var self = Process.GetCurrentProcess();
        // The cell's variable loads its tables when first used: after the reports only if a report needed them.
        var cache = result.Capture.IsLoaded ? Directory.EnumerateFiles(result.Capture.ArrowFolder).Sum(f => new FileInfo(f).Length) : 0;
        var steps = result.Steps.Select(s => new StepTime(s.Name, s.Elapsed.TotalSeconds, s.Cpu.TotalSeconds)).ToList();
        Console.WriteLine(JsonSerializer.Serialize(new ChildOutput(steps, self.PeakWorkingSet64, GC.GetTotalMemory(false), cache, allocated)));
        GC.KeepAlive(html);
        return 0;
    }
}
