using MemNotebook.Recorder.Tracing;
using System.Diagnostics;
using Xunit;
using System.Reflection;
using System.Text.Json;
using MemNotebook.Recorder.Launching;

namespace MemNotebook.Recorder.Tests.Profiler;

/// <summary>
/// Starts tests/TestTarget in a child process with the tracer loaded as its profiler (the
/// tracer's startup-only path can only be exercised in a fresh process) and returns what
/// the scenario printed.
/// </summary>
internal static class TracedTarget
{
    public static string TargetPath =>
        typeof(TracedTarget).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == "TestTargetPath").Value!;

    public static string TracerPath => Path.Combine(AppContext.BaseDirectory, TracerLocation.FileName);

    public sealed record Run(int ExitCode, string Stdout, string Stderr)
    {
        public JsonElement Facts => JsonDocument.Parse(Stdout.Trim().Split('\n').Last()).RootElement;
    }

    public static Run Start(string scenario, string? capture = null, IDictionary<string, string>? environment = null,
        bool withTracer = true, string[]? arguments = null)
    {
        Assert.True(File.Exists(TargetPath), $"test target missing: {TargetPath}");
        Assert.True(File.Exists(TracerPath), $"tracer missing: {TracerPath}");
        var psi = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        psi.ArgumentList.Add(TargetPath);
        psi.ArgumentList.Add(scenario);
        if (capture is not null) psi.ArgumentList.Add(capture);
        foreach (string a in arguments ?? []) psi.ArgumentList.Add(a);
        foreach (string name in new[] { "CORECLR_ENABLE_PROFILING", "CORECLR_PROFILER", "CORECLR_PROFILER_PATH", "MEMNB_OUTPUT", "MEMNB_CLAIM", "MEMNB_AGGREGATE", "MEMNB_NATIVE" })
            psi.Environment.Remove(name);
        if (withTracer)
        {
            psi.Environment["CORECLR_ENABLE_PROFILING"] = "1";
            psi.Environment["CORECLR_PROFILER"] = TracedProcess.ProfilerClsid;
            psi.Environment["CORECLR_PROFILER_PATH"] = TracerPath;
            psi.Environment["DOTNET_TC_OnStackReplacement"] = "0";  // as memnb run does
            psi.Environment["DOTNET_TC_QuickJitForLoops"] = "0";
        }
        if (environment is not null)
            foreach (var (k, v) in environment) psi.Environment[k] = v;
        using var process = Process.Start(psi)!;
        var stderr = process.StandardError.ReadToEndAsync();
        string stdout = process.StandardOutput.ReadToEnd();
        if (!process.WaitForExit(120_000))
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"scenario {scenario} did not finish in 120 s");
        }
        return new Run(process.ExitCode, stdout, stderr.Result);
    }

    public static string TempCapture(string name)
    {
        string dir = Path.Combine(Path.GetTempPath(), "memnb-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        return Path.Combine(dir, name);
    }
}
