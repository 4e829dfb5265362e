namespace MemNotebook.Recorder.Storage;

/// <summary>A folder that should be this user's alone is not: owned by someone else, a link, or writable by others.</summary>
public sealed class UnsafeFolderException(string message) : IOException(message);

/// <summary>
/// The per-user cache folder: <c>$XDG_CACHE_HOME/memnb</c> (an absolute XDG_CACHE_HOME), else
/// <c>~/.cache/memnb</c>. Created 0700; a folder there that another user owns or could write into is refused,
/// never used: what it holds would be shown as the user's own data.
/// </summary>
public static class UserCache
{
    public static string Root()
    {
        var xdg = Environment.GetEnvironmentVariable("XDG_CACHE_HOME");
        if (!string.IsNullOrEmpty(xdg) && Path.IsPathRooted(xdg))
            return Path.Combine(xdg, "memnb");
        var home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
        if (string.IsNullOrEmpty(home))
            throw new UnsafeFolderException("no per-user cache folder: neither XDG_CACHE_HOME nor HOME is set");
        return Path.Combine(home, ".cache", "memnb");
    }

    /// <summary><see cref="Root"/>/<paramref name="name"/>, created and checked (both levels).</summary>
    public static string Folder(string name)
    {
        var root = Checked(Root());
        return Checked(Path.Combine(root, name));
    }

    private static string Checked(string folder)
    {
        PrivateFiles.CreateDirectory(folder);
        if (PrivateFiles.Distrust(folder) is { } problem)
            throw new UnsafeFolderException($"refusing the cache folder {folder}: {problem} (remove it, or set XDG_CACHE_HOME to a folder of your own)");
        return folder;
    }
}
