using MemNotebook.Kernel;
using Microsoft.DotNet.Interactive;
using Microsoft.DotNet.Interactive.Commands;
using Microsoft.DotNet.Interactive.CSharp;
using Microsoft.DotNet.Interactive.Events;

namespace MemNotebook.Kernel.Tests;

/// <summary>
/// A CompositeKernel with a C# kernel and the extension loaded, as a notebook has it. Shared by the
/// exact-mode tests (a test host started with the tracer) and Kernel.SampledTests (one without it).
/// </summary>
public sealed class KernelHarness : IDisposable
{
    public CompositeKernel Kernel { get; }
    public string Folder { get; } = Directory.CreateTempSubdirectory("memnb-kernel-").FullName;

    private KernelHarness(CompositeKernel kernel) => Kernel = kernel;

    public static async Task<KernelHarness> StartAsync()
    {
        var csharp = new CSharpKernel();
        var composite = new CompositeKernel { csharp };
        composite.DefaultKernelName = csharp.Name;
        var harness = new KernelHarness(composite);
        var load = await composite.SendAsync(new SubmitCode($"#r \"{typeof(Capture).Assembly.Location}\"\nusing MemNotebook;"));
        Assert.Empty(load.Events.OfType<CommandFailed>());
        await new MemProfileExtension().OnLoadAsync(composite);
        return harness;
    }

    public async Task<CellResult> RunAsync(string code) => new(await Kernel.SendAsync(new SubmitCode(code)));

    /// <summary>The value of a C# expression (after the statements before it), as a string; fails the test when the cell fails.</summary>
    public async Task<string> ValueAsync(string code)
    {
        var result = await RunAsync(code);
        Assert.True(result.Failure is null, $"{code}\n{result.Failure?.Message}");
        var value = Assert.Single(result.Events.OfType<ReturnValueProduced>()).Value;
        return value?.ToString() ?? "";
    }

    public async Task<long> LongAsync(string code) => Convert.ToInt64(await ValueAsync(code));

    /// <summary>Count and bytes of <paramref name="type"/> in a view (a C# expression of type AllocationView).</summary>
    public async Task<(long Count, long Bytes)> TypeTotalsAsync(string view, string type)
    {
        var value = await ValueAsync($$"""
            var __types = {{view}}.TopTypes(int.MaxValue);
            var __found = Enumerable.Range(0, (int)__types.Rows.Count).Where(i => (string)__types["type"][i] == "{{type}}").ToList();
            __found.Count == 0 ? "0 0" : $"{__types["count"][__found[0]]} {__types["bytes"][__found[0]]}"
            """);
        var parts = value.Split(' ');
        return (long.Parse(parts[0]), long.Parse(parts[1]));
    }

    public void Dispose()
    {
        Kernel.Dispose();
        try { Directory.Delete(Folder, recursive: true); } catch (IOException) { }
    }
}

/// <summary>The events of one cell, with the accessors the tests assert on.</summary>
public sealed record CellResult(KernelCommandResult Result)
{
    public IReadOnlyList<KernelEvent> Events => Result.Events;

    public CommandFailed? Failure => Events.OfType<CommandFailed>().FirstOrDefault();

    /// <summary>The HTML of every displayed value, in order.</summary>
    public IReadOnlyList<string> Html => Events.OfType<DisplayEvent>()
        .SelectMany(e => e.FormattedValues.Where(v => v.MimeType == "text/html").Select(v => v.Value)).ToList();

    public IReadOnlyList<string> Outputs(string cssClass) => Html.Where(h => h.StartsWith($"<div class=\"{cssClass}\"", StringComparison.Ordinal)).ToList();
}
