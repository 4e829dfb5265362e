using System.Diagnostics;
using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace MemNotebook.Kernel.Tests;

/// <summary>An output of an executed notebook cell; <see cref="Text"/> is its HTML as text (tags dropped), else its plain text.</summary>
public sealed record NotebookOutput(string Type, string Html, string Text);

/// <summary>A code cell of an executed notebook: its source and outputs.</summary>
public sealed record NotebookCell(string Source, IReadOnlyList<NotebookOutput> Outputs)
{
    public string Text => string.Join("\n", Outputs.Select(o => o.Text));
}

/// <summary>
/// Real Jupyter for the notebook tests: nbconvert executes a notebook in a named kernel, and the executed
/// notebook is read back as cells. Shared by the exact-mode and the sampled-mode test projects.
/// </summary>
public static class Jupyter
{
    public static string Repository { get; } = FindRepository();

    /// <summary>artifacts/packages, checked to hold exactly one MemNotebook package (scripts/pack.sh; MemNotebook.Testing beside it).</summary>
    public static string PackageFolder()
    {
        var packages = Path.Combine(Repository, "artifacts", "packages");
        Assert.True(Directory.Exists(packages) && NotebookPackages(packages).Length == 1,
            $"{packages} must hold one MemNotebook package: run scripts/pack.sh after building");
        return packages;
    }

    /// <summary>The MemNotebook packages in a folder: MemNotebook.&lt;version&gt;.nupkg, not MemNotebook.Testing's.</summary>
    public static string[] NotebookPackages(string folder) =>
        Directory.GetFiles(folder, "MemNotebook.*.nupkg").Where(f => char.IsAsciiDigit(Path.GetFileName(f)["MemNotebook.".Length])).ToArray();

    /// <summary>
    /// Executes <paramref name="notebook"/> in <paramref name="kernel"/> (from the notebook's folder, so a
    /// NuGet.Config and relative paths there apply) and returns the executed copy in <paramref name="outputFolder"/>.
    /// ~/.dotnet/tools is put on PATH: the stock kernelspecs start the dotnet-interactive tool by name.
    /// A cell gets 4 minutes (the slowest take seconds): a kernel that never answers — dotnet-interactive
    /// does not reply to a cell whose extension failed to load — fails the test, not the whole run.
    /// With <paramref name="allowErrors"/> every cell runs even after one fails, so the caller sees each cell's
    /// outputs (what an earlier cell displayed often explains a later cell's error).
    /// </summary>
    public static string Execute(string notebook, string kernel, string outputFolder, IReadOnlyDictionary<string, string>? environment = null,
        bool allowErrors = false)
    {
        var start = new ProcessStartInfo("jupyter")
        {
            ArgumentList =
            {
                "nbconvert", "--to", "notebook", "--execute",
                $"--ExecutePreprocessor.kernel_name={kernel}", "--ExecutePreprocessor.timeout=240",
                "--output-dir", outputFolder, notebook,
            },
            WorkingDirectory = Path.GetDirectoryName(notebook)!,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        if (allowErrors)
            start.ArgumentList.Insert(1, "--allow-errors");
        var tools = Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".dotnet", "tools");
        start.Environment["PATH"] = $"{Environment.GetEnvironmentVariable("PATH")}:{tools}";
        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
            start.Environment[name] = value;
        var kernels = PrivateKernelSpec(kernel, start.Environment);
        var jupyterPath = Environment.GetEnvironmentVariable("JUPYTER_PATH");
        start.Environment["JUPYTER_PATH"] = string.IsNullOrEmpty(jupyterPath) ? kernels : $"{kernels}:{jupyterPath}";
        var notebookName = Path.GetFileNameWithoutExtension(notebook);
        try
        {
            using var process = Process.Start(start) ?? throw new InvalidOperationException("jupyter did not start");
            var stderr = process.StandardError.ReadToEndAsync();
            var stdout = process.StandardOutput.ReadToEndAsync();
            Assert.True(process.WaitForExit(TimeSpan.FromMinutes(10)), $"{notebookName}: nbconvert did not finish in 10 minutes");
            Assert.True(process.ExitCode == 0, $"{notebookName}: nbconvert exited with {process.ExitCode} in kernel {kernel}\n{stdout.Result}\n{stderr.Result}");
        }
        finally
        {
            Directory.Delete(kernels, recursive: true);
        }
        var executed = Path.Combine(outputFolder, notebookName + ".ipynb");
        Assert.True(File.Exists(executed), $"{notebookName}: no executed notebook in {outputFolder}");
        return executed;
    }

