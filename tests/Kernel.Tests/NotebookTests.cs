using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;
using MemNotebook.Recorder.Launching;
using MemNotebook.Recorder.Tracing;

namespace MemNotebook.Kernel.Tests;

/// <summary>
/// Every notebook in notebooks/ executed end to end by real Jupyter (nbconvert) in the
/// ".net-csharp-memprofile" kernel, with the package from artifacts/packages (scripts/pack.sh): no cell
/// fails, every #!memprofile cell shows its reports, and each notebook's answer is the expected one.
/// </summary>
[Collection(KernelCollection.Name)]
public sealed class NotebookTests
{
    private static readonly Lazy<string> JupyterData = new(InstallKernelSpec);

    private static string[] NotebookNames() =>
        Directory.GetFiles(Path.Combine(Jupyter.Repository, "notebooks"), "*.ipynb").Order().Select(p => Path.GetFileNameWithoutExtension(p)!).ToArray();

    public static TheoryData<string> Notebooks() => new(NotebookNames());

    [Fact]
    public void Every_notebook_the_issue_names_is_there()
    {
        var names = NotebookNames();
        Assert.Contains("quickstart", names);
        Assert.Contains("leaks", names);
        Assert.Contains("dataframe-analysis", names);
        Assert.Contains("native", names);
        Assert.Contains("sql", names);
    }

    [Theory]
    [MemberData(nameof(Notebooks))]
    public void Notebook_runs_in_Jupyter_with_its_reports(string name)
    {
        var executed = Execute(name);
        var cells = Jupyter.Cells(executed);
        // A #!memprofile cell whose report failed shows a problem and sets no variable, so a later cell fails to
        // compile: every problem shown is named with the first error.
        var problems = cells.SelectMany(c => c.Outputs.Where(o => o.Text.Contains("could not finish", StringComparison.Ordinal))
            .Select(o => $"`{First(c.Source)}`: {o.Text}")).ToList();
        foreach (var cell in cells)
        {
            var errors = cell.Outputs.Where(o => o.Type == "error").Select(o => o.Text).ToList();
            Assert.True(errors.Count == 0, $"{name}: cell `{First(cell.Source)}` failed: {string.Join("\n", cell.Outputs.Select(o => o.Text))}" +
                (problems.Count == 0 ? "" : $"\nproblems shown by earlier cells:\n{string.Join("\n", problems)}"));
            if (!cell.Source.StartsWith("#!memprofile", StringComparison.Ordinal))
                continue;
            var html = string.Join("\n", cell.Outputs.Select(o => o.Html));
            Assert.Contains("class=\"memnb-heading\"", html);
            Assert.Contains("(exact mode)", html);
            var reports = Regex.Match(cell.Source, @"--report (\S+)") is { Success: true } m ? m.Groups[1].Value : "flamegraph,stats";
            foreach (var report in reports.Split(','))
                if (report != "none")
                    Assert.True(html.Contains($"class=\"memnb-{report}\""), $"{name}: `{First(cell.Source)}` shows no {report}");
        }
        Check(name, cells);
    }

