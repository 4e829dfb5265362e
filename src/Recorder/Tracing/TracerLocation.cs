namespace MemNotebook.Recorder.Tracing;

/// <summary>
/// Where libmemnb_tracer.so is: the one lookup that <c>Tracker</c>, <c>memnb run</c>, <c>memnb attach</c>,
/// <c>memnb jupyter install</c> and the notebook's <c>--install-kernel</c> all use.
/// </summary>
public static class TracerLocation
{
    public const string FileName = "libmemnb_tracer.so";

    /// <summary>The variable naming the tracer file; when set, it is the only place looked at.</summary>
    public const string PathVariable = "MEMNB_TRACER_PATH";

    /// <summary>
    /// The tracer of this process: the copy mapped as its profiler if there is one, else <see cref="FindFile"/>;
    /// null when there is none.
    /// </summary>
    public static string? Find() => FindMapped() ?? FindFile();

    /// <summary>The first of <see cref="Candidates()"/> that exists; null when none does.</summary>
    public static string? FindFile() => Candidates().FirstOrDefault(File.Exists);

    /// <summary>
    /// The places looked at, in order: MEMNB_TRACER_PATH alone when it is set; else beside this assembly (a build
    /// or the CLI tool), in the NuGet package's runtimes/linux-x64/native (this assembly is in lib/net10.0), and
    /// beside the application.
    /// </summary>
    public static IReadOnlyList<string> Candidates() =>
        Candidates(Environment.GetEnvironmentVariable(PathVariable),
            Path.GetDirectoryName(typeof(TracerLocation).Assembly.Location), AppContext.BaseDirectory);

    internal static IReadOnlyList<string> Candidates(string? variable, string? assemblyFolder, string applicationFolder)
    {
        if (!string.IsNullOrEmpty(variable))
            return [Path.GetFullPath(variable)];
        var places = new List<string>();
        if (!string.IsNullOrEmpty(assemblyFolder))
        {
            places.Add(Path.Combine(assemblyFolder, FileName));
            places.Add(Path.GetFullPath(Path.Combine(assemblyFolder, "..", "..", "runtimes", "linux-x64", "native", FileName)));
        }
        var beside = Path.Combine(applicationFolder, FileName);
        if (!places.Contains(beside))
            places.Add(beside);
        return places;
    }

    /// <summary>What to say when no tracer was found: where it was looked for, and how to name it.</summary>
    public static string NotFound(string? given = null) =>
        $"tracer library not found at {(given is null ? string.Join(", ", Candidates()) : given)} (build native/ or set {PathVariable})";

    /// <summary>The path of the tracer if it is mapped into this process already.</summary>
    public static string? FindMapped() => FindMapped("/proc/self/maps");

    /// <summary>The path of the tracer if process <paramref name="processId"/> has it mapped.</summary>
    public static string? FindMapped(int processId) => FindMapped($"/proc/{processId}/maps");

    private static string? FindMapped(string mapsFile)
    {
        try
        {
            foreach (string line in File.ReadLines(mapsFile))
            {
                int slash = line.IndexOf('/');
                if (slash >= 0 && line.EndsWith("/" + FileName, StringComparison.Ordinal))
                    return line[slash..];
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
        }
        return null;
    }
}
