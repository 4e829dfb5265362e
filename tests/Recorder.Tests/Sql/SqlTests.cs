using System.Text.Json;
using DuckDB.NET.Data;
using MemNotebook.Recorder.Analysis;
using MemNotebook.Recorder.Sql;
using MemNotebook.Recorder.Tests.Aggregated;
using MemNotebook.Recorder.Tests.Arrow;
using MemNotebook.Recorder.Tests.Capture;
using MemNotebook.Recorder.Tests.Cli;
using MemNotebook.Recorder.Tests.Profiler;
using Microsoft.Data.Analysis;
using Xunit;
using LoadedCapture = MemNotebook.Capture;

namespace MemNotebook.Recorder.Tests.Sql;

// Captures.Small(): String 32 and 48 B (freed in the GC), Byte[] 1024 and 16 B (alive at the end).
public class SqlTests
{
    private static DataFrame Sorted(DataFrame frame, string column) => frame.OrderBy(column);

    [Fact]
    public void Allocations_named_gives_each_allocation_its_type_and_function_as_the_dataframes_do()
    {
        using var scratch = new ScratchFolder();
        var capture = LoadedCapture.Load(scratch.Write("small.memnb", Captures.Small()));
        var byType = capture.Sql("""
            SELECT capture, type, count(*) AS n, sum(size) AS bytes, count(*) FILTER (alive_at_end) AS alive
            FROM allocations_named GROUP BY ALL ORDER BY type
            """);
        Assert.Equal(new[] { "capture", "type", "n", "bytes", "alive" }, byType.Columns.Select(c => c.Name));
        Assert.Equal(new object[] { "small", "System.Byte[]", 2L, 1040L, 2L }, byType.Rows[0].ToArray());
        Assert.Equal(new object[] { "small", "System.String", 2L, 80L, 0L }, byType.Rows[1].ToArray());

        // Row by row, the same as the Allocations DataFrame and the function the Stacks DataFrame charges.
        var rows = capture.Sql("SELECT id, size, stack_id, function, freed_at_ns FROM allocations_named ORDER BY id");
        var allocations = capture.Allocations;
        Assert.Equal(allocations.Rows.Count, rows.Rows.Count);
        var stacks = capture.Stacks;
        var functionOf = Enumerable.Range(0, (int)stacks.Rows.Count).ToDictionary(i => (int)stacks["stack_id"][i], i => (string)stacks["function"][i]);
        for (var i = 0; i < rows.Rows.Count; i++)
        {
            Assert.Equal(allocations["id"][i], rows["id"][i]);
            Assert.Equal(allocations["size"][i], rows["size"][i]);
            Assert.Equal(functionOf[(int)allocations["stack_id"][i]], rows["function"][i]);
            Assert.Equal(allocations["freed_at_ns"][i], rows["freed_at_ns"][i]);
        }
        var stats = CaptureStats.Compute(capture.Path, 10);
        var totals = capture.Sql("SELECT count(*) AS n, sum(size) AS bytes, count(freed_at_ns) AS freed FROM allocations");
        Assert.Equal(new object[] { stats.TotalAllocations, stats.TotalBytes, stats.FreedAllocations }, totals.Rows[0].ToArray());
        Assert.Equal(4L, stats.TotalAllocations);
        Assert.Equal(1120L, stats.TotalBytes);
    }

    [Fact]
    public void Stack_frames_names_each_node_by_its_frame_with_module()
    {
        using var scratch = new ScratchFolder();
        var capture = LoadedCapture.Load(scratch.Write("small.memnb", Captures.Small()));
        var frames = capture.Sql("SELECT stack_id, parent_id, depth, function, kind, module FROM stack_frames ORDER BY stack_id");
        Assert.Equal(2, frames.Rows.Count);
        Assert.Equal(new object[] { 1, 0, 1, "MyApp.Program.Main", "managed", "MyApp.dll" }.Select(Normal), frames.Rows[0].Select(Normal));
        Assert.Equal(new object[] { 2, 1, 2, "memcpy", "native", "libc.so.6" }.Select(Normal), frames.Rows[1].Select(Normal));
    }

    private static object? Normal(object? value) => value is int i ? (long)i : value;

    [Fact]
    public void Several_captures_are_told_apart_by_the_capture_column()
    {
        using var scratch = new ScratchFolder();
        var before = LoadedCapture.Load(scratch.Write("before.memnb", ViewCaptures.Workload(3, 5)));
        var after = LoadedCapture.Load(scratch.Write("after.memnb", ViewCaptures.Workload(1, 2)));
        var result = LoadedCapture.Sql([before, after], """
            SELECT capture, type, count(*) AS n, sum(size) AS bytes FROM allocations_named GROUP BY ALL ORDER BY capture, type
            """);
        Assert.Equal(4, result.Rows.Count);
        Assert.Equal(new object[] { "after", "App.Big", 1L, 1000L }, result.Rows[0].ToArray());
        Assert.Equal(new object[] { "after", "App.Small", 2L, 20L }, result.Rows[1].ToArray());
        Assert.Equal(new object[] { "before", "App.Big", 3L, 3000L }, result.Rows[2].ToArray());
        Assert.Equal(new object[] { "before", "App.Small", 5L, 50L }, result.Rows[3].ToArray());
    }

