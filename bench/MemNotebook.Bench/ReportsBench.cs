using System.Diagnostics;
using System.Text;
using MemNotebook.Recorder.Arrow;
using MemNotebook.Recorder.Reports;

namespace MemNotebook.Bench;

// `reports [--records N]...`: for synthetic captures of 1M and 10M allocations (50,000 distinct stacks of
// depth 5–30 over 2,000 functions), times raw → Arrow, Arrow → Capture.Load, the flame tree of every
// allocation (with 256 time buckets per frame for the memory chart's range selection), pruning and writing
// the flame-graph page, and prints the page's size, node counts and the time buckets it kept.
public static class ReportsBench
{
    const int Stacks = 50_000;
    const int Functions = 2_000;

    public static int Run(IReadOnlyList<long> sizes)
    {
        var dir = Path.Combine(Path.GetTempPath(), $"memnb-reports-bench-{Environment.ProcessId}");
        Directory.CreateDirectory(dir);
        var browser = new List<(long Records, string Facts)>();
        try
        {
            Console.WriteLine($"flame-graph page benchmark ({Stacks:N0} stacks of depth 5-30 over {Functions:N0} functions; every allocation; page limit {FlameGraphPage.DefaultMaxNodes:N0} frames)");
            Console.WriteLine();
            Console.WriteLine($"{"records",12} {"to Arrow s",11} {"load s",7} {"tree s",7} {"prune s",8} {"time s",7} {"page s",7} {"cpu s",6} {"HTML bytes",12} {"tree nodes",11} {"page nodes",11} {"merged",9} {"buckets",8} {"entries",9}");
            foreach (var records in sizes)
            {
                var capture = Path.Combine(dir, $"bench-{records}.memnb");
                ArrowBench.Generate(capture, records, Stacks, Functions);
                var folder = capture + ".arrow";
                var (convert, _) = ArrowBench.Measure(() => ArrowConverter.Convert(capture, folder));
                File.Delete(capture);
                Capture? loaded = null;
                var (load, _) = ArrowBench.Measure(() => loaded = Capture.Load(folder));
                var selection = new ReportSelection(ReportMode.Allocated);
                FlameTree? tree = null;
                var (build, _) = ArrowBench.Measure(() => tree = FlameTree.Build(loaded!, selection));
                FlameTree? pruned = null;
                var (prune, _) = ArrowBench.Measure(() => pruned = tree!.Prune(FlameGraphPage.DefaultMaxNodes));
                var (time, _) = ArrowBench.Measure(() => pruned = pruned!.WithTimeBuckets(FlameGraphPage.DefaultTimeBuckets, FlameGraphPage.MaxTimeEntries));
                var html = Path.Combine(dir, $"bench-{records}.html");
                var cpuBefore = Process.GetCurrentProcess().TotalProcessorTime;
                var (page, _) = ArrowBench.Measure(() =>
                {
                    using var writer = new StreamWriter(html, false, new UTF8Encoding(false), 1 << 16);
                    FlameGraphPage.Write(loaded!, selection, new FlameGraphOptions(Source: "bench.memnb"), writer);
                });
                var pageCpu = (Process.GetCurrentProcess().TotalProcessorTime - cpuBefore).TotalSeconds;
                var bytes = new FileInfo(html).Length;
                browser.Add((records, BrowserTiming(html)));
                Console.WriteLine($"{records,12:N0} {convert,11:F2} {load,7:F2} {build,7:F2} {prune,8:F2} {time,7:F2} {page,7:F2} {pageCpu,6:F2} {bytes,12:N0} {tree!.NodeCount,11:N0} {pruned!.NodeCount,11:N0} {pruned.MergedFrames,9:N0} {pruned.Time!.Buckets,8:N0} {pruned.TimeEntries(),9:N0}");
                Directory.Delete(folder, recursive: true);
            }
            Console.WriteLine();
            Console.WriteLine("time s = WithTimeBuckets on the pruned tree (owner per stack, one pass over the rows, buckets widened to fit);");
            Console.WriteLine("page s = FlameGraphPage.Write(capture, ...) to a file, every step from the loaded capture; cpu s = the process's CPU time");
            Console.WriteLine("during it (all threads, the GC's included: less sensitive to other load on the machine); merged = frames folded into");
            Console.WriteLine("\"[N smaller frames]\" nodes; buckets = time buckets the page kept (of 256) to stay within " + $"{FlameGraphPage.MaxTimeEntries:N0} (frame, bucket) entries.");
            Console.WriteLine();
            Console.WriteLine("in headless Chromium (tests/browser/render-timing.mjs; ms, performance.now() around the page's own handlers):");
            foreach (var (records, facts) in browser)
                Console.WriteLine($"{records,12:N0} {facts}");
            return 0;
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    /// <summary>The page's render times in headless Chromium, as the JSON the script prints, or why they are missing.</summary>
    static string BrowserTiming(string html)
    {
        string? folder = null;
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null && folder is null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "tests", "browser", "render-timing.mjs")))
                folder = Path.Combine(dir.FullName, "tests", "browser");
        if (folder is null || !Directory.Exists(Path.Combine(folder, "node_modules", "playwright-core")))
            return "(not measured: run `npm ci` in tests/browser)";
        var psi = new ProcessStartInfo("node") { WorkingDirectory = folder, RedirectStandardOutput = true, RedirectStandardError = true };
        psi.ArgumentList.Add("render-timing.mjs");
        psi.ArgumentList.Add(html);
        try
        {
            using var process = Process.Start(psi)!;
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            process.WaitForExit();
            return process.ExitCode == 0 ? stdout.Result.Trim() : $"(render-timing.mjs failed: {stderr.Result.Trim()})";
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            return $"(not measured: node did not start: {ex.Message})";
        }
    }
}
