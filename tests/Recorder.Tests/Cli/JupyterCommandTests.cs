using Xunit;
using System.Text.Json;

namespace MemNotebook.Recorder.Tests.Cli;

public sealed class JupyterCommandTests
{
    [Fact]
    public void Install_writes_the_kernelspec_with_the_tracer_beside_it()
    {
        using var h = new CliHarness();
        var tracer = h.File("libmemnb_tracer.so", [1, 2, 3, 4, 5]);
        var tool = h.File("dotnet-interactive", []);
        var kernels = h.PathOf("kernels");
        var result = CliHarness.Run("jupyter", "install", "--tracer", tracer, "--dotnet-interactive", tool, "--kernels-dir", kernels);
        Assert.Equal(0, result.ExitCode);
        var folder = Path.Combine(kernels, ".net-csharp-memprofile");
        Assert.Contains($"Installed the Jupyter kernel \".NET (C#) — memory tracer\" (.net-csharp-memprofile) in {folder}", result.Out);
        Assert.Equal([1, 2, 3, 4, 5], File.ReadAllBytes(Path.Combine(folder, "libmemnb_tracer.so")));
        using var spec = JsonDocument.Parse(File.ReadAllText(Path.Combine(folder, "kernel.json")));
        var root = spec.RootElement;
        Assert.Equal([tool, "jupyter", "--default-kernel", "csharp", "--http-local-only", "{connection_file}"],
            root.GetProperty("argv").EnumerateArray().Select(e => e.GetString()!).ToArray());
        var hook = Path.Combine(folder, "MemNotebook.KernelStartup.dll");
        Assert.Equal("MemNotebook.KernelStartup", System.Reflection.AssemblyName.GetAssemblyName(hook).Name);
        Assert.Equal("C#", root.GetProperty("language").GetString());
        var env = root.GetProperty("env");
        Assert.Equal(Path.Combine(folder, "libmemnb_tracer.so"), env.GetProperty("CORECLR_PROFILER_PATH").GetString());
        Assert.Equal("0", env.GetProperty("DOTNET_TC_OnStackReplacement").GetString());
        Assert.Equal("0", env.GetProperty("DOTNET_TC_QuickJitForLoops").GetString());
        Assert.Equal(hook, env.GetProperty("DOTNET_STARTUP_HOOKS").GetString());
        Assert.False(env.TryGetProperty("MEMNB_OUTPUT", out _), "an idle kernel records nothing until a cell asks");

        // Again: replaced in place.
        File.WriteAllBytes(tracer, [9]);
        Assert.Equal(0, CliHarness.Run("jupyter", "install", "--tracer", tracer, "--dotnet-interactive", tool, "--kernels-dir", kernels).ExitCode);
        Assert.Equal([9], File.ReadAllBytes(Path.Combine(folder, "libmemnb_tracer.so")));
    }

    [Fact]
    public void Install_names_what_is_missing()
    {
        using var h = new CliHarness();
        var tool = h.File("dotnet-interactive", []);
        var noTracer = CliHarness.Run("jupyter", "install", "--tracer", h.PathOf("none.so"), "--dotnet-interactive", tool, "--kernels-dir", h.PathOf("k"));
        Assert.Equal(4, noTracer.ExitCode);
        Assert.Equal($"memnb jupyter install: tracer library not found at {h.PathOf("none.so")} (build native/ or set MEMNB_TRACER_PATH)\n", noTracer.Err);

        var tracer = h.File("libmemnb_tracer.so", [1]);
        var noTool = CliHarness.Run("jupyter", "install", "--tracer", tracer, "--dotnet-interactive", h.PathOf("missing-tool"), "--kernels-dir", h.PathOf("k"));
        Assert.Equal(1, noTool.ExitCode);
        Assert.Equal($"memnb jupyter install: dotnet-interactive not found at {h.PathOf("missing-tool")}\n", noTool.Err);
        Assert.False(Directory.Exists(h.PathOf("k")));
    }
}
