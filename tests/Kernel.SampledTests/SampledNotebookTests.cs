using System.Diagnostics;
using System.Net;
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
    public async Task A_notebook_in_the_plain_kernel_profiles_a_cell_in_sampled_mode()
    {
        var repository = FindRepository();
        var packages = Path.Combine(repository, "artifacts", "packages");
        Assert.True(Directory.Exists(packages) && Directory.GetFiles(packages, "MemNotebook.*.nupkg").Length == 1,
            $"{packages} must hold one MemNotebook package: run scripts/pack.sh after building");
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

        var start = new ProcessStartInfo("jupyter")
        {
            ArgumentList = { "nbconvert", "--to", "notebook", "--execute", "--ExecutePreprocessor.kernel_name=.net-csharp",
                "--ExecutePreprocessor.timeout=600", "--output", "executed.ipynb", input },
            WorkingDirectory = folder,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        // The .net-csharp kernelspec starts the dotnet-interactive tool by name.
        var tools = Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".dotnet", "tools");
        start.Environment["PATH"] = $"{Environment.GetEnvironmentVariable("PATH")}:{tools}";
        using var process = Process.Start(start) ?? throw new InvalidOperationException("jupyter did not start");
        var stderr = process.StandardError.ReadToEndAsync();
        var stdout = process.StandardOutput.ReadToEndAsync();
        using (var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(10)))
            await process.WaitForExitAsync(timeout.Token);
        Assert.True(process.ExitCode == 0, $"nbconvert exited with {process.ExitCode} (is the .net-csharp kernel installed: `dotnet interactive jupyter install`?)\n{await stdout}\n{await stderr}");

        using var executed = JsonDocument.Parse(File.ReadAllText(Path.Combine(folder, "executed.ipynb")));
        var outputs = executed.RootElement.GetProperty("cells").EnumerateArray()
            .Select(c => string.Join("\n", c.GetProperty("outputs").EnumerateArray().Select(Text))).ToArray();
        Assert.Contains("(sampled mode: this kernel was started without the tracer", outputs[2]);
        Assert.Contains("allocated (estimate)", outputs[2]);
        var result = Regex.Match(outputs[3], @"True (\d+) (Submission#\S+)");
        Assert.True(result.Success, outputs[3]);
        var truth = 200L * ((1 << 20) + 24);
        Assert.InRange(long.Parse(result.Groups[1].Value), truth * 95 / 100, truth * 105 / 100);
        try { Directory.Delete(folder, recursive: true); } catch (IOException) { }
    }

    private static string Text(JsonElement output)
    {
        if (output.TryGetProperty("evalue", out var error))
            return "error: " + error.GetString();
        if (!output.TryGetProperty("data", out var data))
            return output.TryGetProperty("text", out var text) ? Joined(text) : "";
        var value = data.TryGetProperty("text/html", out var html) ? Joined(html) : data.TryGetProperty("text/plain", out var plain) ? Joined(plain) : "";
        return WebUtility.HtmlDecode(Regex.Replace(value, "<[^>]+>", " "));
    }

    private static string Joined(JsonElement value) => value.ValueKind == JsonValueKind.Array
        ? string.Concat(value.EnumerateArray().Select(e => e.GetString()))
        : value.GetString() ?? "";

    private static string FindRepository()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "MemNotebook.sln")))
                return dir.FullName;
        throw new DirectoryNotFoundException("MemNotebook.sln not found above " + AppContext.BaseDirectory);
    }
}
