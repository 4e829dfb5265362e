namespace MemNotebook.Recorder.Arrow;

/// <summary>Where the Arrow tables of a raw capture are cached.</summary>
public enum ArrowCacheLocation
{
    /// <summary><see cref="ArrowCache.DefaultLocation"/>: the <c>MEMNB_CACHE</c> variable's choice, else beside the capture.</summary>
    Default,

    /// <summary>A folder named after the capture's full path in the per-user cache (<c>~/.cache/memnb/arrow/</c>).</summary>
    UserCache,

    /// <summary><c>x.memnb.arrow/</c> beside the capture <c>x.memnb</c> (the per-user cache when that folder cannot be written).</summary>
    BesideCapture,
}

/// <summary>
/// The per-user cache of converted tables: <c>$XDG_CACHE_HOME/memnb</c> or <c>~/.cache/memnb</c>, with
/// <c>arrow/</c> (one folder of tables per capture) and <c>parquet/</c> (the SQL tables of captures whose Arrow folder
/// could not be written). Everything in them is made again from the capture when missing, so clearing them loses nothing.
/// </summary>
public static class ArrowCache
{
    /// <summary>The environment variable choosing the default location: <c>user</c> or <c>beside</c>.</summary>
    public const string Variable = "MEMNB_CACHE";

    /// <summary>The sub-folder of the per-user cache, and of a capture's Arrow folder, for the Parquet copies of the tables (<c>Sql/ParquetTables</c>).</summary>
    public const string ParquetFolder = "parquet";

    /// <summary>The sub-folders of the per-user cache that hold only what a capture's tables are made from (never captures).</summary>
    public static readonly string[] Folders = ["arrow", ParquetFolder];

    /// <summary>The location <see cref="ArrowCacheLocation.Default"/> stands for: <see cref="Variable"/> when set, else <paramref name="fallback"/>.</summary>
    public static ArrowCacheLocation DefaultLocation(ArrowCacheLocation fallback = ArrowCacheLocation.BesideCapture) =>
        Environment.GetEnvironmentVariable(Variable)?.Trim().ToLowerInvariant() switch
        {
            "user" => ArrowCacheLocation.UserCache,
            "beside" => ArrowCacheLocation.BesideCapture,
            null or "" => fallback,
            var other => throw new ArgumentException($"{Variable}={other}: expected \"user\" (the per-user cache) or \"beside\" (x.memnb.arrow/ beside the capture)"),
        };

    /// <summary>The capture's folder in the per-user cache: <c>arrow/</c> and the first 16 hex digits of the SHA-256 of its full path.</summary>
    public static string UserFolderOf(string capturePath) =>
        Path.Combine(Storage.UserCache.Folder("arrow"),
            System.Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(
                System.Text.Encoding.UTF8.GetBytes(Path.GetFullPath(capturePath))))[..16]);

    /// <summary>The per-user cache's root folder (not created).</summary>
    public static string Root => Storage.UserCache.Root();

    /// <summary>Bytes of the files under <see cref="Folders"/> (0 when there are none).</summary>
    public static long Bytes()
    {
        long total = 0;
        foreach (var folder in Folders.Select(f => Path.Combine(Root, f)).Where(Directory.Exists))
            foreach (var file in new DirectoryInfo(folder).EnumerateFiles("*", new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = 0 }))
                total += file.Length;
        return total;
    }

    /// <summary>
    /// Removes <see cref="Folders"/> from the per-user cache and returns the bytes they held; anything else there (the
    /// notebook's captures kept in <c>memprofile/</c> when the notebook's folder is not writable) is left alone. A link
    /// in their place is removed, never followed.
    /// </summary>
    public static long Clear()
    {
        var bytes = Bytes();
        foreach (var folder in Folders.Select(f => Path.Combine(Root, f)))
        {
            if (Directory.Exists(folder) && new DirectoryInfo(folder).Attributes.HasFlag(FileAttributes.ReparsePoint))
                File.Delete(folder);
            else if (Directory.Exists(folder))
                Directory.Delete(folder, recursive: true);
        }
        return bytes;
    }
}