    /// <summary>What each notebook finds, as numbers that follow from its code.</summary>
    private static void Check(string name, IReadOnlyList<NotebookCell> cells)
    {
        string Result(string source) => Assert.Single(cells, c => c.Source.StartsWith(source, StringComparison.Ordinal)).Text;
        switch (name)
        {
            case "quickstart":
                // GroupBy grows an Order[] per customer: 11,954 resizes on this seeded data, most of the pipeline's bytes.
                Assert.Matches(@"^\s*index function count bytes 0 System\.Array\.Resize 11954 2282416\b", Result("memprofile.All.TopFunctions(5)"));
                Assert.Matches(@"^\s*index type count bytes 0 Submission#\d+\+Order\[\] 13954 2346416\b", Result("memprofile.TopTypes(5)"));
                // 2,000 customers: one label string each, made by string interpolation.
                Assert.Matches(@"System\.Runtime\.CompilerServices\.DefaultInterpolatedStringHandler\.ToStringAndClear 2000 143920\b", Result("memprofile.All.TopFunctions(5)"));
                var flame = FlameGraph(cells, "#!memprofile --report stats,timeline,flamegraph");
                var names = FrameNames(flame);
                foreach (var frame in new[] { "System.Linq.Lookup<T1,T2>.Create", "System.Linq.Enumerable.GroupByIterator<T1,T2>.MoveNext", "System.Array.Resize" })
                    Assert.Contains(frame, names);
                var html = string.Join("\n", Assert.Single(cells, c => c.Source.StartsWith("#!memprofile --report stats,timeline", StringComparison.Ordinal)).Outputs.Select(o => o.Html));
                Assert.Contains("class=\"memnb-plotly\"", html);
                Assert.Contains("Plotly.newPlot", html);
                // The pipeline's own allocations are 22,016 (2,886,488 bytes) and the loop's 4,044 (699,632 bytes).
                // The runtime may add a few on the cell's thread, which is whichever thread the kernel picks: its
                // thread-static storage (StaticsHelpers.GetGCThreadStaticBaseSlow: a 32-byte slot array the first
                // time, then one sized by how many thread-static types the kernel has loaded, 448 bytes to 24,648
                // seen). They are real allocations of the cell, so the totals are bounded, not exact.
                var totals = Regex.Match(Result("$\"LINQ GroupBy"), @"^LINQ GroupBy: ([0-9,]+) bytes in ([0-9,]+) allocations; dictionary: ([0-9,]+) bytes in ([0-9,]+) allocations$");
                Assert.True(totals.Success, Result("$\"LINQ GroupBy"));
                long Total(int group) => long.Parse(totals.Groups[group].Value.Replace(",", ""));
                Assert.InRange(Total(1), 2_886_488, 2_886_488 + 65_536);
                Assert.InRange(Total(2), 22_016, 22_016 + 4);
                Assert.InRange(Total(3), 699_632, 699_632 + 65_536);
                Assert.InRange(Total(4), 4_044, 4_044 + 4);
                Assert.Matches(@"^\s*index function type count_before bytes_before count_after bytes_after count_delta bytes_delta 0 System\.Array\.Resize Submission#\d+\+Order\[\] 11954 2282416 0 0 -11954 -2282416\b", Result("memprofile.Diff(lean)"));
                break;
            case "leaks":
                // 200 widgets, each with a 16 KiB buffer (16,384 + 24 bytes on the heap) kept by its handler.
                Assert.Matches(@"System\.Byte\[\]\s+200\s+3281600\b", Result("memprofile.Leaks().TopTypes(5)"));
                Assert.Matches(@"Submission#\d+\+PriceWidget\s+200\s", Result("memprofile.Leaks().TopTypes(5)"));
                Assert.Matches(@"cell \d+ › PriceWidget\.\.ctor", Result("memprofile.Leaks().TopFunctions(3)"));
                Assert.Matches(@"after: (\d\d?|[0-9],\d{3}) bytes in \d objects", Result("$\"leaked before the fix"));
                Assert.Matches(@"leaked before the fix: 3,[0-9]{3},[0-9]{3} bytes in 60[0-9] objects", Result("$\"leaked before the fix"));
                break;
            case "native":
                Assert.Matches(@"(?s)^malloc: \d+ allocations, [0-9,]+ bytes\n.*managed: \d+ allocations", Result("string.Join(\"\\n\", memprofile.Stats().ByAllocator"));
                // The biggest stack: libzstd's workspace for level 19, under ZSTD_compressCCtx, called from the cell
                // (libzstd's static functions have no symbol: named by module and offset, as every report names them).
                Assert.Matches(@"^[0-9,]+ bytes in 1 allocations:\s+(libzstd\.so\.1\+0x[0-9a-f]+\s+)*ZSTD_compress_usingDict\s+ZSTD_compressCCtx\s+(\S+\s+)*cell \d+\s",
                    Result("string.Join(\"\\n\\n\", memprofile.Stats().TopStacks"));
                Assert.Contains("malloc 1,048,576 bytes", Result("var leaked = memprofile.Leaks().Allocations;"));
                Assert.Contains("ZSTD_compressCCtx", FrameNames(FlameGraph(cells, "#!memprofile --native")));
                break;
            case "sql":
                // 10,000 readings of 32 bytes, all held by `readings`; the list grew through 13 arrays of 4 … 16,384
                // references (24 + 8n bytes each), the last one alive after the cell's closing GC; List<Reading>'s
                // class constructor made its empty array (24 bytes). The capture is the whole process, but only the
                // cell's code makes these types. The arrays are charged to the list code that allocates them, whichever
                // version of List<T>'s shared code runs: its re-optimized code inlines set_Capacity into AddWithResize,
                // its precompiled code keeps set_Capacity a frame of its own (when the runtime installs the former is
                // up to its tiering, not to the notebook).
                Assert.Matches(@"^\s*index type function objects bytes alive 0 Submission#(\d+)\+Reading cell \1 › Collect 10000 320000 10000 1 Submission#\1\+Reading\[\] System\.Collections\.Generic\.List<T>\.(AddWithResize|set_Capacity) 13 262424 1 2 Submission#\1\+Reading\[\] System\.Collections\.Generic\.List<T>\.\.cctor 1 24 1\s*$",
                    Result("memprofile.Sql(\"\"\"\n    SELECT type, function"));
                // Everything under Collect's frames: the same, and the List<Reading> (32 bytes) itself.
                Assert.Matches(@"^\s*index type objects bytes 0 Submission#(\d+)\+Reading 10000 320000 1 Submission#\1\+Reading\[\] 14 262448 2 System\.Collections\.Generic\.List<Submission#\1\+Reading> 1 32\s*$",
                    Result("memprofile.Sql(\"\"\"\n    WITH RECURSIVE"));
                // Two captures, named by their files: the presized list made one array of 10,000 references.
                Assert.Matches(@"^\s*index capture arrays bytes largest 0 grown 14 262448 131096 1 presized 1 80024 80024\s*$",
                    Result("Capture.Sql(new[] { memprofile, presized }"));
                break;
            case "dataframe-analysis":
                // 2,000 lines of 8 columns: an interpolated string per column and a concatenation per column
                // after the first (the first += on "" returns its argument): 15 strings a line.
                Assert.Matches(@"System\.String\s+30000\s+1460816\b", Result("concat.TopTypes(5)"));
                Assert.Matches(@"System\.String\s+1460816\s+30000\b", Result("using Microsoft.Data.Analysis;"));
                var chart = string.Join("\n", Assert.Single(cells, c => c.Source.StartsWith("Charts.TopTypes(concat.All, 5)", StringComparison.Ordinal)).Outputs.Select(o => o.Html));
                Assert.Contains("class=\"memnb-plotly\"", chart);
                Assert.Contains("\"x\":[1460816,", chart);
                // The builder makes none of them (one string per line instead): the biggest savings first.
                var diff = Result("concat.Diff(builderRun)");
                Assert.Matches(@"^\s*index function type count_before bytes_before count_after bytes_after count_delta bytes_delta 0 System\.String\.Concat System\.String 14000 941584 0 0 -14000 -941584 1 System\.Runtime\.CompilerServices\.DefaultInterpolatedStringHandler\.ToStringAndClear System\.String 16000 519232 0 0 -16000 -519232\b", diff);
                Assert.Matches(@"StringBuilder: [0-9,]+ bytes in [0-9,]+ allocations", Result("$\"concatenation:"));
                // A capture as a cell's result shows its summary.
                Assert.Matches(@"capture \S*captures/concat\.memnb scope allocations made by the cell's code allocations 30,0\d\d \(", Result("var concat = Capture.Load"));
                break;
        }
    }