    /// <summary>
    /// A copy of the installed kernelspec <paramref name="kernel"/> in a folder of its own (put first on
    /// JUPYTER_PATH); a kernelspec that gives dotnet-interactive an HTTP port range (the stock .NET kernels)
    /// gets a range of its own. dotnet-interactive takes the first free port of its range: two kernels
    /// starting at once — the test projects run in parallel — can both find 2048 free and the second fails to
    /// bind it. The tracer's kernelspec, whose HTTP API listens nowhere, is copied as it is.
    /// </summary>
    private static string PrivateKernelSpec(string kernel, IDictionary<string, string?> environment)
    {
        var list = new ProcessStartInfo("jupyter") { ArgumentList = { "kernelspec", "list", "--json" }, RedirectStandardOutput = true };
        // The kernelspecs the notebook's Jupyter sees: its PATH and JUPYTER_DATA_DIR.
        foreach (var (name, value) in environment)
            list.Environment[name] = value;
        using var process = Process.Start(list) ?? throw new InvalidOperationException("jupyter did not start");
        var output = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        using var specs = JsonDocument.Parse(output);
        Assert.True(specs.RootElement.GetProperty("kernelspecs").TryGetProperty(kernel, out var installed),
            $"no Jupyter kernel {kernel} is installed (scripts/setup.sh installs the .NET kernels, memnb jupyter install the tracer's)");
        var spec = System.Text.Json.Nodes.JsonNode.Parse(installed.GetProperty("spec").GetRawText())!.AsObject();
        var argv = spec["argv"]!.AsArray();
        var at = argv.Select(a => (string?)a).ToList().IndexOf("--http-port-range");
        if (at >= 0 && at + 1 < argv.Count)
        {
            var first = FreePort();
            argv[at + 1] = $"{first}-{Math.Min(65535, first + 50)}";
        }
        var folder = Path.Combine(Path.GetTempPath(), $"memnb-kernels-{Guid.NewGuid():N}");
        var directory = Path.Combine(folder, "kernels", kernel);
        Directory.CreateDirectory(directory);
        File.WriteAllText(Path.Combine(directory, "kernel.json"), spec.ToJsonString());
        return folder;
    }

    /// <summary>A port the system gives as free now: the start of a range no other kernel is likely to scan.</summary>
    private static int FreePort()
    {
        var listener = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }

    /// <summary>The code cells of a notebook file with their outputs.</summary>
    public static IReadOnlyList<NotebookCell> Cells(string path)
    {
        using var document = JsonDocument.Parse(File.ReadAllText(path));
        var cells = new List<NotebookCell>();
        foreach (var cell in document.RootElement.GetProperty("cells").EnumerateArray())
        {
            if (cell.GetProperty("cell_type").GetString() != "code")
                continue;
            var outputs = new List<NotebookOutput>();
            foreach (var output in cell.GetProperty("outputs").EnumerateArray())
            {
                var type = output.GetProperty("output_type").GetString()!;
                if (type == "error")
                {
                    outputs.Add(new NotebookOutput(type, "", output.GetProperty("ename").GetString() + ": " + output.GetProperty("evalue").GetString()));
                    continue;
                }
                if (type == "stream")
                {
                    outputs.Add(new NotebookOutput(type, "", Joined(output.GetProperty("text"))));
                    continue;
                }
                var data = output.GetProperty("data");
                var html = data.TryGetProperty("text/html", out var h) ? Joined(h) : "";
                var text = html.Length > 0 ? AsText(html) : data.TryGetProperty("text/plain", out var t) ? Joined(t) : "";
                outputs.Add(new NotebookOutput(type, html, text));
            }
            cells.Add(new NotebookCell(Joined(cell.GetProperty("source")), outputs));
        }
        return cells;
    }

    private static string Joined(JsonElement value) => value.ValueKind == JsonValueKind.Array
        ? string.Concat(value.EnumerateArray().Select(e => e.GetString()))
        : value.GetString() ?? "";

    /// <summary>HTML as text: tags become spaces, entities are decoded, runs of blanks become one space.</summary>
    private static string AsText(string html) =>
        Regex.Replace(WebUtility.HtmlDecode(Regex.Replace(Regex.Replace(html, "<style>.*?</style>", " ", RegexOptions.Singleline), "<[^>]+>", " ")), @"\s+", " ");

    private static string FindRepository()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "MemNotebook.sln")))
                return dir.FullName;
        throw new DirectoryNotFoundException("MemNotebook.sln not found above " + AppContext.BaseDirectory);
    }
}
