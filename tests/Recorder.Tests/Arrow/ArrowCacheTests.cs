using System.Diagnostics;
using MemNotebook.Recorder.Arrow;
using MemNotebook.Recorder.Storage;
using MemNotebook.Recorder.Tests.Cli;
using Xunit;
using LoadedCapture = MemNotebook.Capture;

namespace MemNotebook.Recorder.Tests.Arrow;

/// <summary>These tests point XDG_CACHE_HOME at a folder of their own: no other test may run meanwhile.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class UserCacheCollection
{
    public const string Name = "user cache";
}

/// <summary>
/// Arrow folders of captures are used only when they are the user's alone and were made from the capture as it
/// is now; another user's folder is never used, nor deleted.
/// </summary>
[Collection(UserCacheCollection.Name)]
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class ArrowCacheTests : IDisposable
{
    private readonly ScratchFolder scratch = new();
    private readonly string? savedCacheHome = Environment.GetEnvironmentVariable("XDG_CACHE_HOME");
    private readonly string cacheHome;

    public ArrowCacheTests()
    {
        cacheHome = Path.Combine(scratch.Root, "cache-home");
        Environment.SetEnvironmentVariable("XDG_CACHE_HOME", cacheHome);
    }

    public void Dispose()
    {
        Environment.SetEnvironmentVariable("XDG_CACHE_HOME", savedCacheHome);
        Chown(scratch.Root, 0, recursive: true);
        scratch.Dispose();
    }

    [Fact]
    public void A_forged_arrow_folder_beside_the_capture_is_rebuilt_not_shown()
    {
        var path = scratch.Write("c.memnb", ViewCaptures.Peaks());
        var other = scratch.Write("other.memnb", ViewCaptures.Workload(1, 1));
        // The tables of another capture, written after this one: newer than the capture, of this layout.
        ArrowConverter.Convert(other, path + ".arrow");

        var conversion = ArrowConverter.EnsureConverted(path);

        Assert.False(conversion.FromCache);
        Assert.Equal(path + ".arrow", conversion.Folder);
        Assert.Equal(4, LoadedCapture.Load(path).All.Count);
        Assert.Equal(CaptureIdentity.Of(path), conversion.Metadata.SourceIdentity);
        Assert.True(ArrowConverter.EnsureConverted(path).FromCache);
    }

    [Fact]
    public void The_user_cache_folder_is_named_after_the_capture_and_made_again_when_deleted()
    {
        var path = scratch.Write("c.memnb", ViewCaptures.Peaks());

        var first = ArrowConverter.EnsureConverted(path, location: ArrowCacheLocation.UserCache);
        Assert.Equal(ArrowCache.UserFolderOf(path), first.Folder);
        Assert.StartsWith(Path.Combine(cacheHome, "memnb", "arrow") + "/", first.Folder);
        Assert.False(Directory.Exists(path + ".arrow"));
        Directory.Delete(Path.Combine(cacheHome, "memnb"), recursive: true);

        var again = ArrowConverter.EnsureConverted(path, location: ArrowCacheLocation.UserCache);

        Assert.False(again.FromCache);
        Assert.Equal(first.Folder, again.Folder);
        Assert.Equal(4, LoadedCapture.Load(path, cache: ArrowCacheLocation.UserCache).All.Count);
        Assert.True(ArrowConverter.EnsureConverted(path, location: ArrowCacheLocation.UserCache).FromCache);
    }

    [Fact]
    public void Memnb_cache_shows_the_folder_and_clear_removes_the_tables_only()
    {
        var path = scratch.Write("c.memnb", ViewCaptures.Peaks());
        var conversion = ArrowConverter.EnsureConverted(path, location: ArrowCacheLocation.UserCache);
        var parquet = Path.Combine(cacheHome, "memnb", "parquet", "x");
        Directory.CreateDirectory(parquet);
        File.WriteAllBytes(Path.Combine(parquet, "t.parquet"), new byte[1000]);
        var kept = Path.Combine(cacheHome, "memnb", "memprofile", "cell-1.memnb");
        Directory.CreateDirectory(Path.GetDirectoryName(kept)!);
        File.WriteAllBytes(kept, new byte[10]);
        var tableBytes = Directory.GetFiles(conversion.Folder).Sum(f => new FileInfo(f).Length) + 1000;

        var shown = CliHarness.Run("cache");
        Assert.Equal(0, shown.ExitCode);
        Assert.StartsWith($"{Path.Combine(cacheHome, "memnb")}\n  {MemNotebook.Recorder.Analysis.ByteUnits.Format(tableBytes)} of cached tables", shown.Out);
        var cleared = CliHarness.Run("cache", "clear");

        Assert.Equal((0, $"removed {MemNotebook.Recorder.Analysis.ByteUnits.Format(tableBytes)} of cached tables from {Path.Combine(cacheHome, "memnb")}\n", ""),
            (cleared.ExitCode, cleared.Out, cleared.Err));
        Assert.Equal(new[] { Path.Combine(cacheHome, "memnb", "memprofile") }, Directory.GetFileSystemEntries(Path.Combine(cacheHome, "memnb")));
        Assert.True(File.Exists(kept));
        Assert.Equal(4, LoadedCapture.Load(path, cache: ArrowCacheLocation.UserCache).All.Count);
    }

    [Fact]
    public void A_capture_rewritten_with_the_same_size_and_time_is_converted_again()
    {
        var path = scratch.Write("c.memnb", ViewCaptures.Peaks());
        var time = File.GetLastWriteTimeUtc(path);
        var first = ArrowConverter.EnsureConverted(path);
        var bytes = File.ReadAllBytes(path);
        bytes[16] ^= 0x01; // the header's process id: the same length, another content
        File.WriteAllBytes(path, bytes);
        File.SetLastWriteTimeUtc(path, time);

        var second = ArrowConverter.EnsureConverted(path);

        Assert.False(second.FromCache);
        Assert.Equal(first.Metadata.ProcessId ^ 1, second.Metadata.ProcessId);
    }

    [Fact]
    public void An_arrow_folder_another_user_owns_is_left_alone_and_the_tables_go_to_the_user_cache()
    {
        var path = scratch.Write("c.memnb", ViewCaptures.Peaks());
        var forged = path + ".arrow";
        ArrowConverter.Convert(scratch.Write("other.memnb", ViewCaptures.Workload(1, 1)), forged);
        Chown(forged, 65534, recursive: true);

        var conversion = ArrowConverter.EnsureConverted(path);

        Assert.StartsWith(Path.Combine(cacheHome, "memnb", "arrow") + "/", conversion.Folder);
        Assert.Equal(4, LoadedCapture.Load(path).All.Count);
        Assert.Equal(2, LoadedCapture.Load(forged).All.Count); // untouched
        Assert.Equal(PrivateFiles.FolderMode, File.GetUnixFileMode(Path.Combine(cacheHome, "memnb")));
        Assert.Equal(PrivateFiles.FolderMode, File.GetUnixFileMode(Path.Combine(cacheHome, "memnb", "arrow")));
        Assert.True(ArrowConverter.EnsureConverted(path).FromCache);
    }

    [Fact]
    public void A_cache_folder_others_can_write_is_refused_with_its_path()
    {
        var path = scratch.Write("c.memnb", ViewCaptures.Peaks());
        Directory.CreateDirectory(path + ".arrow");
        Chown(path + ".arrow", 65534, recursive: false);
        var cache = Path.Combine(cacheHome, "memnb");
        Directory.CreateDirectory(cache);
        File.SetUnixFileMode(cache, (UnixFileMode)0b111_111_111);

        var error = Assert.Throws<UnsafeFolderException>(() => LoadedCapture.Load(path));

        Assert.Equal($"refusing the cache folder {cache}: {cache} is writable by group or others (mode 0777) (remove it, or set XDG_CACHE_HOME to a folder of your own)", error.Message);
        Assert.Empty(Directory.GetFileSystemEntries(cache));
    }

    [Fact]
    public void A_cache_folder_another_user_owns_is_refused_with_its_path()
    {
        var cache = Path.Combine(cacheHome, "memnb");
        Directory.CreateDirectory(cache, PrivateFiles.FolderMode);
        Chown(cache, 65534, recursive: false);

        var error = Assert.Throws<UnsafeFolderException>(() => UserCache.Folder("arrow"));

        Assert.Equal($"refusing the cache folder {cache}: {cache} is owned by user 65534, not by this user ({CurrentUser()}) (remove it, or set XDG_CACHE_HOME to a folder of your own)", error.Message);
    }

    [Fact]
    public void Tables_exports_and_reports_are_readable_by_their_owner_only()
    {
        var path = scratch.Write("c.memnb", ViewCaptures.Peaks());
        var file = PrivateFiles.FileMode & ~Umask();
        var folder = PrivateFiles.FolderMode & ~Umask();

        var conversion = ArrowConverter.EnsureConverted(path);
        Assert.Equal(folder, File.GetUnixFileMode(conversion.Folder));
        foreach (var table in Directory.GetFiles(conversion.Folder))
            Assert.Equal(file, File.GetUnixFileMode(table));

        Assert.Equal(0, CliHarness.Run("transform", "csv", path, "-o", Path.Combine(scratch.Root, "csv")).ExitCode);
        Assert.Equal(folder, File.GetUnixFileMode(Path.Combine(scratch.Root, "csv")));
        foreach (var csv in Directory.GetFiles(Path.Combine(scratch.Root, "csv")))
            Assert.Equal(file, File.GetUnixFileMode(csv));
        Assert.Equal(0, CliHarness.Run("transform", "speedscope", path, "-o", Path.Combine(scratch.Root, "s.json")).ExitCode);
        Assert.Equal(file, File.GetUnixFileMode(Path.Combine(scratch.Root, "s.json")));
        Assert.Equal(0, CliHarness.Run("flamegraph", "-o", Path.Combine(scratch.Root, "f.html"), path).ExitCode);
        Assert.Equal(file, File.GetUnixFileMode(Path.Combine(scratch.Root, "f.html")));
    }

    /// <summary>This process's umask, from /proc (setting it to read it would race with other tests creating files).</summary>
    internal static UnixFileMode Umask() =>
        (UnixFileMode)System.Convert.ToInt32(File.ReadLines("/proc/self/status").Single(l => l.StartsWith("Umask:", StringComparison.Ordinal))[6..].Trim(), 8);

    private static string CurrentUser() => File.ReadLines("/proc/self/status").Single(l => l.StartsWith("Uid:", StringComparison.Ordinal))
        .Split('\t', StringSplitOptions.RemoveEmptyEntries)[2];

    /// <summary>Gives <paramref name="path"/> to another user (root only, as the test machines run).</summary>
    private static void Chown(string path, int user, bool recursive)
    {
        if (!Path.Exists(path))
            return;
        var chown = new ProcessStartInfo("chown") { RedirectStandardError = true };
        if (recursive) chown.ArgumentList.Add("-R");
        chown.ArgumentList.Add(user.ToString(System.Globalization.CultureInfo.InvariantCulture));
        chown.ArgumentList.Add(path);
        using var process = Process.Start(chown)!;
        var error = process.StandardError.ReadToEnd();
        process.WaitForExit();
        Assert.True(process.ExitCode == 0, $"chown {user} {path}: {error} (these tests make files of another user: run them as root)");
    }
}
