using System.Diagnostics;
using System.Xml.Linq;

namespace MemNotebook.Testing.Tests;

/// <summary>One test's result in a TRX file.</summary>
public sealed record SampleResult(string Outcome, string Message);

/// <summary>
/// A sample test project of samples/MemoryLimits run by `dotnet test` as a user runs it: copied out of the repository
/// (no Directory.Build.props of ours applies), MemNotebook.Testing restored from artifacts/packages (scripts/pack.sh),
/// results read from the TRX file.
/// </summary>
public static class SampleRun
{
    public static string Repository { get; } = FindRepository();

    public static string PackageFolder => Path.Combine(Repository, "artifacts", "packages");

    /// <summary>The version of the one MemNotebook.Testing package in artifacts/packages.</summary>
    public static string PackageVersion()
    {
        var packages = Directory.Exists(PackageFolder) ? Directory.GetFiles(PackageFolder, "MemNotebook.Testing.*.nupkg") : [];
        Assert.True(packages.Length == 1, $"{PackageFolder} must hold one MemNotebook.Testing package: run scripts/pack.sh after building");
        var name = Path.GetFileNameWithoutExtension(packages[0]);
        return name["MemNotebook.Testing.".Length..];
    }

    /// <summary>Copies the sample <paramref name="name"/> to a new temporary folder and returns it.</summary>
    public static string CopySample(string name)
    {
        var source = Path.Combine(Repository, "samples", "MemoryLimits", name);
        var target = Directory.CreateTempSubdirectory($"memnb-sample-{name}-").FullName;
        foreach (var file in Directory.GetFiles(source, "*", SearchOption.AllDirectories))
        {
            var relative = Path.GetRelativePath(source, file);
            if (relative.Split(Path.DirectorySeparatorChar).Any(p => p is "bin" or "obj"))
                continue;
            Directory.CreateDirectory(Path.GetDirectoryName(Path.Combine(target, relative))!);
            File.Copy(file, Path.Combine(target, relative));
        }
        return target;
    }

    /// <summary>
    /// " (FILE:LINE)" as a failure message gives it for a frame of the sample's LimitTests.cs in <paramref name="folder"/>: the
    /// line is the one line holding <paramref name="code"/>.
    /// </summary>
    public static string At(string folder, string code)
    {
        var file = Path.Combine(folder, "LimitTests.cs");
        var lines = File.ReadAllLines(file);
        var found = Enumerable.Range(0, lines.Length).Where(i => lines[i].Contains(code, StringComparison.Ordinal)).ToList();
        Assert.True(found.Count == 1, $"{file}: {found.Count} lines hold `{code}`, expected one");
        return $" ({file}:{found[0] + 1})";
    }

    /// <summary>Runs `dotnet <paramref name="arguments"/>` in <paramref name="folder"/> without this host's tracer variables.</summary>
    public static Task<(int ExitCode, string Output)> Dotnet(string folder, IReadOnlyDictionary<string, string>? environment, params string[] arguments) =>
        Run("dotnet", folder, environment, arguments);

    /// <summary>Runs <paramref name="program"/> in <paramref name="folder"/> without this host's tracer variables.</summary>
    public static async Task<(int ExitCode, string Output)> Run(string program, string folder, IReadOnlyDictionary<string, string>? environment, params string[] arguments)
    {
        var start = new ProcessStartInfo(program) { WorkingDirectory = folder, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in arguments)
            start.ArgumentList.Add(a);
        // This test host runs under the tracer; the sample's `dotnet test` must start as a user's does.
        foreach (var key in start.Environment.Keys.Where(k => k.StartsWith("CORECLR_", StringComparison.Ordinal) || k.StartsWith("MEMNB_", StringComparison.Ordinal)
                     || k is "DOTNET_gcConcurrent" or "DOTNET_TC_OnStackReplacement" or "DOTNET_TC_QuickJitForLoops").ToList())
            start.Environment.Remove(key);
        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        start.Environment["DOTNET_NOLOGO"] = "1";
        foreach (var (key, value) in environment ?? new Dictionary<string, string>())
            start.Environment[key] = value;
        using var process = Process.Start(start)!;
        var stderr = process.StandardError.ReadToEndAsync();
        var stdout = await process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync();
        return (process.ExitCode, stdout + await stderr);
    }

    /// <summary>The restore properties: MemNotebook.Testing at the packed version from artifacts/packages, the rest from the usual sources.</summary>
    public static string[] PackageProperties() =>
        [$"-p:RestoreAdditionalProjectSources={PackageFolder}", $"-p:MemNotebookVersion={PackageVersion()}"];

    /// <summary>Test name (the method's) to outcome and error message, from every TRX file under <paramref name="folder"/>.</summary>
    public static Dictionary<string, SampleResult> ReadTrx(string folder)
    {
        var results = new Dictionary<string, SampleResult>();
        foreach (var file in Directory.GetFiles(folder, "*.trx", SearchOption.AllDirectories))
        {
            var trx = XDocument.Load(file);
            foreach (var result in trx.Descendants().Where(e => e.Name.LocalName == "UnitTestResult"))
            {
                var name = result.Attribute("testName")!.Value;
                var message = result.Descendants().FirstOrDefault(e => e.Name.LocalName == "Message")?.Value
                    ?? result.Descendants().FirstOrDefault(e => e.Name.LocalName == "StdOut")?.Value ?? "";
                results[name[(name.LastIndexOf('.') + 1)..]] = new SampleResult(result.Attribute("outcome")!.Value, message);
            }
        }
        return results;
    }

    private static string FindRepository()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "MemNotebook.sln")))
                return dir.FullName;
        throw new InvalidOperationException($"no MemNotebook.sln above {AppContext.BaseDirectory}");
    }
}
