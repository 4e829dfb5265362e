namespace MemNotebook.Bench;

/// <summary>Prints the benchmark's tables: per workload as it finishes, then the per-part breakdown and issue 12's goals.</summary>
internal static class Report
{
    public static void Header(int repeats, BenchSizes sizes)
    {
        Console.WriteLine($"MemNotebook overhead benchmark (.NET {Environment.Version}, {Environment.ProcessorCount} cores; {repeats} round{(repeats == 1 ? "" : "s")}, " +
                          $"each ratio the median of per-round ratios{(sizes.Scale != 1 ? $"; scale {sizes.Scale}" : "")})");
        Console.WriteLine("plain = runtime defaults, no added variables; plain+vars = untraced with memnb run's variables;");
        Console.WriteLine("loaded = tracer loaded as profiler, not recording; traced = recording the timed part to a capture on disk;");
        Console.WriteLine("floor = a recording's event masks with callbacks that return at once (MEMNB_FLOOR=1): the runtime's own share.");
        Console.WriteLine("vs plain / vs +vars: loop wall time (what users see); cpu/thr: CPU time of the allocating thread, cpu/all: of the");
        Console.WriteLine("whole process (writer, JIT, GC threads too), each against plain: they do not grow while another process holds the cores.");
    }

    public static void Workload(WorkloadResults w)
    {
        Console.WriteLine();
        Console.WriteLine($"{w.Workload.Name}: {w.Description}");
        Console.WriteLine($"  {"mode",-14} {"loop ms",9} {"vs plain",9} {"vs +vars",9} {"cpu/thr",8} {"cpu/all",8} {"stop ms",8} {"records",13} {"B/record",9} {"dropped",8}");
        foreach (var (mode, runs) in w.Runs)
        {
            if (mode is Mode.CProgram or Mode.Heaptrack) continue;
            string line = $"  {mode.Label(),-14} {w.MedianLoopMs(mode),9:N0} {X(w.Ratio(mode, Mode.Plain)),9} {(mode == Mode.Plain ? "" : X(w.Ratio(mode, Mode.PlainVars))),9}" +
                          $" {X(w.Ratio(mode, Mode.Plain, r => r.ThreadCpuMs)),8} {X(w.Ratio(mode, Mode.Plain, r => r.ProcessCpuMs)),8}";
            if (mode.Records())
            {
                var last = runs[^1];
                line += $" {runs.Select(r => r.StopMs).Order().ElementAt(runs.Count / 2),8:N0} {last.Records,13:N0} {BytesPerRecord(last),9:F2} {Dropped(runs),8}";
            }
            Console.WriteLine(line);
        }
        if (w.Ratio(Mode.Traced, Mode.Loaded) is double own)
            Console.WriteLine($"  traced ÷ loaded (our own share): {own:F2}");
        if (w.Ratio(Mode.Floor, Mode.Plain) is double floor && w.Ratio(Mode.Traced, Mode.Floor) is double callbacks)
            Console.WriteLine($"  floor ÷ plain (what the runtime alone costs a recording): {floor:F2}x; traced ÷ floor (the tracer's callbacks): {callbacks:F2}");
        if (w.Ratio(Mode.Run, Mode.Traced) is double run)
            Console.WriteLine($"  memnb run ÷ traced (the whole process recorded from its start, against a region of Tracker.Start): {run:F2}");
        if (w.Ratio(Mode.TracedNative, Mode.Traced) is double native)
            Console.WriteLine($"  traced-native ÷ traced (--native on a program with no native allocations): {native:F3}");
        if (w.Ratio(Mode.Heaptrack, Mode.CProgram) is double heaptrack && w.Ratio(Mode.TracedNative, Mode.Plain) is double ours)
        {
            Console.WriteLine($"  C program {w.MedianLoopMs(Mode.CProgram):N0} ms, under heaptrack {w.MedianLoopMs(Mode.Heaptrack):N0} ms: {heaptrack:F2}x");
            Console.WriteLine($"  memnb --native {ours:F2}x ÷ heaptrack {heaptrack:F2}x = {ours / heaptrack:F2} of heaptrack's ratio");
        }
    }

