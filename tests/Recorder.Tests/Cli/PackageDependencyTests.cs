using System.Xml.Linq;
using Xunit;

namespace MemNotebook.Recorder.Tests.Cli;

/// <summary>
/// The packages that ship the Recorder's assembly in their lib/ (MemNotebook, MemNotebook.Testing) must
/// depend on every package the Recorder references, at the same version: a missing one is a
/// FileNotFoundException in the user's kernel or test host, which no in-repository build shows.
/// </summary>
public class PackageDependencyTests
{
    static Dictionary<string, string> PackageReferences(string project) =>
        XDocument.Load(Path.Combine(CliUsageTests.RepositoryRoot(), project))
            .Descendants("PackageReference")
            .Where(r => r.Attribute("PrivateAssets")?.Value != "all")
            .ToDictionary(r => r.Attribute("Include")!.Value, r => r.Attribute("Version")!.Value);

    [Theory]
    [InlineData("src/Kernel.Extension/Kernel.Extension.csproj", new string[0])]
    // The test package never runs SQL: DuckDB's ~70 MB of native libraries stay out of test projects.
    [InlineData("src/Testing/Testing.csproj", new[] { "DuckDB.NET.Data.Full" })]
    public void A_package_shipping_the_recorder_depends_on_all_its_packages(string project, string[] leftOut)
    {
        var recorder = PackageReferences("src/Recorder/Recorder.csproj");
        var package = PackageReferences(project);
        var missing = recorder.Where(r => !leftOut.Contains(r.Key) && (!package.TryGetValue(r.Key, out var v) || v != r.Value))
            .Select(r => $"{r.Key} {r.Value}").ToList();
        Assert.True(missing.Count == 0, $"{project} lacks the Recorder's {string.Join(", ", missing)}");
    }
}
