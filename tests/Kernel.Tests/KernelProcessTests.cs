using System.Net.NetworkInformation;
using System.Reflection;
using System.Text.Json;
using System.Text.Json.Nodes;
using MemNotebook.Recorder.Launching;
using MemNotebook.Recorder.Tracing;

namespace MemNotebook.Kernel.Tests;

/// <summary>
/// The ".net-csharp-memprofile" kernel as a user starts it: the kernelspec <c>memnb jupyter install</c> writes,
/// run by Jupyter (nbconvert). It listens on Jupyter's own sockets only, and a process started from a cell
/// runs without the tracer and without its variables.
/// </summary>
[Collection(KernelCollection.Name)]
public sealed class KernelProcessTests
{
    private const string ListeningCell = """
        using System.IO;
        string Link(string fd) { try { return new FileInfo(fd).LinkTarget; } catch (IOException) { return null; } } // closed meanwhile
        var sockets = Directory.GetFiles("/proc/self/fd").Select(Link).Where(t => t is not null && t.StartsWith("socket:[")).Select(t => t![8..^1]).ToHashSet();
        var listening = new SortedSet<int>();
        foreach (var table in new[] { "/proc/self/net/tcp", "/proc/self/net/tcp6" })
            foreach (var fields in File.ReadLines(table).Skip(1).Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries)))
                if (fields[3] == "0A" && sockets.Contains(fields[9])) // TCP_LISTEN, this process's socket
                    listening.Add(Convert.ToInt32(fields[1].Split(':')[1], 16));
        var connection = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Environment.GetCommandLineArgs().Single(a => a.EndsWith(".json")))).RootElement;
        var jupyter = new SortedSet<int>(new[] { "shell_port", "iopub_port", "stdin_port", "control_port", "hb_port" }.Select(p => connection.GetProperty(p).GetInt32()));
        Console.WriteLine($"listening: {string.Join(",", listening)}; jupyter: {string.Join(",", jupyter)}; traced: {File.ReadAllText("/proc/self/maps").Contains("/libmemnb_tracer.so")}");
        """;

    private static string ChildCell(string target) => $$"""
        var start = new System.Diagnostics.ProcessStartInfo("dotnet") { RedirectStandardOutput = true };
        start.ArgumentList.Add("{{target}}");
        start.ArgumentList.Add("child-env");
        var child = System.Diagnostics.Process.Start(start)!;
        var facts = child.StandardOutput.ReadToEnd();
        child.WaitForExit();
        child.Dispose();
        Console.WriteLine("child: " + facts.Trim());
        """;

    [Fact]
    public void The_kernel_listens_on_jupyters_ports_only_and_its_children_run_without_the_tracer()
    {
        var target = typeof(KernelProcessTests).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == "TestTargetPath").Value!;
        Assert.True(File.Exists(target), $"test target missing: {target}");
        var folder = Directory.CreateTempSubdirectory("memnb-kernel-process-").FullName;
        var data = Path.Combine(folder, "jupyter");
        JupyterKernelSpec.Install(Tracker.TracerFile!, kernelsFolder: Path.Combine(data, "kernels"));
        var notebook = Path.Combine(folder, "kernel-process.ipynb");
        File.WriteAllText(notebook, Notebook(ListeningCell, ChildCell(target)));

        var executed = Jupyter.Execute(notebook, JupyterKernelSpec.Name, folder, new Dictionary<string, string> { ["JUPYTER_DATA_DIR"] = data });

        var cells = Jupyter.Cells(executed);
        var ports = cells[0].Text.Trim();
        var match = System.Text.RegularExpressions.Regex.Match(ports, @"^listening: ([\d,]*); jupyter: ([\d,]+); traced: True$");
        Assert.True(match.Success, ports);
        Assert.Equal(match.Groups[2].Value, match.Groups[1].Value);

        var child = cells[1].Text.Trim();
        Assert.StartsWith("child: ", child);
        using var facts = JsonDocument.Parse(child["child: ".Length..]);
        Assert.False(facts.RootElement.GetProperty("tracer_mapped").GetBoolean());
        Assert.Empty(facts.RootElement.GetProperty("tracer_variables").EnumerateArray());

        // Nothing announces an address of this host: no probe script for the HTTP API, no address in any output.
        var text = File.ReadAllText(executed);
        Assert.DoesNotContain("probeAddresses", text);
        foreach (var address in NetworkInterface.GetAllNetworkInterfaces().SelectMany(i => i.GetIPProperties().UnicastAddresses)
                     .Select(a => a.Address).Where(a => !System.Net.IPAddress.IsLoopback(a)))
            Assert.DoesNotContain(address.ToString(), text);
        Directory.Delete(folder, recursive: true);
    }

    private static string Notebook(params string[] sources)
    {
        var cells = new JsonArray(sources.Select(source => (JsonNode)new JsonObject
        {
            ["cell_type"] = "code",
            ["execution_count"] = null,
            ["metadata"] = new JsonObject(),
            ["outputs"] = new JsonArray(),
            ["source"] = source,
        }).ToArray());
        return new JsonObject
        {
            ["cells"] = cells,
            ["metadata"] = new JsonObject
            {
                ["kernelspec"] = new JsonObject { ["name"] = JupyterKernelSpec.Name, ["display_name"] = JupyterKernelSpec.DisplayName, ["language"] = "C#" },
                ["language_info"] = new JsonObject { ["name"] = "C#" },
            },
            ["nbformat"] = 4,
            ["nbformat_minor"] = 5,
        }.ToJsonString();
    }
}