    private static string FlameGraph(IReadOnlyList<NotebookCell> cells, string source)
    {
        var html = string.Join("\n", Assert.Single(cells, c => c.Source.StartsWith(source, StringComparison.Ordinal)).Outputs.Select(o => o.Html));
        var match = Regex.Match(html, "class=\"memnb-flamegraph\"><iframe[^>]*srcdoc=\"([^\"]*)\"");
        Assert.True(match.Success, "no flame graph");
        return WebUtility.HtmlDecode(match.Groups[1].Value);
    }

    /// <summary>
    /// Every frame name in a flame-graph page's data, with and without its location ("(File.cs:12)", "(line 3)", or
    /// "(no line: no PDB)" where the .NET libraries' PDBs are not on the machine).
    /// </summary>
    private static HashSet<string> FrameNames(string page)
    {
        var json = Regex.Match(page, "<script type=\"application/json\" id=\"fg-data\">(.*?)</script>", RegexOptions.Singleline).Groups[1].Value;
        using var data = JsonDocument.Parse(json, new JsonDocumentOptions { MaxDepth = 1024 });
        var names = new HashSet<string>();
        void Visit(JsonElement node)
        {
            var name = node.GetProperty("name").GetString()!;
            names.Add(name);
            names.Add(Regex.Replace(name, @" \((no line(: [^()]*)?|line \d+|[^()]*:\d+)\)$", ""));
            if (node.TryGetProperty("children", out var children))
                foreach (var child in children.EnumerateArray())
                    Visit(child);
        }
        Visit(data.RootElement.GetProperty("root"));
        return names;
    }

    private static string Execute(string name) =>
        Jupyter.Execute(Path.Combine(Jupyter.Repository, "notebooks", name + ".ipynb"), JupyterKernelSpec.Name,
            Directory.CreateTempSubdirectory($"memnb-nb-{name}-").FullName, new Dictionary<string, string> { ["JUPYTER_DATA_DIR"] = JupyterData.Value },
            allowErrors: true);

    /// <summary>The kernelspec, installed into a Jupyter data folder of the test's own, with this build's tracer.</summary>
    private static string InstallKernelSpec()
    {
        Jupyter.PackageFolder();
        var data = Directory.CreateTempSubdirectory("memnb-jupyter-").FullName;
        JupyterKernelSpec.Install(Tracker.TracerFile!, kernelsFolder: Path.Combine(data, "kernels"));
        return data;
    }

    private static string First(string source) => source.Split('\n')[0];
}