    [Fact]
    public void An_aggregated_capture_has_an_aggregates_view_and_no_allocations()
    {
        using var scratch = new ScratchFolder();
        var capture = LoadedCapture.Load(scratch.Write("agg.memnb", AggregatedWorkload.Create(aggregated: true)));
        var totals = capture.Sql("SELECT sum(count) AS n, sum(bytes) AS bytes, sum(leaked_bytes) AS leaked FROM aggregates");
        Assert.Equal(new object[] { 9L, 8248L, 118L }, totals.Rows[0].ToArray());
        var ex = Assert.Throws<SqlQueryException>(() => capture.Sql("SELECT count(*) FROM allocations"));
        Assert.DoesNotContain("allocations,", ex.Message);
        Assert.Contains("Tables: stacks, frames, types, threads, timeline, gc_events, aggregates, stack_frames", ex.Message);
    }

    [Fact]
    public void A_wrong_query_gets_duckdbs_message_the_sql_and_the_tables()
    {
        using var scratch = new ScratchFolder();
        var capture = LoadedCapture.Load(scratch.Write("small.memnb", Captures.Small()));
        var table = Assert.Throws<SqlQueryException>(() => capture.Sql("SELECT * FROM allocs"));
        Assert.Contains("Table with name allocs does not exist", table.Message);
        Assert.Contains("SQL: SELECT * FROM allocs", table.Message);
        Assert.Contains("Tables: allocations, stacks, frames, types, threads, timeline, gc_events, allocations_named, stack_frames", table.Message);
        var column = Assert.Throws<SqlQueryException>(() => capture.Sql("SELECT typename FROM allocations_named"));
        Assert.Contains("\"typename\" not found", column.Message);
    }

    [Fact]
    public void Parquet_tables_are_written_once_into_the_arrow_folder()
    {
        using var scratch = new ScratchFolder();
        var capture = LoadedCapture.Load(scratch.Write("small.memnb", Captures.Small()));
        capture.Sql("SELECT 1");
        var folder = Path.Combine(capture.ArrowFolder, ParquetTables.FolderName);
        var files = Directory.GetFiles(folder).Select(Path.GetFileName).Order().ToArray();
        Assert.Equal(new[] { "allocations.parquet", "frames.parquet", "gc_events.parquet", "stacks.parquet", "threads.parquet", "timeline.parquet", "types.parquet" }, files);
        var written = File.GetLastWriteTimeUtc(ParquetTables.TablePath(folder, "allocations"));
        capture.Sql("SELECT 1");
        Assert.Equal(written, File.GetLastWriteTimeUtc(ParquetTables.TablePath(folder, "allocations")));
        Assert.Equal(new[] { ParquetTables.FolderName }, Directory.GetDirectories(capture.ArrowFolder).Select(Path.GetFileName));
        // The Arrow folder, with the Parquet tables in it, is still the fresh cache of the capture.
        Assert.True(MemNotebook.Recorder.Arrow.ArrowConverter.EnsureConverted(capture.Path).FromCache);
    }

    [Fact]
    public void On_a_traced_program_sql_agrees_with_stats_and_finds_the_rooted_survivors()
    {
        var path = TracedTarget.TempCapture("sql-compact.memnb");
        var run = TracedTarget.Start("compact", path);
        Assert.True(run.ExitCode == 0, run.Stderr);
        var stats = CaptureStats.Compute(path, 10);
        var capture = LoadedCapture.Load(path);
        var totals = capture.Sql("SELECT count(*) AS n, sum(size) AS bytes, count(freed_at_ns) AS freed FROM allocations");
        Assert.Equal(new object[] { stats.TotalAllocations, stats.TotalBytes, stats.FreedAllocations }, totals.Rows[0].ToArray());
        // 10,000 Survivors of 40 bytes, made in FillSurvivors; 2,500 still rooted at the end.
        var survivors = capture.Sql("""
            SELECT function, count(*) AS n, count(*) FILTER (alive_at_end) AS alive, sum(size) FILTER (alive_at_end) AS alive_bytes
            FROM allocations_named WHERE type = 'MemNotebook.TestTarget.Survivor' GROUP BY function
            """);
        Assert.Equal(1, survivors.Rows.Count);
        Assert.Equal(new object[] { "MemNotebook.TestTarget.Scenarios.FillSurvivors", 10_000L, 2_500L, 2_500L * 40 }, survivors.Rows[0].ToArray());
    }
}

