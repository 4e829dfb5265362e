using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using MemNotebook.Recorder.Tracing;

namespace MemNotebook.Bench;

// Runs each workload in a fresh process three ways — untraced, with the tracer loaded but
// not recording, and recording — and prints wall-time ratios against the untraced run of
// the same invocation, plus capture bytes per allocation record.
public static class Program
{
    const string ProfilerClsid = "{6A1B7C3E-2D4F-4E59-8A0B-9C1D2E3F4A5B}";

    public static int Main(string[] args)
    {
        if (args.Length >= 3 && args[0] == "child") return Child(args[1], args[2], args.Length > 3 ? args[3] : null);
        if (args.Length >= 2 && args[0] == "arrow-child") return ArrowBench.RunChild(args[1..]);
        if (args.Length >= 1 && args[0] == "arrow")
            return ArrowBench.Run(args.Length >= 3 && args[1] == "--records" ? long.Parse(args[2], CultureInfo.InvariantCulture) : 10_000_000);
        if (args.Length >= 1 && args[0] == "native")
            return NativeBench.Run(args.Length >= 3 && args[1] == "--pairs" ? long.Parse(args[2], CultureInfo.InvariantCulture) : 10_000_000);
        if (args.Length >= 1 && args[0] == "reports")
        {
            var sizes = new List<long>();
            for (var i = 1; i + 1 < args.Length; i += 2)
                if (args[i] == "--records") sizes.Add(long.Parse(args[i + 1], CultureInfo.InvariantCulture));
            return ReportsBench.Run(sizes.Count > 0 ? sizes : [1_000_000, 10_000_000]);
        }
        int repeats = 3;
        long allocCount = 50_000_000;
        for (int i = 0; i < args.Length; i++)
        {
            if (args[i] == "--repeats") repeats = int.Parse(args[++i], CultureInfo.InvariantCulture);
            else if (args[i] == "--alloc-count") allocCount = long.Parse(args[++i], CultureInfo.InvariantCulture);
        }
        return Parent(repeats, allocCount);
    }

    internal sealed record Result(double LoopMs, double StopMs, ulong Allocations, long CaptureBytes);

    static int Parent(int repeats, long allocCount)
    {
        string tracer = Path.Combine(AppContext.BaseDirectory, "libmemnb_tracer.so");
        if (!File.Exists(tracer))
        {
            Console.Error.WriteLine($"bench: {tracer} is missing; build the solution first");
            return 1;
        }
        Environment.SetEnvironmentVariable("MEMNB_BENCH_ALLOC_COUNT", allocCount.ToString(CultureInfo.InvariantCulture));
        Console.WriteLine($"MemNotebook overhead benchmark ({repeats} runs each, median; .NET {Environment.Version}, {Environment.ProcessorCount} cores)");
        Console.WriteLine();
        Console.WriteLine($"{"workload",-22} {"untraced ms",12} {"loaded ms",10} {"ratio",7} {"traced ms",10} {"ratio",7} {"stop ms",8} {"records",12} {"B/record",9}");
        foreach (string workload in new[] { "alloc", "mixed" })
        {
            var untraced = Median(repeats, () => Run(workload, "untraced", tracer));
            var loaded = Median(repeats, () => Run(workload, "loaded", tracer));
            var traced = Median(repeats, () => Run(workload, "traced", tracer));
            string label = workload == "alloc" ? $"alloc ({allocCount / 1_000_000}M objects)" : "mixed";
            Console.WriteLine(
                $"{label,-22} {untraced.LoopMs,12:F0} {loaded.LoopMs,10:F0} {loaded.LoopMs / untraced.LoopMs,6:F2}x {traced.LoopMs,10:F0} {traced.LoopMs / untraced.LoopMs,6:F2}x {traced.StopMs,8:F0} {traced.Allocations,12:N0} {(double)traced.CaptureBytes / Math.Max(1UL, traced.Allocations),9:F2}");
        }
        Console.WriteLine();
        Console.WriteLine("loaded = tracer loaded as profiler, not recording (the slow allocation helpers and idle callbacks);");
        Console.WriteLine("traced = recording every allocation with stack and lifetime; B/record = capture file bytes / allocations.");
        return 0;
    }

    internal static Result Median(int repeats, Func<Result> run)
    {
        var results = Enumerable.Range(0, repeats).Select(_ => run()).OrderBy(r => r.LoopMs).ToList();
        return results[results.Count / 2];
    }

