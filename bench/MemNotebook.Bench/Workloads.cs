using System.Globalization;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using Microsoft.Data.Analysis;

namespace MemNotebook.Bench;

/// <summary>Sizes of one benchmark invocation; <see cref="Scale"/> shrinks every workload for a quick check.</summary>
internal sealed record BenchSizes(double Scale, long AllocCount, long NativePairs)
{
    public long Scaled(long full) => Math.Max(1, (long)Math.Round(full * Scale));
}

/// <summary>
/// One program whose timed part the benchmark runs in a fresh child process per mode. Prepare is
/// untimed: it makes the inputs the timed part reads and runs a smaller first pass, so the JIT's tiers
/// have settled before timing (in every mode alike).
/// </summary>
internal abstract class Workload
{
    public abstract string Name { get; }
    public abstract string Describe(BenchSizes sizes);

    /// <summary>The modes of one round of the rotation; plain first.</summary>
    public virtual Mode[] Modes => [Mode.Plain, Mode.PlainVars, Mode.Loaded, Mode.Floor, Mode.Traced, Mode.Run];

    /// <summary>The mode of the extra run with MEMNB_TIMING=1 (the per-part breakdown).</summary>
    public virtual Mode TimingMode => Mode.Traced;

    public abstract void Prepare(BenchSizes sizes);
    public abstract void Run();
    public virtual void Cleanup() { }

    public static readonly Workload[] All = [new AllocWorkload(), new MixedWorkload(), new DeepWorkload(), new DataScienceWorkload(), new NativeWorkload()];

    public static Workload Named(string name) =>
        All.FirstOrDefault(w => w.Name == name) ?? throw new ArgumentException($"unknown workload '{name}' (known: {string.Join(", ", All.Select(w => w.Name))})");

    // Keeps results reachable so the JIT cannot drop the work that made them.
    protected static object? Sink;
}

/// <summary>Small short-lived objects: the allocation-bound worst case. Also recorded with native tracking on (no native allocations).</summary>
internal sealed class AllocWorkload : Workload
{
    long count;

    public override string Name => "alloc";
    public override string Describe(BenchSizes sizes) => $"{sizes.Scaled(sizes.AllocCount):N0} small objects in a loop";
    public override Mode[] Modes => [Mode.Plain, Mode.PlainVars, Mode.Loaded, Mode.Floor, Mode.Traced, Mode.TracedNative, Mode.Run];

    public override void Prepare(BenchSizes sizes)
    {
        count = sizes.Scaled(sizes.AllocCount);
        Loop(Math.Max(1, count / 10));
    }

    public override void Run() => Loop(count);

    sealed class Small(long value)
    {
        public long Value = value;
    }

    static void Loop(long n)
    {
        var ring = new object[1024];
        for (long i = 0; i < n; i++) ring[i & 1023] = new Small(i);
        Sink = ring;
    }
}

/// <summary>A typical application mix: JSON round trips, LINQ GroupBy, string building, dictionaries, and CPU work that does not allocate.</summary>
internal sealed class MixedWorkload : Workload
{
    // About 11k allocations a round (11M in all), ~2.5 s untraced on the 2-core reference machine.
    const long FullRounds = 1000;
    long rounds;

    public override string Name => "mixed";
    public override string Describe(BenchSizes sizes) => $"{sizes.Scaled(FullRounds)} rounds of JSON + LINQ GroupBy + strings + dictionaries";

    public override void Prepare(BenchSizes sizes)
    {
        rounds = sizes.Scaled(FullRounds);
        Mix(Math.Max(1, rounds / 10));
    }

    public override void Run() => Mix(rounds);

    sealed record Order(int Id, string Customer, double Amount, string[] Tags);