// `memnb query` and `memnb transform parquet`.
public class SqlCommandTests
{
    [Fact]
    public void Query_prints_a_table_csv_or_json()
    {
        using var cli = new CliHarness();
        var capture = cli.File("small.memnb", Captures.Small().ToArray());
        const string sql = "SELECT type, count(*) AS n, sum(size) AS bytes FROM allocations_named GROUP BY type ORDER BY bytes DESC";
        var table = CliHarness.Run("query", sql, capture);
        Assert.True(table.ExitCode == 0, table.Err);
        Assert.Equal("""
            type           n  bytes
            -------------  -  -----
            System.Byte[]  2   1040
            System.String  2     80
            (2 rows)

            """, table.Out);
        var csv = CliHarness.Run("query", sql, capture, "--csv");
        Assert.Equal("type,n,bytes\nSystem.Byte[],2,1040\nSystem.String,2,80\n", csv.Out);
        var json = CliHarness.Run("query", sql, capture, "--json");
        using var document = JsonDocument.Parse(json.Out);
        var rows = document.RootElement.EnumerateArray().ToList();
        Assert.Equal(2, rows.Count);
        Assert.Equal("System.Byte[]", rows[0].GetProperty("type").GetString());
        Assert.Equal(1040, rows[0].GetProperty("bytes").GetInt64());
    }

    [Fact]
    public void Query_of_a_missing_table_says_so_and_prints_nothing()
    {
        using var cli = new CliHarness();
        var capture = cli.File("small.memnb", Captures.Small().ToArray());
        var result = CliHarness.Run("query", "SELECT * FROM nope", capture);
        Assert.Equal(1, result.ExitCode);
        Assert.Equal("", result.Out);
        Assert.StartsWith("memnb: DuckDB could not run the query: Catalog Error: Table with name nope does not exist", result.Err);
        Assert.Contains("Tables: allocations, stacks", result.Err);
    }

    [Fact]
    public void Query_of_an_unreadable_capture_names_it()
    {
        using var cli = new CliHarness();
        var bad = cli.File("bad.memnb", "not a capture at all"u8.ToArray());
        var result = CliHarness.Run("query", "SELECT 1", bad);
        Assert.Equal(2, result.ExitCode);
        Assert.Equal("", result.Out);
        Assert.StartsWith($"memnb: {bad}", result.Err);
        Assert.False(Directory.Exists(bad + ".arrow"));
    }

    [Fact]
    public void Transform_parquet_partitions_by_capture_and_duckdb_reads_it_back()
    {
        using var cli = new CliHarness();
        var before = cli.File("before.memnb", ViewCaptures.Workload(3, 5).ToArray());
        var after = cli.File("after.memnb", ViewCaptures.Workload(1, 2).ToArray());
        var output = cli.PathOf("parquet");
        var result = CliHarness.Run("transform", "parquet", before, after, "-o", output);
        Assert.True(result.ExitCode == 0, result.Err);
        Assert.Equal($"memnb: wrote {output} (2 captures, 14 Parquet files)\n", result.Err);
        Assert.True(File.Exists(Path.Combine(output, "allocations", "capture=before", "part-0.parquet")));
        Assert.True(File.Exists(Path.Combine(output, "gc_events", "capture=after", "part-0.parquet")));
        Assert.DoesNotContain(Directory.GetDirectories(cli.Root), d => d.Contains(".tmp-"));

        using var connection = new DuckDBConnection("DataSource=:memory:");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = $"""
            SELECT capture, count(*), sum(size) FROM read_parquet('{output}/allocations/*/*.parquet', hive_partitioning = true)
            GROUP BY capture ORDER BY capture
            """;
        using var reader = command.ExecuteReader();
        var rows = new List<string>();
        while (reader.Read())
            rows.Add($"{reader.GetString(0)} {reader.GetInt64(1)} {reader.GetValue(2)}");
        Assert.Equal(new[] { "after 3 1020", "before 8 3050" }, rows);
    }

    [Fact]
    public void Transform_parquet_refuses_a_folder_that_is_not_empty_and_leaves_nothing_after_a_bad_capture()
    {
        using var cli = new CliHarness();
        var good = cli.File("good.memnb", Captures.Small().ToArray());
        var output = Directory.CreateDirectory(cli.PathOf("out")).FullName;
        File.WriteAllText(Path.Combine(output, "keep.txt"), "x");
        var refused = CliHarness.Run("transform", "parquet", good, "-o", output);
        Assert.Equal(1, refused.ExitCode);
        Assert.Equal($"memnb: output folder {output} is not empty (use --force to write into it)\n", refused.Err);
        Assert.Equal(new[] { "keep.txt" }, Directory.GetFileSystemEntries(output).Select(Path.GetFileName));

        var bad = cli.File("bad.memnb", "not a capture at all"u8.ToArray());
        var fresh = cli.PathOf("fresh");
        var failed = CliHarness.Run("transform", "parquet", good, bad, "-o", fresh);
        Assert.Equal(2, failed.ExitCode);
        Assert.StartsWith($"memnb: {bad}", failed.Err);
        Assert.False(Directory.Exists(fresh));
        Assert.DoesNotContain(Directory.GetDirectories(cli.Root), d => d.Contains(".tmp-"));
    }
}
