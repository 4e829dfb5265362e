using System.Runtime.InteropServices;

namespace MemNotebook.Recorder.Storage;

/// <summary>
/// Files and folders only their owner can read: captures, their Arrow tables, exports and reports name the
/// types, methods and source files of the traced code. The modes go through open(2)/mkdir(2), so a stricter
/// umask still applies (0600 &amp; ~umask). An existing file keeps its mode.
/// </summary>
public static partial class PrivateFiles
{
    public const UnixFileMode FileMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
    public const UnixFileMode FolderMode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;

    /// <summary>Creates (or truncates) <paramref name="path"/> for writing, 0600 when it is new.</summary>
    public static FileStream Create(string path, int bufferSize = 4096) =>
        new(path, Private(new FileStreamOptions
        {
            Mode = System.IO.FileMode.Create, Access = FileAccess.Write, Share = FileShare.None, BufferSize = bufferSize,
        }));

    /// <summary><paramref name="options"/> with the mode a new file gets set to 0600.</summary>
    public static FileStreamOptions Private(FileStreamOptions options)
    {
        if (!OperatingSystem.IsWindows())
            options.UnixCreateMode = FileMode;
        return options;
    }

    public static void WriteAllText(string path, string text)
    {
        using var file = Create(path);
        using var writer = new StreamWriter(file, new System.Text.UTF8Encoding(false));
        writer.Write(text);
    }

    /// <summary>Creates <paramref name="path"/> (and missing parents) 0700; an existing folder is left as it is.</summary>
    public static DirectoryInfo CreateDirectory(string path) =>
        OperatingSystem.IsWindows() ? Directory.CreateDirectory(path) : Directory.CreateDirectory(path, FolderMode);

    /// <summary>
    /// Why <paramref name="path"/> (not followed if a symbolic link) cannot be trusted to hold only what this
    /// user wrote: a link, owned by another user, or writable by group or others. Null when it can be, or
    /// when it does not exist.
    /// </summary>
    public static string? Distrust(string path)
    {
        if (!TryLStat(path, out var owner, out var mode))
            return null;
        const uint typeMask = 0xF000, link = 0xA000;
        if ((mode & typeMask) == link)
            return $"{path} is a symbolic link";
        var me = GetEffectiveUserId();
        if (owner != me)
            return $"{path} is owned by user {owner}, not by this user ({me})";
        if ((mode & 0x12) != 0) // S_IWGRP | S_IWOTH
            return $"{path} is writable by group or others (mode {System.Convert.ToString(mode & 0xFFF, 8).PadLeft(4, '0')})";
        return null;
    }

    /// <summary>Whether <paramref name="path"/> exists and belongs to this user (links not followed).</summary>
    public static bool IsOwnedByUser(string path) => TryLStat(path, out var owner, out _) && owner == GetEffectiveUserId();

    private static bool TryLStat(string path, out uint owner, out uint mode)
    {
        Span<byte> stat = stackalloc byte[256]; // struct stat is 144 bytes on x86-64 and 128 on arm64
        owner = mode = 0;
        if (LStat(path, ref MemoryMarshal.GetReference(stat)) != 0)
            return false;
        (int modeAt, int ownerAt) = RuntimeInformation.ProcessArchitecture switch
        {
            Architecture.X64 => (24, 28),
            Architecture.Arm64 => (16, 24),
            var other => throw new PlatformNotSupportedException($"struct stat layout of {other}"),
        };
        mode = MemoryMarshal.Read<uint>(stat[modeAt..]);
        owner = MemoryMarshal.Read<uint>(stat[ownerAt..]);
        return true;
    }

    [LibraryImport("libc", EntryPoint = "lstat", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int LStat(string path, ref byte stat);

    [LibraryImport("libc", EntryPoint = "geteuid")]
    private static partial uint GetEffectiveUserId();
}
