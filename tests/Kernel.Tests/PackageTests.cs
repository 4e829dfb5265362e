using System.Diagnostics;
using System.IO.Compression;
using System.Text.RegularExpressions;
using System.Xml.Linq;

namespace MemNotebook.Kernel.Tests;

/// <summary>The NuGet package as scripts/pack.sh makes it: its .nuspec read from the .nupkg.</summary>
public sealed class PackageTests
{
    [Fact]
    public async Task Package_declares_its_license_project_url_and_packed_readme_and_the_one_version()
    {
        var folder = Path.Combine(Path.GetTempPath(), $"memnb-pack-{Guid.NewGuid():N}");
        try
        {
            var start = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true };
            start.ArgumentList.Add(Path.Combine(Jupyter.Repository, "scripts", "pack.sh"));
            start.ArgumentList.Add(folder);
            // This test host runs with the tracer as its profiler; dotnet pack must not.
            foreach (var name in start.Environment.Keys.Where(k => k.StartsWith("CORECLR_", StringComparison.Ordinal)).ToList())
                start.Environment.Remove(name);
            using (var pack = Process.Start(start)!)
            {
                var stderr = pack.StandardError.ReadToEndAsync();
                var stdout = await pack.StandardOutput.ReadToEndAsync();
                await pack.WaitForExitAsync();
                Assert.True(pack.ExitCode == 0, $"pack.sh failed: {stdout}{await stderr}");
            }
            var package = Assert.Single(Jupyter.NotebookPackages(folder));
            using var zip = ZipFile.OpenRead(package);
            var nuspecEntry = Assert.Single(zip.Entries, e => e.FullName == "MemNotebook.nuspec");
            XDocument nuspec;
            using (var stream = nuspecEntry.Open())
                nuspec = XDocument.Load(stream);
            var metadata = nuspec.Root!.Elements().Single(e => e.Name.LocalName == "metadata");
            string Value(string name) => metadata.Elements().Single(e => e.Name.LocalName == name).Value;
            XElement Element(string name) => metadata.Elements().Single(e => e.Name.LocalName == name);

            Assert.Equal("MIT", Value("license"));
            Assert.Equal("expression", Element("license").Attribute("type")?.Value);
            Assert.Equal("https://github.com/memnotebook/memnotebook", Value("projectUrl"));
            Assert.Equal("README.md", Value("readme"));
            // The readme it names is in the package, and is the repository's.
            var readme = Assert.Single(zip.Entries, e => e.FullName == "README.md");
            using (var reader = new StreamReader(readme.Open()))
                Assert.Equal(File.ReadAllText(Path.Combine(Jupyter.Repository, "README.md")), reader.ReadToEnd());
            // The version is Directory.Build.props' (the one memnb --version prints) with the local suffix.
            var props = XDocument.Load(Path.Combine(Jupyter.Repository, "Directory.Build.props"));
            var version = props.Descendants("Version").Single().Value;
            Assert.Matches(new Regex($"^{Regex.Escape(version)}-local\\.[0-9]{{14}}$"), Value("version"));
            Assert.True(File.Exists(Path.Combine(Jupyter.Repository, "LICENSE")), "the repository has no LICENSE file");
            Assert.Contains("MIT License", File.ReadAllText(Path.Combine(Jupyter.Repository, "LICENSE")));
        }
        finally
        {
            if (Directory.Exists(folder))
                Directory.Delete(folder, recursive: true);
        }
    }
}
