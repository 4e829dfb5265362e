using System.Globalization;
using System.Numerics;
using System.Text.Json;
using MemNotebook.Recorder.Arrow;
using MemNotebook.Recorder.Tests.Arrow;
using MemNotebook.Recorder.Tests.Capture;
using MemNotebook.Recorder.Tests.Cli;
using Microsoft.Data.Analysis;
using Xunit;
using LoadedCapture = MemNotebook.Capture;

namespace MemNotebook.Recorder.Tests.Sql;

/// <summary>
/// The Parquet files of `memnb transform parquet` open unchanged in another Parquet reader: tests/interop-js
/// reads every partition with npm's hyparquet (zstd from hyparquet-compressors), decoding every value, and
/// prints row counts, null counts, sums and distinct counts, which must be the capture's own.
/// </summary>
public class ParquetInteropTests
{
    [Fact]
    public void Javascript_parquet_reader_sees_every_table_of_every_capture_with_the_same_rows_and_values()
    {
        using var cli = new CliHarness();
        var big = cli.File("big.memnb", BigCapture.Create().ToArray());
        var small = cli.File("small.memnb", Captures.Small().ToArray());
        var output = cli.PathOf("parquet");
        var transform = CliHarness.Run("transform", "parquet", big, small, "-o", output);
        Assert.True(transform.ExitCode == 0, transform.Err);

        var js = JavaScriptInteropTests.RunNode("read-parquet.mjs", "hyparquet", output);
        Assert.Equal(ArrowLayout.TableNames.Order(), js.EnumerateObject().Select(t => t.Name));
        foreach (var (name, path) in new[] { ("big", big), ("small", small) })
        {
            // The totals `memnb stats --json` reports.
            var statsRun = CliHarness.Run("stats", "--json", path);
            Assert.True(statsRun.ExitCode == 0, statsRun.Err);
            using var stats = JsonDocument.Parse(statsRun.Out);
            var allocations = js.GetProperty("allocations").GetProperty(name);
            Assert.Equal(stats.RootElement.GetProperty("total_allocations").GetInt64(), allocations.GetProperty("rows").GetInt64());
            Assert.Equal(stats.RootElement.GetProperty("total_bytes").GetInt64().ToString(CultureInfo.InvariantCulture),
                allocations.GetProperty("columns").GetProperty("size").GetProperty("sum").GetString());
            Assert.Equal(stats.RootElement.GetProperty("freed_allocations").GetInt64(),
                allocations.GetProperty("rows").GetInt64() - allocations.GetProperty("columns").GetProperty("freed_at_ns").GetProperty("nulls").GetInt64());

            // Every column of every table, as the capture's DataFrames have it.
            var capture = LoadedCapture.Load(path);
            foreach (var table in ArrowLayout.TableNames)
            {
                var frame = Frame(capture, table);
                var seen = js.GetProperty(table).GetProperty(name);
                Assert.Equal(frame.Rows.Count, seen.GetProperty("rows").GetInt64());
                var columns = seen.GetProperty("columns");
                var stored = JavaScriptInteropTests.StoredColumns(frame, table).ToList();
                Assert.Equal(stored.Select(c => c.Name), columns.EnumerateObject().Select(c => c.Name));
                foreach (var column in stored)
                {
                    var what = $"{name}: {table}.{column.Name}";
                    var values = columns.GetProperty(column.Name);
                    Assert.True(column.NullCount == values.GetProperty("nulls").GetInt64(), $"{what}: {column.NullCount} nulls, JavaScript {values.GetProperty("nulls")}");
                    if (column is StringDataFrameColumn or ArrowStringDataFrameColumn)
                    {
                        var distinct = Enumerable.Range(0, (int)column.Length).Select(i => column[i]).OfType<string>().Distinct().Count();
                        Assert.True(distinct == values.GetProperty("distinct").GetInt32(), $"{what}: {distinct} distinct values, JavaScript {values}");
                    }
                    else
                    {
                        var sum = Sum(column);
                        Assert.True(sum == values.GetProperty("sum").GetString(), $"{what}: sum {sum}, JavaScript {values}");
                    }
                }
            }
        }
        // The big capture's numbers, so a reader that saw nothing cannot pass: 150,000 allocations over more
        // than one Arrow batch; freed: every third of stream 2's first 37,500 and every fifth of stream 3's in
        // GC 1, then every third (the next ones) of stream 2's 75,000 in GC 2.
        var bigAllocations = js.GetProperty("allocations").GetProperty("big");
        Assert.Equal(150_000, bigAllocations.GetProperty("rows").GetInt64());
        Assert.Equal(150_000 - (12_500 + 7_500 + 25_000), bigAllocations.GetProperty("columns").GetProperty("freed_at_ns").GetProperty("nulls").GetInt64());
        Assert.Equal(4, js.GetProperty("allocations").GetProperty("small").GetProperty("rows").GetInt64());
    }

    /// <summary>The sum of a numeric column (booleans: how many are true), exactly.</summary>
    private static string Sum(DataFrameColumn column)
    {
        var sum = BigInteger.Zero;
        for (long i = 0; i < column.Length; i++)
        {
            sum += column[i] switch
            {
                null => BigInteger.Zero,
                bool b => b ? BigInteger.One : BigInteger.Zero,
                ulong u => new BigInteger(u),
                var v => new BigInteger(Convert.ToInt64(v, CultureInfo.InvariantCulture)),
            };
        }
        return sum.ToString(CultureInfo.InvariantCulture);
    }

    private static DataFrame Frame(LoadedCapture capture, string table) => table switch
    {
        ArrowLayout.Allocations => capture.Allocations,
        ArrowLayout.Stacks => capture.Stacks,
        ArrowLayout.Frames => capture.Frames,
        ArrowLayout.Types => capture.Types,
        ArrowLayout.Threads => capture.Threads,
        ArrowLayout.Timeline => capture.Timeline,
        _ => capture.GcEvents,
    };
}