    static void Mix(long n)
    {
        long checksum = 0;
        for (long round = 0; round < n; round++)
        {
            var orders = new List<Order>(2000);
            for (int i = 0; i < 2000; i++)
                orders.Add(new Order(i, "customer-" + (i % 97).ToString(CultureInfo.InvariantCulture), i * 1.5, ["a", i % 2 == 0 ? "even" : "odd"]));
            var byCustomer = orders.Where(o => o.Amount > 100).GroupBy(o => o.Customer).ToDictionary(g => g.Key, g => g.Sum(o => o.Amount));
            string json = JsonSerializer.Serialize(orders.Take(50));
            var back = JsonSerializer.Deserialize<List<Order>>(json)!;
            var byTag = new Dictionary<string, List<int>>();
            foreach (var order in back)
                foreach (var tag in order.Tags)
                {
                    if (!byTag.TryGetValue(tag, out var ids)) byTag[tag] = ids = new List<int>();
                    ids.Add(order.Id);
                }
            var text = new StringBuilder();
            foreach (var key in byCustomer.Keys.OrderBy(k => k, StringComparer.Ordinal)) text.Append(key).Append('=').Append(byCustomer[key]).Append(',');
            var labels = orders.Select(o => o.Customer + ":" + o.Id.ToString(CultureInfo.InvariantCulture)).ToList();
            var fields = json.Split(',');
            var numbers = Enumerable.Range(0, 2000).Select(x => x * 3).Where(x => x % 7 != 0).ToArray();
            double acc = 0;
            for (int i = 0; i < 5_000; i++) acc += Math.Sqrt(i) * Math.Sin(i);
            checksum += back.Count + text.Length + numbers.Length + byCustomer.Count + byTag.Count + labels.Count + fields.Length + (long)acc;
        }
        Sink = checksum;
    }
}

/// <summary>
/// Deep, changing stacks: a binary tree built recursively under a 40-frame prefix, so every node's
/// allocation stack is its path from the root (about 2M distinct stacks of 41–61 managed frames).
/// </summary>
internal sealed class DeepWorkload : Workload
{
    const int PrefixFrames = 40;
    const int FullDepth = 20;
    const int FullRounds = 8;
    int depth, rounds;

    public override string Name => "deep";
    public override string Describe(BenchSizes sizes)
    {
        var (d, r) = Size(sizes.Scale);
        return $"{r} tree{(r == 1 ? "" : "s")} of depth {d} under a {PrefixFrames}-frame prefix ({r * ((2L << d) - 1):N0} objects, {(2L << d) - 1:N0} distinct stacks)";
    }

    // A scale below one tree per run takes levels off the tree instead (each level halves it).
    static (int Depth, int Rounds) Size(double scale)
    {
        double trees = FullRounds * scale;
        if (trees >= 1) return (FullDepth, (int)Math.Round(trees));
        return (Math.Max(1, FullDepth - (int)Math.Ceiling(Math.Log2(1 / trees))), 1);
    }

    public override void Prepare(BenchSizes sizes)
    {
        (depth, rounds) = Size(sizes.Scale);
        Prefix(PrefixFrames, Math.Min(depth, 10));
    }

    public override void Run()
    {
        for (int i = 0; i < rounds; i++) Prefix(PrefixFrames, depth);
    }

    sealed class Node(Node? left, Node? right)
    {
        public Node? Left = left, Right = right;
    }

    static long s_frames;

    // The increment after the call keeps it from being a tail call, which would reuse the frame and
    // flatten the prefix.
    [MethodImpl(MethodImplOptions.NoInlining)]
    static void Prefix(int frames, int depth)
    {
        if (frames == 0)
        {
            Sink = Build(depth);
            return;
        }
        Prefix(frames - 1, depth);
        s_frames++;
    }

    // Two call sites, so the left and right subtrees' stacks differ at every level.
    [MethodImpl(MethodImplOptions.NoInlining)]
    static Node Build(int depth)
    {
        if (depth == 0) return new Node(null, null);
        var left = Build(depth - 1);
        var right = Build(depth - 1);
        return new Node(left, right);
    }
}

/// <summary>
/// A data-science notebook cell: a CSV (written before timing) loaded into a DataFrame and grouped,
/// then LINQ over a million records.
/// </summary>
internal sealed class DataScienceWorkload : Workload
{
    const long FullRows = 300_000;
    const long FullRecords = 1_000_000;
    static readonly string[] Categories = Enumerable.Range(0, 40).Select(i => $"category-{i}").ToArray();
    static readonly string[] Regions = ["north", "south", "east", "west", "centre"];
    long rows, records;
    string csv = "", warmCsv = "";