    public static void Breakdown(IReadOnlyList<WorkloadResults> all)
    {
        Console.WriteLine();
        Console.WriteLine("ns per allocation by part (a separate traced run with MEMNB_TIMING=1; every 64th allocation timed part by part;");
        Console.WriteLine("GC-side, writer and zstd: their totals divided by all allocations of that run)");
        Console.WriteLine($"  {"workload",-12} {"walk",7} {"intern",7} {"encode",7} {"lifetime",9} {"hook",7} {"GC-side",8} {"writer",7} {"zstd",7} {"timed",11} {"dropped",8}");
        foreach (var w in all)
        {
            // No timing run means the tracer has no memnb_overhead_counters (see Runner.Run).
            if (w.Timing?.Counters is not { } counters || counters[OverheadCounter.Timed] == 0)
            {
                Console.WriteLine($"  {w.Workload.Name,-12} {"n/a",7}   ({(w.Timing is null ? "the tracer has no memnb_overhead_counters" : "the tracer timed no allocation")})");
                continue;
            }
            double timed = counters[OverheadCounter.Timed], records = Math.Max(1UL, w.Timing.Records);
            string Part(int i) => $"{counters[i] / timed,7:F1}";
            string Total(int i, int width) => (counters[i] / records).ToString("F1").PadLeft(width);
            Console.WriteLine($"  {w.Workload.Name,-12} {Part(OverheadCounter.Walk)} {Part(OverheadCounter.Intern)} {Part(OverheadCounter.Encode)} " +
                              $"{counters[OverheadCounter.LifetimeLog] / timed,9:F1} {Part(OverheadCounter.Hook)} {Total(OverheadCounter.Gc, 8)} " +
                              $"{Total(OverheadCounter.Writer, 7)} {Total(OverheadCounter.Compression, 7)} {counters[OverheadCounter.Timed],11:N0} {counters[OverheadCounter.Dropped],8:N0}");
        }
    }

    public static void Goals(IReadOnlyList<WorkloadResults> all)
    {
        WorkloadResults? Of(string name) => all.FirstOrDefault(w => w.Workload.Name == name);
        var goals = new List<(string Goal, string Measured, bool? Met)>();
        void Ratio(string goal, string workload, Mode numerator, Mode denominator, double bound, string unit = "x")
        {
            double? r = Of(workload)?.Ratio(numerator, denominator);
            goals.Add((goal, r is double v ? $"{v:F2}{unit}" : "not run", r is double m ? m <= bound : null));
        }
        Ratio("mixed: traced ÷ plain ≤ 1.5x", "mixed", Mode.Traced, Mode.Plain, 1.5);
        Ratio("alloc: traced ÷ plain ≤ 8x", "alloc", Mode.Traced, Mode.Plain, 8);
        Ratio("alloc: traced ÷ loaded ≤ 1.5", "alloc", Mode.Traced, Mode.Loaded, 1.5, "");
        Ratio("deep: traced ÷ plain ≤ 4x", "deep", Mode.Traced, Mode.Plain, 4);
        if (Of("native") is { } n && n.Ratio(Mode.TracedNative, Mode.Plain) is double ours && n.Ratio(Mode.Heaptrack, Mode.CProgram) is double heaptrack)
            goals.Add(("native: ours ≤ ½ heaptrack's ratio", $"{ours:F2}x vs {heaptrack:F2}x = {ours / heaptrack:F2}", ours <= heaptrack / 2));
        else
            goals.Add(("native: ours ≤ ½ heaptrack's ratio", "not run", null));
        Ratio("--native on a managed loop ≤ 1.05x traced", "alloc", Mode.TracedNative, Mode.Traced, 1.05);

        // Every capture counts for drops, the timing runs' too; bytes per record come from the ratio runs.
        var traced = all.SelectMany(w => w.Runs.Where(r => r.Key.Records())
                .Select(r => (Name: $"{w.Workload.Name} {r.Key.Label()}", Runs: r.Value))
                .Append((Name: $"{w.Workload.Name} timing run", Runs: w.Timing is null ? [] : [w.Timing])))
            .Where(t => t.Runs.Count > 0).ToList();
        if (traced.Count == 0)
        {
            goals.Add(("no dropped records", "not run", null));
            goals.Add(("≤ 3 bytes per allocation record", "not run", null));
        }
        else
        {
            long dropped = traced.Sum(t => t.Runs.Sum(r => r.Dropped ?? 0));
            bool missingEnd = traced.Any(t => t.Runs.Any(r => r.Dropped is null));
            var mostDropped = traced.MaxBy(t => t.Runs.Sum(r => r.Dropped ?? 0));
            goals.Add(("no dropped records", (dropped == 0 ? "0" : $"{dropped:N0} (most: {mostDropped.Name})") +
                       (missingEnd ? ", a capture without END" : ""), dropped == 0 && !missingEnd));
            var largest = traced.Where(t => !t.Name.EndsWith("timing run", StringComparison.Ordinal)).MaxBy(t => BytesPerRecord(t.Runs[^1]));
            double bytes = BytesPerRecord(largest.Runs[^1]);
            goals.Add(("≤ 3 bytes per allocation record", $"{bytes:F2} (most: {largest.Name})", bytes <= 3));
        }

        Console.WriteLine();
        Console.WriteLine("Goals (issue 12)");
        foreach (var (goal, measured, met) in goals)
            Console.WriteLine($"  {goal,-44} {measured,-34} {(met switch { true => "met", false => "NOT MET", null => "-" })}");
    }

    static string X(double? ratio) => ratio is double r ? $"{r:F2}x" : "";

    static double BytesPerRecord(RunResult run) => (double)run.CaptureBytes / Math.Max(1UL, run.Records);

    static string Dropped(List<RunResult> runs) =>
        runs.Any(r => r.Dropped is null) ? "no END" : runs.Max(r => r.Dropped!.Value).ToString("N0");
}
