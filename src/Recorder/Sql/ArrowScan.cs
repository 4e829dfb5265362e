using System.Runtime.InteropServices;
using Apache.Arrow.C;
using Apache.Arrow.Ipc;
using DuckDB.NET.Data;

namespace MemNotebook.Recorder.Sql;

/// <summary>
/// An Arrow IPC file handed to DuckDB as an Arrow C stream (<c>duckdb_arrow_scan</c>): DuckDB reads the record
/// batches as they are, no row becomes a managed object. DuckDB does not release the stream: this does, once the
/// view over it is dropped. The stream can be scanned once.
/// </summary>
internal sealed unsafe partial class ArrowScan : IDisposable
{
    private readonly DuckDBConnection connection;
    private readonly string view;
    private CArrowArrayStream* stream;

    public ArrowScan(DuckDBConnection connection, string view, IArrowArrayStream source)
    {
        this.connection = connection;
        this.view = view;
        stream = CArrowArrayStream.Create();
        CArrowArrayStreamExporter.ExportArrayStream(source, stream);
        var handle = connection.NativeConnection;
        var added = false;
        handle.DangerousAddRef(ref added);
        try
        {
            if (duckdb_arrow_scan(handle.DangerousGetHandle(), view, (IntPtr)stream) != 0)
            {
                Release();
                throw new InvalidOperationException($"DuckDB refused the Arrow stream of view {view}");
            }
        }
        finally
        {
            if (added)
                handle.DangerousRelease();
        }
    }

    public void Dispose()
    {
        using (var drop = connection.CreateCommand())
        {
            drop.CommandText = $"DROP VIEW IF EXISTS {SqlText.Identifier(view)}";
            drop.ExecuteNonQuery();
        }
        Release();
    }

    private void Release()
    {
        if (stream is null)
            return;
        // ArrowArrayStream: get_schema, get_next, get_last_error, release, private_data.
        var release = ((IntPtr*)stream)[3];
        if (release != IntPtr.Zero)
            ((delegate* unmanaged<CArrowArrayStream*, void>)release)(stream);
        CArrowArrayStream.Free(stream);
        stream = null;
    }

    [LibraryImport("duckdb", StringMarshalling = StringMarshalling.Utf8)]
    private static partial int duckdb_arrow_scan(IntPtr connection, string tableName, IntPtr stream);
}

/// <summary>Identifiers and literals written into SQL text.</summary>
internal static class SqlText
{
    public static string Identifier(string name) => "\"" + name.Replace("\"", "\"\"") + "\"";

    public static string Literal(string value) => "'" + value.Replace("'", "''") + "'";
}
