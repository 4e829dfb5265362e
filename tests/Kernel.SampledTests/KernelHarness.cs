using Microsoft.DotNet.Interactive;
using Microsoft.DotNet.Interactive.Commands;
using Microsoft.DotNet.Interactive.CSharp;
using Microsoft.DotNet.Interactive.Events;

namespace MemNotebook.Kernel.SampledTests;

/// <summary>A CompositeKernel with a C# kernel and the extension loaded, as a notebook has it (tests/Kernel.Tests has the same).</summary>
public sealed class KernelHarness : IDisposable
{
    public CompositeKernel Kernel { get; }
    public string Folder { get; } = Directory.CreateTempSubdirectory("memnb-sampled-").FullName;

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

    /// <summary>The value of a C# expression, as a string; fails the test when the cell fails.</summary>
    public async Task<string> ValueAsync(string code)
    {
        var result = await RunAsync(code);
        Assert.True(result.Failure is null, $"{code}\n{result.Failure?.Message}");
        var value = Assert.Single(result.Events.OfType<ReturnValueProduced>()).Value;
        return value?.ToString() ?? "";
    }

    public async Task<long> LongAsync(string code) => Convert.ToInt64(await ValueAsync(code));

    public void Dispose()
    {
        Kernel.Dispose();
        try { Directory.Delete(Folder, recursive: true); } catch (IOException) { }
    }
}

/// <summary>The events of one cell.</summary>
public sealed record CellResult(KernelCommandResult Result)
{
    public IReadOnlyList<KernelEvent> Events => Result.Events;

    public CommandFailed? Failure => Events.OfType<CommandFailed>().FirstOrDefault();

    public IReadOnlyList<string> Html => Events.OfType<DisplayEvent>()
        .SelectMany(e => e.FormattedValues.Where(v => v.MimeType == "text/html").Select(v => v.Value)).ToList();

    public IReadOnlyList<string> Outputs(string cssClass) => Html.Where(h => h.StartsWith($"<div class=\"{cssClass}\"", StringComparison.Ordinal)).ToList();
}
