using System.Diagnostics;
using MemNotebook.Recorder.Arrow;
using MemNotebook.Recorder.Sql;

namespace MemNotebook.Bench;

// `sql [--records N]`: generates a capture of N allocation records (as `arrow` does), converts it, writes its
// Parquet tables (timed once) and times two queries, three runs each: a GROUP BY over the allocations and a join of
// allocations, stacks, frames and types with a filter. Goals: ≤ 0.5 s, ≤ 1 s, ≤ 6 bytes of Parquet per allocation.
internal static class SqlBench
{
    public const string GroupBy = "SELECT type_id, count(*) AS n, sum(size) AS bytes, count(freed_at_ns) AS freed FROM allocations GROUP BY type_id ORDER BY bytes DESC";

    public const string Join = """
        SELECT t.name AS type, f.function, count(*) AS n, sum(a.size) AS bytes
        FROM allocations a JOIN stacks s ON s.stack_id = a.stack_id JOIN frames f ON f.ip = s.ip JOIN types t ON t.type_id = a.type_id
        WHERE a.freed_at_ns IS NULL AND t.is_array
        GROUP BY ALL ORDER BY bytes DESC LIMIT 10
        """;

    public static int Run(long records)
    {
        var dir = Path.Combine(Path.GetTempPath(), $"memnb-sql-bench-{Environment.ProcessId}");
        Directory.CreateDirectory(dir);
        try
        {
            var capture = Path.Combine(dir, "bench.memnb");
            ArrowBench.Generate(capture, records);
            var conversion = ArrowConverter.EnsureConverted(capture);
            var sw = Stopwatch.StartNew();
            var sql = SqlCaptures.Of(capture, "bench");
            var parquetSeconds = sw.Elapsed.TotalSeconds;
            var allocationsBytes = new FileInfo(ParquetTables.TablePath(sql.ParquetFolder, ArrowLayout.Allocations)).Length;
            var totalBytes = Directory.EnumerateFiles(sql.ParquetFolder).Sum(f => new FileInfo(f).Length);
            Console.WriteLine($"{records:N0} allocations, {Environment.ProcessorCount} cores; Parquet written in {parquetSeconds:F2} s: " +
                $"allocations {allocationsBytes / (double)conversion.Metadata.Allocations:F2} B/row, all tables {totalBytes / (double)conversion.Metadata.Allocations:F2} B/row");
            using var session = SqlSession.Open([sql]);
            foreach (var (name, query) in new[] { ("GROUP BY", GroupBy), ("join + filter", Join) })
            {
                var times = new List<double>();
                long rows = 0;
                for (var i = 0; i < 3; i++)
                {
                    sw.Restart();
                    rows = session.Query(query).Rows.Count;
                    times.Add(sw.Elapsed.TotalSeconds);
                }
                Console.WriteLine($"{name}: {string.Join(", ", times.Select(t => $"{t:F3}"))} s ({rows} rows)");
            }
            return 0;
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
