using MemNotebook.Recorder.Arrow;

namespace MemNotebook.Recorder.Sql;

/// <summary>Captures made ready for SQL: named, their Parquet tables written once.</summary>
public static class SqlCaptures
{
    /// <summary>
    /// The <c>capture</c> column's value for each path: the file name without <c>.memnb</c> (a folder's without
    /// <c>.memnb.arrow</c> or <c>.arrow</c>), each character but ASCII letters, digits, '.', '_' and '-' made '_' (the name
    /// is also a folder name, <c>capture=NAME/</c>, that Spark and DuckDB read back as it is); a name met before gets
    /// <c>-2</c>, <c>-3</c> … after it.
    /// </summary>
    public static string[] Names(IEnumerable<string> paths)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        return paths.Select(path =>
        {
            var name = Path.GetFileName(Path.TrimEndingDirectorySeparator(Path.GetFullPath(path)));
            foreach (var suffix in new[] { ".memnb.arrow", ".arrow", ".memnb" })
                if (name.Length > suffix.Length && name.EndsWith(suffix, StringComparison.Ordinal))
                {
                    name = name[..^suffix.Length];
                    break;
                }
            name = new string(name.Select(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-' ? c : '_').ToArray());
            if (name.Length == 0)
                name = "capture";
            var unique = name;
            for (var k = 2; !seen.Add(unique); k++)
                unique = $"{name}-{k}";
            return unique;
        }).ToArray();
    }

    /// <summary>A loaded capture (its Arrow folder is read, not the tables in memory).</summary>
    public static SqlCapture Of(MemNotebook.Capture capture, string name) =>
        new(name, ParquetTables.EnsureCached(capture.ArrowFolder, capture.Metadata), capture.IsAggregated);

    /// <summary>
    /// A capture file (converted to Arrow once, as <see cref="MemNotebook.Capture.Load"/> does) or an Arrow folder, without
    /// loading its tables into memory. <paramref name="progress"/> gets the conversion's fractions (0…1) when it converts.
    /// </summary>
    public static SqlCapture Of(string path, string name, long? maxAllocations = null, IProgress<double>? progress = null)
    {
        string folder;
        if (Directory.Exists(path))
            folder = path;
        else if (File.Exists(path))
            folder = ArrowConverter.EnsureConverted(path, progress, maxAllocations).Folder;
        else
            throw new FileNotFoundException($"{path}: no such capture or Arrow folder", path);
        var metadataPath = Path.Combine(folder, ArrowLayout.MetadataFile);
        if (!File.Exists(metadataPath))
            throw new InvalidDataException($"{folder}: not a MemNotebook Arrow folder (no {ArrowLayout.MetadataFile})");
        var metadata = CaptureMetadata.Read(metadataPath);
        if (metadata.ArrowLayoutVersion > ArrowLayout.Version)
            throw new InvalidDataException($"{metadataPath}: written by a newer MemNotebook (Arrow layout {metadata.ArrowLayoutVersion}, this one reads {ArrowLayout.Version})");
        return new SqlCapture(name, ParquetTables.EnsureCached(folder, metadata), metadata.Aggregated);
    }
}