    public override string Name => "datascience";
    public override string Describe(BenchSizes sizes) =>
        $"CSV of {sizes.Scaled(FullRows):N0} rows → DataFrame → GroupBy/Sum, LINQ over {sizes.Scaled(FullRecords):N0} records";

    public override void Prepare(BenchSizes sizes)
    {
        rows = sizes.Scaled(FullRows);
        records = sizes.Scaled(FullRecords);
        string stem = Path.Combine(Path.GetTempPath(), $"memnb-bench-{Environment.ProcessId}");
        csv = stem + ".csv";
        warmCsv = stem + "-warm.csv";
        WriteCsv(csv, rows);
        WriteCsv(warmCsv, Math.Max(10, rows / 10));
        Cell(warmCsv, Math.Max(10, records / 10));
    }

    public override void Run() => Cell(csv, records);

    public override void Cleanup()
    {
        File.Delete(csv);
        File.Delete(warmCsv);
    }

    static void WriteCsv(string path, long n)
    {
        using var writer = new StreamWriter(path);
        writer.WriteLine("id,category,region,amount,quantity");
        for (long i = 0; i < n; i++)
            writer.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{i},{Categories[i % Categories.Length]},{Regions[i % Regions.Length]},{i % 1000 * 0.25},{i % 17}"));
    }

    sealed record Sale(long Id, string Category, string Region, double Amount, int Quantity);

    static void Cell(string path, long n)
    {
        var frame = DataFrame.LoadCsv(path, dataTypes: [typeof(long), typeof(string), typeof(string), typeof(double), typeof(int)],
            cultureInfo: CultureInfo.InvariantCulture);
        var totals = frame.GroupBy("category").Sum("amount", "quantity");
        var sales = new List<Sale>();
        for (long i = 0; i < n; i++)
            sales.Add(new Sale(i, Categories[i % Categories.Length], Regions[i % Regions.Length] + "-" + (i % 7).ToString(CultureInfo.InvariantCulture), i % 1000 * 0.25, (int)(i % 17)));
        var byRegion = sales.GroupBy(s => s.Region)
            .Select(g => new { Region = g.Key, Amount = g.Sum(s => s.Amount), Count = g.Count() })
            .OrderByDescending(g => g.Amount)
            .ToList();
        var largest = sales.OrderByDescending(s => s.Amount).ThenBy(s => s.Id).Take(1000).ToList();
        Sink = (totals.Rows.Count, byRegion.Count, largest.Count);
    }
}

/// <summary>
/// A C loop of malloc/free pairs of mixed sizes (memnb_test_malloc_loop in native/tests/nativelib,
/// -O2, no frame pointers) called once through P/Invoke; the same loop also runs as a C program,
/// plainly and under heaptrack.
/// </summary>
internal sealed class NativeWorkload : Workload
{
    [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
    delegate ulong LoopFunction(ulong count);

    LoopFunction? loop;
    long pairs;

    public static string TestNativeDir =>
        Environment.GetEnvironmentVariable("MEMNB_BENCH_TESTNATIVE_DIR")
        ?? Path.GetFullPath(Path.Combine(AppContext.BaseDirectory, "../../../../../artifacts/native-build/Release/testnative"));

    public static string Program => Path.Combine(TestNativeDir, "memnb_malloc_loop");

    public override string Name => "native";
    public override string Describe(BenchSizes sizes) => $"C loop of {sizes.Scaled(sizes.NativePairs):N0} malloc/free pairs (16 B to 4 KB) via P/Invoke";
    public override Mode[] Modes => [Mode.Plain, Mode.PlainVars, Mode.Loaded, Mode.TracedNative, Mode.CProgram, Mode.Heaptrack];
    public override Mode TimingMode => Mode.TracedNative;

    public override void Prepare(BenchSizes sizes)
    {
        pairs = sizes.Scaled(sizes.NativePairs);
        loop = Marshal.GetDelegateForFunctionPointer<LoopFunction>(
            NativeLibrary.GetExport(NativeLibrary.Load(Path.Combine(TestNativeDir, "libmemnb_testnative.so")), "memnb_test_malloc_loop"));
        loop((ulong)Math.Max(1, pairs / 10));
    }

    public override void Run() => Sink = loop!((ulong)pairs);
}
