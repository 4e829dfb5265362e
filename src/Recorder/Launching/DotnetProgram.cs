namespace MemNotebook.Recorder.Launching;

/// <summary>What a command given to <c>memnb run</c> is, as far as loading the tracer goes.</summary>
public enum ProgramKind
{
    /// <summary>The dotnet host (<c>dotnet app.dll</c>, <c>dotnet run</c>, ...).</summary>
    DotnetHost,
    /// <summary>A .NET app's own executable (an apphost, single-file or not).</summary>
    AppHost,
    /// <summary>Anything else: a shell, a script, a native program. Only .NET programs it starts can be traced.</summary>
    NotDotnet,
    /// <summary>Not found on PATH or unreadable.</summary>
    Unknown,
}

/// <summary>Tells a .NET program from any other, to word what happened when a traced run left no capture.</summary>
public static class DotnetProgram
{
    /// <summary>
    /// The 32 bytes every apphost carries in its bundle marker (the SHA-256 of ".net core bundle"), bundle or not:
    /// the host's own way to find a single-file bundle.
    /// </summary>
    private static readonly byte[] AppHostSignature =
    [
        0x8b, 0x12, 0x02, 0xb9, 0x6a, 0x61, 0x20, 0x38, 0x72, 0x7b, 0x93, 0x02, 0x14, 0xd7, 0xa0, 0x32,
        0x13, 0xf5, 0xb9, 0xe6, 0xef, 0xae, 0x33, 0x18, 0xee, 0x3b, 0x2d, 0xce, 0x24, 0xb3, 0x6a, 0xae,
    ];

    /// <summary>The apphost of a single-file bundle comes first in the file; the marker lies within its first megabytes.</summary>
    private const int ScanLimit = 16 << 20;

    public static ProgramKind Classify(string command, string workingDirectory)
    {
        var path = Locate(command, workingDirectory);
        if (path is null)
            return ProgramKind.Unknown;
        if (Path.GetFileName(path) == "dotnet")
            return ProgramKind.DotnetHost;
        try
        {
            // A framework-dependent apphost sits beside its app.dll and runtimeconfig; a single-file one carries them.
            var withoutExtension = Path.Combine(Path.GetDirectoryName(path)!, Path.GetFileNameWithoutExtension(path));
            if (File.Exists(withoutExtension + ".runtimeconfig.json") && File.Exists(withoutExtension + ".dll"))
                return ProgramKind.AppHost;
            return Contains(path, AppHostSignature) ? ProgramKind.AppHost : ProgramKind.NotDotnet;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return ProgramKind.Unknown;
        }
    }

    /// <summary>The file a command names: a path (relative to <paramref name="workingDirectory"/>) or a name on PATH, symlinks followed.</summary>
    internal static string? Locate(string command, string workingDirectory)
    {
        string? path = null;
        if (command.Contains('/'))
            path = Path.GetFullPath(command, workingDirectory);
        else
            foreach (var folder in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries))
            {
                var candidate = Path.Combine(Path.GetFullPath(folder, workingDirectory), command);
                if (File.Exists(candidate))
                {
                    path = candidate;
                    break;
                }
            }
        if (path is null || !File.Exists(path))
            return null;
        var target = new FileInfo(path).ResolveLinkTarget(returnFinalTarget: true);
        return target?.FullName ?? path;
    }

    private static bool Contains(string path, byte[] pattern)
    {
        using var file = File.OpenRead(path);
        var buffer = new byte[(1 << 20) + pattern.Length];
        var carried = 0;
        long scanned = 0;
        while (scanned < ScanLimit)
        {
            var read = file.Read(buffer, carried, buffer.Length - carried);
            if (read == 0)
                return false;
            var length = carried + read;
            if (buffer.AsSpan(0, length).IndexOf(pattern) >= 0)
                return true;
            // Keep the tail: the pattern may straddle two reads.
            carried = Math.Min(pattern.Length - 1, length);
            Array.Copy(buffer, length - carried, buffer, 0, carried);
            scanned += read;
        }
        return false;
    }
}
