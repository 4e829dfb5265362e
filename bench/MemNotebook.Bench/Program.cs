using System.Globalization;

namespace MemNotebook.Bench;

// With no verb: the overhead benchmark of issue 12. Each workload runs in a fresh child process per
// mode (plain, plain+vars, loaded, traced, ...), the modes alternating round by round; it prints loop
// times, ratios against plain and plain+vars, capture bytes and dropped records per workload, the
// tracer's per-part ns per allocation, and the goals table. Verbs: arrow, sql, cache, reports, native (= --only native).
public static class Program
{
    const string Usage = "usage: [native] [--repeats N] [--alloc-count N] [--pairs N] [--only alloc,mixed,deep,datascience,native] [--scale F]\n" +
                         "       arrow [--records N] | sql [--records N] | cache [--records N] | reports [--records N]... | attach [--count N] [--rounds N] | postcell [--records N]";

    public static int Main(string[] args)
    {
        if (args.Length >= 1 && args[0] == "child") return Child.Run(args);
        if (args.Length >= 1 && args[0] == "attach-child") return AttachBench.Child();
        if (args.Length >= 1 && args[0] == "attach")
        {
            long count = 10_000_000;
            int rounds = 5;
            for (var i = 1; i + 1 < args.Length; i += 2)
            {
                if (args[i] == "--count") count = long.Parse(args[i + 1], CultureInfo.InvariantCulture);
                else if (args[i] == "--rounds") rounds = int.Parse(args[i + 1], CultureInfo.InvariantCulture);
                else
                {
                    Console.Error.WriteLine($"bench: unknown option {args[i]}\n{Usage}");
                    return 2;
                }
            }
            return AttachBench.Run(count, rounds);
        }
        if (args.Length >= 2 && args[0] == "arrow-child") return ArrowBench.RunChild(args[1..]);
        // `arrow-generate PATH N`: only writes the generated capture (to time `arrow-child convert PATH FOLDER` alone, e.g. under perf).
        if (args.Length >= 3 && args[0] == "arrow-generate")
        {
            ArrowBench.Generate(args[1], long.Parse(args[2], CultureInfo.InvariantCulture));
            return 0;
        }
        if (args.Length >= 1 && args[0] == "arrow")
            return ArrowBench.Run(args.Length >= 3 && args[1] == "--records" ? long.Parse(args[2], CultureInfo.InvariantCulture) : 10_000_000);
        if (args.Length >= 1 && args[0] == "cache")
            return CacheBench.Run(args.Length >= 3 && args[1] == "--records" ? long.Parse(args[2], CultureInfo.InvariantCulture) : 10_000_000);
        if (args.Length >= 2 && args[0] == "postcell-compare") return PostCellBench.Compare(args[1]);
        if (args.Length >= 2 && args[0] == "postcell-child") return PostCellBench.RunChild(args[1..]);
        if (args.Length >= 3 && args[0] == "postcell-capture")
        {
            // The benchmark's capture alone, to profile the child (perf) on it.
            // [LEAF_STACKS]: 50,000 by default, as the benchmark's.
            ArrowBench.Generate(args[1], long.Parse(args[2], CultureInfo.InvariantCulture),
                leafStacks: args.Length >= 4 ? int.Parse(args[3], CultureInfo.InvariantCulture) : 50_000, cell: true);
            return 0;
        }
        if (args.Length >= 1 && args[0] == "postcell")
            return PostCellBench.Run(args.Length >= 3 && args[1] == "--records" ? long.Parse(args[2], CultureInfo.InvariantCulture) : 10_000_000);
        if (args.Length >= 1 && args[0] == "sql")
            return SqlBench.Run(args.Length >= 3 && args[1] == "--records" ? long.Parse(args[2], CultureInfo.InvariantCulture) : 10_000_000);
        if (args.Length >= 1 && args[0] == "reports")
        {
            var sizes = new List<long>();
            for (var i = 1; i + 1 < args.Length; i += 2)
                if (args[i] == "--records") sizes.Add(long.Parse(args[i + 1], CultureInfo.InvariantCulture));
            return ReportsBench.Run(sizes.Count > 0 ? sizes : [1_000_000, 10_000_000]);
        }
        return Overhead(args);
    }

    static int Overhead(string[] args)
    {
        int repeats = 3;
        double scale = 1;
        long allocCount = 100_000_000, pairs = 20_000_000;
        var only = Workload.All.Select(w => w.Name).ToList();
        int i = 0;
        if (args.Length > 0 && args[0] == "native")
        {
            only = ["native"];
            i++;
        }
        try
        {
            for (; i < args.Length; i++)
            {
                string Value() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
                switch (args[i])
                {
                    case "--repeats": repeats = int.Parse(Value(), CultureInfo.InvariantCulture); break;
                    case "--alloc-count": allocCount = long.Parse(Value(), CultureInfo.InvariantCulture); break;
                    case "--pairs": pairs = long.Parse(Value(), CultureInfo.InvariantCulture); break;
                    case "--scale": scale = double.Parse(Value(), CultureInfo.InvariantCulture); break;
                    case "--only": only = Value().Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToList(); break;
                    default: throw new ArgumentException($"unknown option {args[i]}");
                }
            }
            only.ForEach(name => Workload.Named(name));
        }
        catch (Exception e) when (e is ArgumentException or FormatException)
        {
            Console.Error.WriteLine($"bench: {e.Message}\n{Usage}");
            return 2;
        }

        string tracer = Path.Combine(AppContext.BaseDirectory, "libmemnb_tracer.so");
        if (!File.Exists(tracer))
        {
            Console.Error.WriteLine($"bench: {tracer} is missing; build the solution first");
            return 1;
        }
        if (only.Contains("native") && !File.Exists(NativeWorkload.Program))
        {
            Console.Error.WriteLine($"bench: {NativeWorkload.Program} is missing; build native/ (cmake) first");
            return 1;
        }
        if (only.Contains("native") && !(Environment.GetEnvironmentVariable("PATH") ?? "").Split(':').Any(dir => File.Exists(Path.Combine(dir, "heaptrack"))))
        {
            Console.Error.WriteLine("bench: heaptrack is not on PATH (apt-get install heaptrack), or leave native out: --only alloc,mixed,deep,datascience");
            return 1;
        }

        var sizes = new BenchSizes(scale, allocCount, pairs);
        var runner = new Runner(tracer, sizes, repeats);
        Report.Header(repeats, sizes);
        var results = new List<WorkloadResults>();
        foreach (var workload in Workload.All.Where(w => only.Contains(w.Name)))
        {
            results.Add(runner.Run(workload));
            Report.Workload(results[^1]);
        }
        Report.Breakdown(results);
        Report.Goals(results);
        return 0;
    }
}