    internal static Result Run(string workload, string mode, string tracer, IDictionary<string, string>? environment = null)
    {
        var psi = new ProcessStartInfo(Environment.ProcessPath!) { RedirectStandardOutput = true, UseShellExecute = false };
        if (Environment.ProcessPath!.EndsWith("dotnet", StringComparison.Ordinal)) psi.ArgumentList.Add(typeof(Program).Assembly.Location);
        psi.ArgumentList.Add("child");
        psi.ArgumentList.Add(workload);
        psi.ArgumentList.Add(mode);
        string capture = Path.Combine(Path.GetTempPath(), $"memnb-bench-{Environment.ProcessId}-{workload}.memnb");
        if (mode.StartsWith("traced", StringComparison.Ordinal)) psi.ArgumentList.Add(capture);
        foreach (var (k, v) in environment ?? new Dictionary<string, string>()) psi.Environment[k] = v;
        // As `memnb run` does, for every mode alike: blocking GCs, no on-stack replacement
        // (see docs/architecture.md).
        psi.Environment["DOTNET_gcConcurrent"] = "0";
        psi.Environment["DOTNET_TC_OnStackReplacement"] = "0";
        if (mode != "untraced")
        {
            psi.Environment["CORECLR_ENABLE_PROFILING"] = "1";
            psi.Environment["CORECLR_PROFILER"] = ProfilerClsid;
            psi.Environment["CORECLR_PROFILER_PATH"] = tracer;
        }
        using var child = Process.Start(psi)!;
        string output = child.StandardOutput.ReadToEnd();
        child.WaitForExit();
        if (child.ExitCode != 0) throw new InvalidOperationException($"{workload}/{mode} exited with {child.ExitCode}: {output}");
        var r = JsonSerializer.Deserialize<Dictionary<string, double>>(output)!;
        long bytes = 0;
        if (File.Exists(capture))
        {
            bytes = new FileInfo(capture).Length;
            File.Delete(capture);
        }
        return new Result(r["loop_ms"], r["stop_ms"], (ulong)r["allocations"], bytes);
    }

    static int Child(string workload, string mode, string? capture)
    {
        long allocCount = long.Parse(Environment.GetEnvironmentVariable("MEMNB_BENCH_ALLOC_COUNT") ?? "50000000", CultureInfo.InvariantCulture);
        Action<long> body = workload switch
        {
            "alloc" => AllocationLoop,
            "mixed" => MixedWorkload,
            "native" => NativeBench.MallocLoop,
            _ => throw new ArgumentException(workload),
        };
        long size = workload is "alloc" or "native" ? allocCount : 200;
        body(Math.Max(1, size / 10));  // warm-up: JIT tiers settle before timing
        Tracker? tracker = mode.StartsWith("traced", StringComparison.Ordinal)
            ? Tracker.Start(capture!, new TrackerOptions { CollectBeforeStop = false, Overwrite = true, Native = mode == "traced-native" })
            : null;
        var sw = Stopwatch.StartNew();
        body(size);
        double loop = sw.Elapsed.TotalMilliseconds;
        ulong allocations = tracker is null ? 0 : Tracker.RecordedAllocations + Tracker.RecordedNativeAllocations;
        sw.Restart();
        tracker?.Stop();
        double stop = sw.Elapsed.TotalMilliseconds;
        Console.WriteLine(JsonSerializer.Serialize(new Dictionary<string, double>
        {
            ["loop_ms"] = loop,
            ["stop_ms"] = stop,
            ["allocations"] = allocations,
        }));
        return 0;
    }

    sealed class Small(long value)
    {
        public long Value = value;
    }

    static object? s_sink;

    // Small short-lived objects: the allocation-bound worst case.
    static void AllocationLoop(long count)
    {
        var ring = new object[1024];
        for (long i = 0; i < count; i++) ring[i & 1023] = new Small(i);
        s_sink = ring;
    }

    sealed record Order(int Id, string Customer, decimal Amount, string[] Tags);

    // A typical application mix: strings, LINQ, collections, JSON.
    static void MixedWorkload(long rounds)
    {
        long checksum = 0;
        for (long round = 0; round < rounds; round++)
        {
            var orders = new List<Order>(2000);
            for (int i = 0; i < 2000; i++)
                orders.Add(new Order(i, "customer-" + (i % 97).ToString(CultureInfo.InvariantCulture), i * 1.5m, new[] { "a", i % 2 == 0 ? "even" : "odd" }));
            var byCustomer = orders.Where(o => o.Amount > 100).GroupBy(o => o.Customer).ToDictionary(g => g.Key, g => g.Sum(o => o.Amount));
            string json = JsonSerializer.Serialize(orders.Take(200));
            var back = JsonSerializer.Deserialize<List<Order>>(json)!;
            var text = string.Join(",", byCustomer.Keys.OrderBy(k => k));
            var numbers = Enumerable.Range(0, 5000).Select(x => x * 3).Where(x => x % 7 != 0).ToArray();
            // Some CPU work that does not allocate, as real programs have.
            double acc = 0;
            for (int i = 0; i < 200_000; i++) acc += Math.Sqrt(i) * Math.Sin(i);
            checksum += back.Count + text.Length + numbers.Length + byCustomer.Count + (long)acc;
        }
        s_sink = checksum;
    }
}
