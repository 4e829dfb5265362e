using System.Runtime.InteropServices;

namespace MemNotebook.Cli;

/// <summary>
/// Checks where a verb is about to write, before it reads anything: never over its input (the same file through
/// any symlink or relative path, a file inside an input folder, or the input's Arrow folder beside it), and never
/// over an existing output unless --force.
/// </summary>
internal static partial class OutputTarget
{
    /// <summary>A message for why <paramref name="output"/> (a file to write) may not be written, or null.</summary>
    public static string? FileProblem(string input, string output, bool force)
    {
        if (Overlap(input, output) is { } overlap)
            return $"output {output} {overlap}; choose another output";
        if (Directory.Exists(output))
            return $"output {output} is a directory";
        if (File.Exists(output) && !force)
            return $"output {output} already exists (use --force to overwrite it)";
        return null;
    }

    /// <summary>A message for why <paramref name="output"/> (a folder to write files into) may not be used, or null.</summary>
    public static string? FolderProblem(string input, string output, bool force)
    {
        if (Overlap(input, output) is { } overlap)
            return $"output {output} {overlap}; choose another folder";
        var folder = Resolve(output);
        if (IsWithin(Resolve(input), folder))
            return $"output folder {output} holds the input {input}; choose another folder";
        if (File.Exists(output))
            return $"output {output} is a file, not a folder";
        if (Directory.Exists(output) && Directory.EnumerateFileSystemEntries(output).Any() && !force)
            return $"output folder {output} is not empty (use --force to write into it)";
        return null;
    }

    /// <summary>
    /// How <paramref name="output"/> overlaps <paramref name="input"/>: it is the input, lies inside it (an Arrow
    /// folder), or inside the Arrow folder beside it (<c>X.memnb.arrow/</c>, the tables the reports read); null when not.
    /// </summary>
    private static string? Overlap(string input, string output)
    {
        var target = Resolve(output);
        var source = Resolve(input);
        if (target == source)
            return $"is the input {input}";
        if (IsWithin(target, source))
            return $"is inside the input {input}";
        if (File.Exists(source) && IsWithin(target, source + ".arrow", orSame: true))
            return $"is in {input}.arrow, the tables of the input {input}";
        return null;
    }

    private static bool IsWithin(string path, string folder, bool orSame = false) =>
        (orSame && path == folder) || path.StartsWith(folder.TrimEnd('/') + "/", StringComparison.Ordinal);

    /// <summary>
    /// The canonical path: symlinks and "." / ".." resolved in the longest part that exists (realpath), the rest
    /// appended as written (it does not exist yet, so it cannot be a link).
    /// </summary>
    internal static string Resolve(string path)
    {
        var full = Path.GetFullPath(path);
        var rest = new Stack<string>();
        var existing = full;
        while (!File.Exists(existing) && !Directory.Exists(existing))
        {
            var parent = Path.GetDirectoryName(existing);
            if (parent is null)
                return full;
            rest.Push(Path.GetFileName(existing));
            existing = parent;
        }
        var resolved = RealPath(existing) ?? existing;
        while (rest.Count > 0)
            resolved = Path.Combine(resolved, rest.Pop());
        return resolved;
    }

    private static string? RealPath(string path)
    {
        var result = realpath(path, IntPtr.Zero);
        if (result == IntPtr.Zero)
            return null;
        try
        {
            return Marshal.PtrToStringUTF8(result);
        }
        finally
        {
            free(result);
        }
    }

    [LibraryImport("libc", StringMarshalling = StringMarshalling.Utf8)]
    private static partial IntPtr realpath(string path, IntPtr resolved);

    [LibraryImport("libc")]
    private static partial void free(IntPtr pointer);
}
