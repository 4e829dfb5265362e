using Apache.Arrow;
using Apache.Arrow.Ipc;
using DuckDB.NET.Data;
using MemNotebook.Recorder.Arrow;

namespace MemNotebook.Recorder.Sql;

/// <summary>
/// The Parquet files of a capture (docs/sql.md): one per table, the Arrow tables' columns as they are, zstd,
/// Parquet 2 encodings. Written once per capture by DuckDB from the Arrow IPC files, into <c>parquet/</c> of the
/// capture's Arrow folder (or the user cache when that folder cannot be written); SQL reads them in place.
/// </summary>
public static class ParquetTables
{
    public const string FolderName = Arrow.ArrowCache.ParquetFolder;
    public const string Extension = ".parquet";

    /// <summary>What DuckDB's COPY is told: zstd, and the delta encodings of Parquet 2 for ids, times and addresses.</summary>
    internal const string CopyOptions = "FORMAT parquet, COMPRESSION zstd, PARQUET_VERSION v2, ROW_GROUP_SIZE 1048576";

    public static string TablePath(string folder, string table) => Path.Combine(folder, table + Extension);

    /// <summary>
    /// The folder of the Parquet files of the Arrow folder <paramref name="arrowFolder"/>, written when missing.
    /// Written into a staging folder and renamed: a folder that exists is whole.
    /// </summary>
    public static string EnsureCached(string arrowFolder, CaptureMetadata metadata)
    {
        var tables = ArrowLayout.TableNamesFor(metadata.Aggregated);
        var folder = Path.Combine(arrowFolder, FolderName);
        if (IsWhole(folder, tables))
            return folder;
        try
        {
            WriteAtomically(arrowFolder, tables, folder);
            return folder;
        }
        catch (UnauthorizedAccessException)
        {
        }
        catch (IOException ex) when (ex is not Storage.UnsafeFolderException && !Directory.Exists(folder))
        {
        }
        // An Arrow folder this user cannot write into (another user's, or read-only): the user cache.
        var fallback = Path.Combine(Storage.UserCache.Folder(FolderName),
            Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(
                System.Text.Encoding.UTF8.GetBytes(Path.GetFullPath(arrowFolder) + "\n" + metadata.SourceIdentity)))[..16]);
        if (!IsWhole(fallback, tables))
            WriteAtomically(arrowFolder, tables, fallback);
        return fallback;
    }

    private static bool IsWhole(string folder, IEnumerable<string> tables) =>
        Directory.Exists(folder) && tables.All(t => File.Exists(TablePath(folder, t)));

    /// <summary>Writes the tables into a staging folder beside <paramref name="target"/>, then renames it.</summary>
    internal static void WriteAtomically(string arrowFolder, IReadOnlyList<string> tables, string target)
    {
        var staging = target + ".tmp-" + Guid.NewGuid().ToString("N")[..8];
        try
        {
            Storage.PrivateFiles.CreateDirectory(staging);
            Write(arrowFolder, tables, staging);
            try
            {
                Directory.Move(staging, target);
            }
            catch (IOException) when (IsWhole(target, tables))
            {
                // Another process wrote the same tables first.
            }
        }
        finally
        {
            if (Directory.Exists(staging))
                Directory.Delete(staging, recursive: true);
        }
    }

    /// <summary>Writes <c>TABLE.parquet</c> for each table of <paramref name="arrowFolder"/> into <paramref name="target"/>.</summary>
    internal static void Write(string arrowFolder, IReadOnlyList<string> tables, string target)
    {
        using var connection = new DuckDBConnection("DataSource=:memory:");
        connection.Open();
        foreach (var table in tables)
        {
            var source = ArrowLayout.TablePath(arrowFolder, table);
            if (!File.Exists(source))
                throw new InvalidDataException($"{source}: missing table {table} of the Arrow folder {arrowFolder}");
            using var file = new FileStream(source, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20);
            using var batches = new CheckedTable(source, file, ArrowLayout.SchemaOf(table));
            var view = "memnb_arrow_" + table;
            using (new ArrowScan(connection, view, batches))
            {
                using var copy = connection.CreateCommand();
                copy.CommandText = $"COPY (SELECT * FROM {SqlText.Identifier(view)}) TO {SqlText.Literal(TablePath(target, table))} ({CopyOptions})";
                try
                {
                    copy.ExecuteNonQuery();
                }
                catch (DuckDB.NET.Data.DuckDBException ex) when (batches.Problem is { } problem)
                {
                    throw new InvalidDataException(problem.Message, ex);
                }
            }
            if (batches.Problem is { } failed)
                throw new InvalidDataException(failed.Message, failed);
        }
    }

    /// <summary>The record batches of an Arrow IPC file whose columns are the ones this version writes.</summary>
    private sealed class CheckedTable : IArrowArrayStream
    {
        private readonly string path;
        private readonly ArrowFileReader reader;

        public CheckedTable(string path, Stream file, Schema expected)
        {
            this.path = path;
            try
            {
                reader = new ArrowFileReader(file, allocator: null, ArrowCompression.Codecs, leaveOpen: true);
                var names = string.Join(", ", reader.Schema.FieldsList.Select(f => $"{f.Name}:{f.DataType.Name}"));
                var wanted = string.Join(", ", expected.FieldsList.Select(f => $"{f.Name}:{f.DataType.Name}"));
                if (names != wanted)
                    throw new InvalidDataException($"{path}: unexpected columns ({names}); this version of MemNotebook reads ({wanted})");
                Schema = reader.Schema;
            }
            catch (Exception ex) when (ex is not InvalidDataException && IsReadError(ex))
            {
                throw new InvalidDataException($"{path}: not a readable Arrow IPC file: {ex.Message}", ex);
            }
        }

        public Schema Schema { get; }

        /// <summary>Why the file could not be read to its end (DuckDB only sees that the stream failed).</summary>
        public Exception? Problem { get; private set; }

        public ValueTask<RecordBatch?> ReadNextRecordBatchAsync(CancellationToken cancellationToken = default)
        {
            try
            {
                return new ValueTask<RecordBatch?>(reader.ReadNextRecordBatch());
            }
            catch (Exception ex) when (IsReadError(ex))
            {
                Problem = new InvalidDataException($"{path}: not a readable Arrow IPC file: {ex.Message}", ex);
                throw Problem;
            }
        }

        private static bool IsReadError(Exception ex) => ex is InvalidDataException or ArgumentException or InvalidOperationException
            or IndexOutOfRangeException or OverflowException or EndOfStreamException or IOException;

        public void Dispose() => reader.Dispose();
    }
}
