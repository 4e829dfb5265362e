using MemNotebook.Recorder.Sql;
using Microsoft.Data.Analysis;

namespace MemNotebook;

/// <summary>What is asked of several captures at once.</summary>
public static class Captures
{
    /// <summary>
    /// Runs <paramref name="sql"/> over the tables of <paramref name="captures"/> (docs/sql.md: allocations, stacks,
    /// frames, types, threads, timeline, gc_events, aggregates, allocations_named, stack_frames), each with a
    /// <c>capture</c> column first naming the capture (its file name without <c>.memnb</c>). The whole captures are
    /// queried, also for a scoped one. A query DuckDB refuses throws <see cref="SqlQueryException"/> with DuckDB's
    /// message, the SQL and the tables there are.
    /// </summary>
    public static DataFrame Sql(IEnumerable<Capture> captures, string sql)
    {
        ArgumentNullException.ThrowIfNull(captures);
        ArgumentNullException.ThrowIfNull(sql);
        var list = captures.Select(c => c.Unscoped).ToList();
        var names = SqlCaptures.Names(list.Select(c => c.Path));
        using var session = SqlSession.Open(list.Select((c, i) => SqlCaptures.Of(c, names[i])).ToList());
        return session.Query(sql);
    }
}
