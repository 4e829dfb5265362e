using System.Runtime.InteropServices;
using System.Text.Json;
using System.Text.Json.Nodes;
using MemNotebook.Recorder.Tracing;

namespace MemNotebook.Recorder.Launching;

/// <summary>What <see cref="JupyterKernelSpec.Install"/> wrote.</summary>
public sealed record KernelSpecInstallation(string Folder, string KernelJsonPath, string TracerPath, string DotnetInteractivePath);

/// <summary>
/// The Jupyter kernelspec ".net-csharp-memprofile": a .NET Interactive C# kernel started with the tracer
/// as its profiler (exact mode for <c>#!memprofile</c>). The spec's <c>env</c> loads the tracer; its
/// <c>argv</c> starts the <c>dotnet-interactive</c> tool directly, so the kernel process itself is the one
/// traced (through <c>dotnet interactive</c>, the SDK's own process would start first and take the tracer).
/// The tracer is copied into the spec's folder, so the kernel keeps working when a package cache is cleaned.
/// Beside it goes the kernel's startup hook (<c>MemNotebook.KernelStartup.dll</c>, <c>DOTNET_STARTUP_HOOKS</c>):
/// before dotnet-interactive's Main it removes the tracer's variables from the environment the kernel's children
/// get (so a <c>dotnet</c> started from a cell runs without the tracer), and gives the kernel's HTTP API — code
/// execution for anyone who can reach it, which <c>dotnet-interactive jupyter</c> always starts — a server
/// that listens nowhere; <c>--http-local-only</c> keeps the host's addresses out of what it would announce.
/// </summary>
public static class JupyterKernelSpec
{
    public const string Name = ".net-csharp-memprofile";
    public const string DisplayName = ".NET (C#) — memory tracer";
    public const string StartupHookFileName = "MemNotebook.KernelStartup.dll";

    /// <summary>Where Jupyter looks for user kernelspecs: $JUPYTER_DATA_DIR/kernels, else ~/.local/share/jupyter/kernels.</summary>
    public static string UserKernelsFolder()
    {
        var data = Environment.GetEnvironmentVariable("JUPYTER_DATA_DIR");
        if (string.IsNullOrEmpty(data))
        {
            var xdg = Environment.GetEnvironmentVariable("XDG_DATA_HOME");
            data = string.IsNullOrEmpty(xdg)
                ? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".local", "share", "jupyter")
                : Path.Combine(xdg, "jupyter");
        }
        return Path.Combine(data, "kernels");
    }

    /// <summary>
    /// The <c>dotnet-interactive</c> executable: on PATH, else in ~/.dotnet/tools; null when neither has it.
    /// </summary>
    public static string? FindDotnetInteractive()
    {
        var candidates = (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Append(Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".dotnet", "tools"));
        foreach (var folder in candidates)
        {
            var path = Path.Combine(folder, "dotnet-interactive");
            if (File.Exists(path))
                return Path.GetFullPath(path);
        }
        return null;
    }

    /// <summary>
    /// Writes the kernelspec into <paramref name="kernelsFolder"/> (default <see cref="UserKernelsFolder"/>),
    /// replacing an older one. Throws <see cref="LaunchException"/> naming what is missing.
    /// </summary>
    public static KernelSpecInstallation Install(string? tracerPath, string? dotnetInteractivePath = null, string? kernelsFolder = null)
    {
        tracerPath = tracerPath is null ? TracerLocation.Find() : Path.GetFullPath(tracerPath);
        if (tracerPath is null || !File.Exists(tracerPath))
            throw new LaunchException(LaunchFailure.TracerMissing, TracerLocation.NotFound(tracerPath));
        var tool = dotnetInteractivePath ?? FindDotnetInteractive()
            ?? throw new LaunchException(LaunchFailure.CommandNotStarted,
                "dotnet-interactive was not found on PATH or in ~/.dotnet/tools: install it with `dotnet tool install -g Microsoft.dotnet-interactive --prerelease`");
        if (!File.Exists(tool))
            throw new LaunchException(LaunchFailure.CommandNotStarted, $"dotnet-interactive not found at {tool}");

        var folder = Path.Combine(kernelsFolder ?? UserKernelsFolder(), Name);
        Directory.CreateDirectory(folder);
        var tracerCopy = Path.Combine(folder, TracerLocation.FileName);
        // A running kernel maps the old copy: write beside it and rename, never overwrite in place.
        var staging = tracerCopy + ".new";
        File.Copy(tracerPath, staging, overwrite: true);
        File.Move(staging, tracerCopy, overwrite: true);
        var hook = Path.Combine(folder, StartupHookFileName);
        using (var embedded = typeof(JupyterKernelSpec).Assembly.GetManifestResourceStream(typeof(JupyterKernelSpec).Namespace + "." + StartupHookFileName)
            ?? throw new InvalidOperationException($"{StartupHookFileName} is not embedded in {typeof(JupyterKernelSpec).Assembly.Location}"))
        using (var file = File.Create(hook + ".new"))
            embedded.CopyTo(file);
        File.Move(hook + ".new", hook, overwrite: true);

        var env = new JsonObject();
        foreach (var (key, value) in TracedProcess.ProfilerEnvironment(tracerCopy))
            env[key] = value;
        env["DOTNET_STARTUP_HOOKS"] = hook;
        var dotnetRoot = DotnetRoot();
        if (dotnetRoot is not null)
            env["DOTNET_ROOT"] = dotnetRoot;
        var spec = new JsonObject
        {
            ["argv"] = new JsonArray(Argv(tool).Select(a => (JsonNode?)a).ToArray()),
            ["display_name"] = DisplayName,
            ["language"] = "C#",
            ["env"] = env,
            ["metadata"] = new JsonObject
            {
                ["memnotebook"] = new JsonObject { ["mode"] = "exact", ["tracer"] = tracerCopy, ["startup_hook"] = hook },
            },
        };
        var kernelJson = Path.Combine(folder, "kernel.json");
        File.WriteAllText(kernelJson, spec.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n");
        return new KernelSpecInstallation(folder, kernelJson, tracerCopy, tool);
    }

    /// <summary>
    /// The kernel's command line. dotnet-interactive has no option to leave its HTTP API out (the startup hook
    /// keeps it from listening); <c>--http-local-only</c> limits the addresses it would announce to loopback.
    /// </summary>
    public static string[] Argv(string dotnetInteractive) =>
        [dotnetInteractive, "jupyter", "--default-kernel", "csharp", "--http-local-only", "{connection_file}"];

    /// <summary>The folder of the dotnet host that runs this process (so the tool's apphost finds the same runtime).</summary>
    private static string? DotnetRoot()
    {
        var fromEnvironment = Environment.GetEnvironmentVariable("DOTNET_ROOT");
        if (!string.IsNullOrEmpty(fromEnvironment))
            return fromEnvironment;
        // .../dotnet/shared/Microsoft.NETCore.App/10.0.x/
        var runtime = RuntimeEnvironment.GetRuntimeDirectory().TrimEnd('/');
        var root = Path.GetDirectoryName(Path.GetDirectoryName(Path.GetDirectoryName(runtime)));
        return root is not null && File.Exists(Path.Combine(root, "dotnet")) ? root : null;
    }
}
