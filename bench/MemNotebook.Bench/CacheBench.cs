using System.Diagnostics;
using Apache.Arrow;
using Apache.Arrow.Ipc;
using MemNotebook.Recorder.Arrow;
using Microsoft.Data.Analysis;

namespace MemNotebook.Bench;

// `cache [--records N]`: generates a capture of N allocation records (as `arrow` does), converts it into its cache
// folder (timed), prints the cache's bytes per allocation row (all tables, and the allocations table by column), loads
// it, and times filtering and grouping the Allocations DataFrame by size, type and function, three runs each, with
// Microsoft.Data.Analysis and with the views' fast paths. Goals (issue 13): ≤ 8 B/row, ≤ 1 s each.
internal static class CacheBench
{
    public static int Run(long records)
    {
        var dir = Path.Combine(Path.GetTempPath(), $"memnb-cache-bench-{Environment.ProcessId}");
        Directory.CreateDirectory(dir);
        try
        {
            var capture = Path.Combine(dir, "bench.memnb");
            ArrowBench.Generate(capture, records, leafStacks: 20_000);
            var folder = Path.Combine(dir, "bench.memnb.arrow");
            var sw = Stopwatch.StartNew();
            var conversion = ArrowConverter.Convert(capture, folder);
            var convertSeconds = sw.Elapsed.TotalSeconds;
            var rows = (double)conversion.Metadata.Allocations;
            var total = Directory.EnumerateFiles(folder).Sum(f => new FileInfo(f).Length);
            var allocations = new FileInfo(ArrowLayout.TablePath(folder, ArrowLayout.Allocations)).Length;
            Console.WriteLine($"{rows:N0} allocations, {Environment.ProcessorCount} cores; converted in {convertSeconds:F2} s; capture {new FileInfo(capture).Length / rows:F2} B/row");
            Console.WriteLine($"cache: all tables {total / rows:F2} B/row ({total / 1048576.0:F1} MiB), allocations table {allocations / rows:F2} B/row");
            Console.WriteLine("  by column (each alone, same compression): " + string.Join(", ", ColumnBytes(ArrowLayout.TablePath(folder, ArrowLayout.Allocations)).Select(c => $"{c.Name} {c.Bytes / rows:F2}")));

            sw.Restart();
            var loaded = Capture.Load(folder);
            var frame = loaded.Allocations;
            Console.WriteLine($"load + Allocations DataFrame: {sw.Elapsed.TotalSeconds:F2} s; columns: {string.Join(", ", frame.Columns.Select(c => c.Name))}");
            var all = loaded.All;
            // The most common type and function: the filters' largest results.
            var typeName = (string)all.TopTypes(1, Recorder.Analysis.Measure.Count)["type"][0];
            var function = (string)all.TopFunctions(1, Recorder.Analysis.Measure.Count)["function"][0];
            Console.WriteLine($"load average {LoadAverage()}; medians of 3 (all 3 runs shown)");
            Time("MDA Filter(size > 85_000)", () => frame.Filter(frame["size"].ElementwiseGreaterThan(85_000)).Rows.Count);
            Time("MDA GroupBy(type_id).Sum(size)", () => frame.GroupBy("type_id").Sum("size").Rows.Count);
            Time("view LargerThan(85_000)", () => all.LargerThan(85_000).Count);
            Time($"view OfType(most common: {Short(typeName)})", () => all.OfType(typeName).Count);
            Time($"view InFunction(most common: {Short(function)})", () => all.InFunction(function).Count);
            Time("view TopTypes(all) (group by type)", () => all.TopTypes(int.MaxValue).Rows.Count);
            Time("view TopFunctions(all) (group by function)", () => all.TopFunctions(int.MaxValue).Rows.Count);
            // The generated sizes are 24…80 bytes: more than 64 keeps a quarter of the rows.
            Time("view LargerThan(64)", () => all.LargerThan(64).Count);
            Time("view LargerThan(85_000).Allocations", () => all.LargerThan(85_000).Allocations.Rows.Count);
            Time("view LargerThan(64).Allocations", () => all.LargerThan(64).Allocations.Rows.Count);
            Time("view OfType(most common).Allocations", () => all.OfType(typeName).Allocations.Rows.Count);
            return 0;
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    internal static void Time(string name, Func<long> action)
    {
        var times = new List<double>();
        long result = 0;
        for (var i = 0; i < 3; i++)
        {
            var sw = Stopwatch.StartNew();
            result = action();
            times.Add(sw.Elapsed.TotalSeconds);
        }
        var median = times.Order().ElementAt(1);
        Console.WriteLine($"{name,-58} median {median:F3} s ({string.Join(", ", times.Select(t => $"{t:F3}"))}) -> {result:N0} rows");
    }

    static string Short(string name) => name.Length <= 30 ? name : name[..27] + "...";

    static string LoadAverage() =>
        File.Exists("/proc/loadavg") ? string.Join(" ", File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "unknown";

    /// <summary>The compressed bytes of each column of an Arrow file, written alone with the cache's compression.</summary>
    static IEnumerable<(string Name, long Bytes)> ColumnBytes(string path)
    {
        var table = ArrowTableReader.ReadTable(path, ArrowLayout.AllocationsSchema);
        for (var c = 0; c < table.ColumnCount; c++)
        {
            var field = table.Schema.GetFieldByIndex(c);
            var schema = new Schema([field], null);
            using var memory = new MemoryStream();
            using (var writer = new ArrowFileWriter(memory, schema, leaveOpen: true, ArrowCompression.WriteOptions))
            {
                for (var start = 0; start < table.Length; start += ArrowLayout.BatchRows)
                {
                    var n = Math.Min(ArrowLayout.BatchRows, table.Length - start);
                    writer.WriteRecordBatch(new RecordBatch(schema, [ArrowArrayFactory.Slice(table.Column(c), start, n)], n));
                }
                writer.WriteEnd();
            }
            yield return (field.Name, memory.Length);
        }
    }
}
