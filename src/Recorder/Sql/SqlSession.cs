using System.Data.Common;
using DuckDB.NET.Data;
using MemNotebook.Recorder.Arrow;
using Microsoft.Data.Analysis;

namespace MemNotebook.Recorder.Sql;

/// <summary>A query SQL could not run: DuckDB's message, the SQL, and the tables there are.</summary>
public sealed class SqlQueryException(string message, string sql, IReadOnlyList<string> tables, Exception inner)
    : Exception(message, inner)
{
    public string Sql { get; } = sql;
    public IReadOnlyList<string> Tables { get; } = tables;
}

/// <summary>One capture as SQL sees it: its name (the <c>capture</c> column) and its Parquet tables.</summary>
public sealed record SqlCapture(string Name, string ParquetFolder, bool Aggregated);

/// <summary>
/// An in-memory DuckDB whose views are the tables of one or more captures (docs/sql.md): each reads the captures'
/// Parquet files in place, with a <c>capture</c> column first.
/// </summary>
public sealed class SqlSession : IDisposable
{
    /// <summary>The views joining ids to names, besides the tables.</summary>
    public const string AllocationsNamed = "allocations_named";
    public const string StackFrames = "stack_frames";

    private readonly DuckDBConnection connection;

    private SqlSession(DuckDBConnection connection, IReadOnlyList<string> views)
    {
        this.connection = connection;
        Views = views;
    }

    /// <summary>The views a query can name, in the order docs/sql.md lists them.</summary>
    public IReadOnlyList<string> Views { get; }

    public static SqlSession Open(IReadOnlyList<SqlCapture> captures)
    {
        if (captures.Count == 0)
            throw new ArgumentException("no capture to query", nameof(captures));
        var duplicate = captures.GroupBy(c => c.Name).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null)
            throw new ArgumentException($"two captures named {duplicate.Key}", nameof(captures));
        var connection = new DuckDBConnection("DataSource=:memory:");
        try
        {
            connection.Open();
            var views = new List<string>();
            foreach (var table in ArrowLayout.TableNames.Append(ArrowLayout.Aggregates))
            {
                var parts = captures.Where(c => ArrowLayout.TableNamesFor(c.Aggregated).Contains(table))
                    .Select(c => $"SELECT {SqlText.Literal(c.Name)} AS capture, * FROM {Table(c, table)}").ToList();
                if (parts.Count == 0)
                    continue;
                Execute(connection, $"CREATE VIEW {table} AS {string.Join(" UNION ALL ", parts)}");
                views.Add(table);
            }
            var perAllocation = captures.Where(c => !c.Aggregated).ToList();
            if (perAllocation.Count > 0)
            {
                Execute(connection, $"CREATE VIEW {AllocationsNamed} AS {string.Join(" UNION ALL ", perAllocation.Select(NamedAllocations))}");
                views.Add(AllocationsNamed);
            }
            Execute(connection, $"CREATE VIEW {StackFrames} AS {string.Join(" UNION ALL ", captures.Select(FramesOfStacks))}");
            views.Add(StackFrames);
            return new SqlSession(connection, views);
        }
        catch
        {
            connection.Dispose();
            throw;
        }
    }

    private static string Table(SqlCapture capture, string table) =>
        $"read_parquet({SqlText.Literal(ParquetTables.TablePath(capture.ParquetFolder, table))})";

    /// <summary>
    /// Each allocation with its type's name (a native block: its allocator) and the function it is charged to (the
    /// innermost frame that is not allocation machinery, as in every report).
    /// </summary>
    private static string NamedAllocations(SqlCapture c) =>
        $"""
        SELECT {SqlText.Literal(c.Name)} AS capture, a.id, a.timestamp_ns, a.thread_stream, a.os_thread_id, a.allocator, a.size,
               coalesce(t.name, CAST(a.allocator AS VARCHAR)) AS type, s.function, a.type_id, a.stack_id, a.address,
               a.freed_at_ns, a.freed_at_ns IS NULL AS alive_at_end, a.sampled
        FROM {Table(c, ArrowLayout.Allocations)} a
        LEFT JOIN {Table(c, ArrowLayout.Types)} t ON t.type_id = a.type_id
        LEFT JOIN {Table(c, ArrowLayout.Stacks)} s ON s.stack_id = a.stack_id
        """;

    /// <summary>Each stack node with its frame: the frame's function, kind, module, file and line.</summary>
    private static string FramesOfStacks(SqlCapture c) =>
        $"""
        SELECT {SqlText.Literal(c.Name)} AS capture, s.stack_id, s.parent_id, s.depth, s.ip, f.function, f.kind, f.module,
               f.file, f.line, s.function AS charged_function
        FROM {Table(c, ArrowLayout.Stacks)} s
        LEFT JOIN {Table(c, ArrowLayout.Frames)} f ON f.ip = s.ip
        """;

    private static void Execute(DuckDBConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    /// <summary>Runs <paramref name="sql"/>; its result as a DataFrame.</summary>
    public DataFrame Query(string sql) => Run(sql, SqlResults.ToDataFrame);

    /// <summary>Runs <paramref name="sql"/> and hands its rows to <paramref name="read"/>.</summary>
    public T Run<T>(string sql, Func<DbDataReader, T> read)
    {
        ArgumentNullException.ThrowIfNull(sql);
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        try
        {
            using var reader = command.ExecuteReader();
            return read(reader);
        }
        catch (DuckDBException ex)
        {
            throw new SqlQueryException(
                $"DuckDB could not run the query: {ex.Message.Trim()}\nSQL: {sql.Trim()}\nTables: {string.Join(", ", Views)} (docs/sql.md)",
                sql, Views, ex);
        }
    }

    public void Dispose() => connection.Dispose();
}
