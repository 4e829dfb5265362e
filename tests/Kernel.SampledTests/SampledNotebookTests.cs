using System.Text.Json;
using System.Text.RegularExpressions;

namespace MemNotebook.Kernel.SampledTests;

/// <summary>
/// Sampled mode end to end: a notebook executed by real Jupyter (nbconvert) in the plain ".net-csharp" kernel
/// (installed by `dotnet interactive jupyter install`), with the package from artifacts/packages (scripts/pack.sh).
/// The extension is loaded from the package, finds the packaged tracer and attaches it to the kernel process.
/// </summary>
[Collection(SampledCollection.Name)]
public sealed class SampledNotebookTests
{
    [Fact]
    public void A_notebook_in_the_plain_kernel_profiles_a_cell_in_sampled_mode()
    {
        var packages = Jupyter.PackageFolder();
        var folder = Directory.CreateTempSubdirectory("memnb-sampled-nb-").FullName;
        string[] sources =
        [
            $"#i \"nuget:{packages}\"\n#r \"nuget:MemNotebook, *-*\"",
            "var keep = new List<byte[]>();",
            "#!memprofile\nfor (var i = 0; i < 200; i++) keep.Add(new byte[1 << 20]);",
            "memprofile.IsSampled + \" \" + memprofile.EstimatedBytes + \" \" + memprofile.TopFunctions(1)[\"function\"][0]",
        ];
        var notebook = new
        {
            cells = sources.Select(s => new { cell_type = "code", metadata = new { }, source = s, outputs = Array.Empty<object>(), execution_count = (int?)null }),
            metadata = new { kernelspec = new { name = ".net-csharp", display_name = ".NET (C#)", language = "C#" } },
            nbformat = 4,
            nbformat_minor = 5,
        };
        var input = Path.Combine(folder, "sampled.ipynb");
        File.WriteAllText(input, JsonSerializer.Serialize(notebook));

        var executed = Jupyter.Execute(input, ".net-csharp", Path.Combine(folder, "executed"));
        var outputs = Jupyter.Cells(executed).Select(c => c.Text).ToArray();
        Assert.Contains("(sampled mode: this kernel was started without the tracer", outputs[2]);
        Assert.Contains("allocated (estimate)", outputs[2]);
        var result = Regex.Match(outputs[3], @"True (\d+) (cell \d+)");
        Assert.True(result.Success, outputs[3]);
        var truth = 200L * ((1 << 20) + 24);
        Assert.InRange(long.Parse(result.Groups[1].Value), truth * 95 / 100, truth * 105 / 100);
        try { Directory.Delete(folder, recursive: true); } catch (IOException) { }
    }
}
