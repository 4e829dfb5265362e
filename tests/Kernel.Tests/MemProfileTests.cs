using MemNotebook.Recorder.Arrow;
using System.Net;
using System.Text.RegularExpressions;
using MemNotebook.Recorder.Tracing;
using Microsoft.DotNet.Interactive.Events;

namespace MemNotebook.Kernel.Tests;

/// <summary>
/// #!memprofile in a CompositeKernel + CSharpKernel running in this (traced) test host: what each option
/// shows, the variable, failing cells and several cells in a row.
/// </summary>
[Collection(KernelCollection.Name)]
public sealed class MemProfileTests
{
    private const int ArraySize = 4096;
    private const long ArrayBytes = 4096 + 24; // byte[4096] on the GC heap: header, length, data

    [Fact]
    public void The_test_host_runs_with_the_tracer()
    {
        Assert.True(Tracker.IsAvailable, "the test host must start with the tracer: see tracer.runsettings in Kernel.Tests.csproj");
    }

    [Fact]
    public async Task A_cell_is_recorded_reported_and_set_as_a_variable()
    {
        using var k = await KernelHarness.StartAsync();
        await k.RunAsync("var keep = new List<byte[]>();");
        var cell = await k.RunAsync($"#!memprofile --output {k.Folder}/a.memnb\nfor (var i = 0; i < 1000; i++) keep.Add(new byte[{ArraySize}]);");
        Assert.Null(cell.Failure);

        var heading = Assert.Single(cell.Outputs(NotebookRenderer.HeadingClass));
        Assert.Contains("(exact mode)", heading);
        Assert.Contains($"at <code>{k.Folder}/a.memnb</code>", heading);
        Assert.Contains("<code>memprofile</code>", heading);
        Assert.Single(cell.Outputs(NotebookRenderer.StatsClass));
        var flame = Page(Assert.Single(cell.Outputs(NotebookRenderer.FlameGraphClass)));
        Assert.Contains("Memory flame graph", flame);
        Assert.Contains("<script type=\"application/json\" id=\"fg-memory\">", flame); // the memory chart above it
        Assert.Contains("\"time\":{\"buckets\":", flame); // allocations per time bucket, for time-range selection
        // The flame graph starts at the cell's code: the kernel's frames that ran it are left out.
        var json = Regex.Match(flame, "<script type=\"application/json\" id=\"fg-data\">(.*?)</script>", RegexOptions.Singleline).Groups[1].Value;
        using (var data = System.Text.Json.JsonDocument.Parse(json))
        {
            var roots = data.RootElement.GetProperty("root").GetProperty("children").EnumerateArray().Select(c => c.GetProperty("name").GetString()!).ToList();
            Assert.NotEmpty(roots);
            Assert.All(roots, name => Assert.StartsWith("cell ", name));
        }
        Assert.DoesNotContain("Microsoft.CodeAnalysis.Scripting", flame);
        Assert.Empty(cell.Outputs(NotebookRenderer.SummaryClass));
        Assert.Empty(cell.Outputs(NotebookRenderer.TableClass));
        Assert.True(File.Exists($"{k.Folder}/a.memnb"));

        // The variable: the capture scoped to the cell's code, exactly the 1000 arrays plus the list's growth.
        Assert.Equal((1000, ArrayBytes * 1000), await k.TypeTotalsAsync("memprofile.All", "System.Byte[]"));
        Assert.Equal(ArrayBytes * 1000, await k.LongAsync("""memprofile.TopTypes(1)["bytes"][0]"""));
        Assert.Equal("System.Byte[]", await k.ValueAsync("""(string)memprofile.TopTypes(1)["type"][0]"""));
        Assert.Equal("allocations made by the cell's code", await k.ValueAsync("memprofile.Scope"));
        // Everything the cell kept is alive at the end: the peak is the end, and it holds the 1000 arrays.
        Assert.True(await k.LongAsync("memprofile.PeakBytes") >= ArrayBytes * 1000);
        Assert.Equal(1000, await k.LongAsync("""memprofile.Leaks().TopTypes(1)["count"][0]"""));
        // The whole capture also has the kernel compiling the cell: many more allocations.
        Assert.True(await k.LongAsync("memprofile.Unscoped.All.Count") > await k.LongAsync("memprofile.All.Count") + 100);
    }

    [Fact]
    public async Task Every_report_can_be_asked_for()
    {
        using var k = await KernelHarness.StartAsync();
        var cell = await k.RunAsync($"#!memprofile --output {k.Folder}/r.memnb --report stats,flamegraph,summary,table\nvar data = new int[1000];");
        Assert.Null(cell.Failure);
        Assert.Single(cell.Outputs(NotebookRenderer.StatsClass));
        Assert.Single(cell.Outputs(NotebookRenderer.FlameGraphClass));
        Assert.Contains("System.Int32[]", Page(Assert.Single(cell.Outputs(NotebookRenderer.TableClass))));
        Assert.Matches(@"cell \d+", Page(Assert.Single(cell.Outputs(NotebookRenderer.SummaryClass))));

        // The timeline: plotly.js once per kernel, then a chart per cell.
        var timeline = await k.RunAsync($"#!memprofile --output {k.Folder}/t1.memnb --report timeline\nvar t1 = new int[100];");
        var again = await k.RunAsync($"#!memprofile --output {k.Folder}/t2.memnb --report timeline\nvar t2 = new int[100];");
        Assert.Null(timeline.Failure);
        Assert.Contains("Plotly", Assert.Single(timeline.Outputs(NotebookRenderer.PlotlyClass)));
        Assert.Contains("Plotly.newPlot", Assert.Single(timeline.Outputs(NotebookRenderer.TimelineClass)));
        Assert.Empty(again.Outputs(NotebookRenderer.PlotlyClass));
        Assert.Single(again.Outputs(NotebookRenderer.TimelineClass));
        Assert.Empty(timeline.Outputs(NotebookRenderer.FlameGraphClass));

        var none = await k.RunAsync($"#!memprofile --output {k.Folder}/n.memnb --report none\nvar more = new int[10];");
        Assert.Null(none.Failure);
        Assert.Single(none.Outputs(NotebookRenderer.HeadingClass));
        Assert.Empty(none.Outputs(NotebookRenderer.StatsClass));
        Assert.Empty(none.Outputs(NotebookRenderer.FlameGraphClass));
    }

    [Fact]
    public async Task Views_leaks_temporary_all_and_the_flame_graph_shapes()
    {
        using var k = await KernelHarness.StartAsync();
        await k.RunAsync("var held = new List<object>(); void Churn() { for (var i = 0; i < 500; i++) { var t = new byte[100]; GC.KeepAlive(t); } } void Make() => GC.KeepAlive(new byte[100]); void Temp() { for (var i = 0; i < 50; i++) { Make(); GC.Collect(0); } }\nTemp(); // JIT-compiled and warm before any recording");
        var leaks = await k.RunAsync($"#!memprofile --leaks --output {k.Folder}/l.memnb\nfor (var i = 0; i < 10; i++) held.Add(new string('x', 50));\nChurn();");
        Assert.Null(leaks.Failure);
        Assert.Contains("Showing: leaked (alive at the end)", Assert.Single(leaks.Outputs(NotebookRenderer.HeadingClass)));
        Assert.Equal((10, 10 * 128L), await k.TypeTotalsAsync("memprofile.Leaks()", "System.String"));

        var temporary = await k.RunAsync($"#!memprofile --temporary 1 --output {k.Folder}/t.memnb\nTemp();");
        Assert.Null(temporary.Failure);
        Assert.Contains("Showing: temporary (freed before 1 other allocation on the same thread)", Assert.Single(temporary.Outputs(NotebookRenderer.HeadingClass)));
        // Each array dies in the GC that follows it, before the next allocation on the thread.
        Assert.Equal((50, 50 * 128L), await k.TypeTotalsAsync("memprofile.Temporary(1)", "System.Byte[]"));

        var all = await k.RunAsync($"#!memprofile --all --inverted --split-threads --output {k.Folder}/x.memnb\nChurn();");
        Assert.Null(all.Failure);
        Assert.Contains("Showing: all allocations", Assert.Single(all.Outputs(NotebookRenderer.HeadingClass)));
        var inverted = Page(Assert.Single(all.Outputs(NotebookRenderer.FlameGraphClass)));
        Assert.Contains("Allocating frames and their callers", inverted);
        Assert.Contains("\"split_threads\":true", inverted);
    }

    [Fact]
    public async Task Name_sets_another_variable_and_cells_keep_their_own_captures()
    {
        using var k = await KernelHarness.StartAsync();
        var first = await k.RunAsync($"#!memprofile --name before --output {k.Folder}/1.memnb\nvar a = new long[100];");
        var second = await k.RunAsync($"#!memprofile --name after --output {k.Folder}/2.memnb\nvar b = new long[100]; var c = new long[200];");
        Assert.Null(first.Failure);
        Assert.Null(second.Failure);
        Assert.Contains("<code>before</code>", Assert.Single(first.Outputs(NotebookRenderer.HeadingClass)));
        Assert.Equal($"{k.Folder}/1.memnb {k.Folder}/2.memnb", await k.ValueAsync("before.Path + \" \" + after.Path"));
        Assert.Equal((1, 824L), await k.TypeTotalsAsync("before.All", "System.Int64[]"));
        Assert.Equal((2, 824L + 1624), await k.TypeTotalsAsync("after.All", "System.Int64[]"));
        // Without --output, each cell's capture is a new file in memprofile/ of the working directory.
        // Its tables are converted when the variable is first used (no report here needed them).
        var third = await k.RunAsync("#!memprofile --report none\nvar d = new long[1];");
        var thirdPath = await k.ValueAsync("memprofile.Path");
        Assert.False(Directory.Exists(ArrowCache.UserFolderOf(thirdPath)), ArrowCache.UserFolderOf(thirdPath));
        Assert.Equal("1", await k.ValueAsync("memprofile.OfType(\"System.Int64[]\").Count.ToString()"));
        var fourth = await k.RunAsync("#!memprofile --report none\nvar e = new long[1];");
        Assert.Null(fourth.Failure);
        var fourthPath = await k.ValueAsync("memprofile.Path");
        Assert.Equal("1", await k.ValueAsync("memprofile.OfType(\"System.Int64[]\").Count.ToString()"));
        Assert.NotEqual(thirdPath, fourthPath);
        Assert.Equal(Path.Combine(Environment.CurrentDirectory, "memprofile"), Path.GetDirectoryName(fourthPath));
        Assert.Matches(new Regex(@"^cell-\d+-\d{8}-\d{6}\.memnb$"), Path.GetFileName(fourthPath));
        Assert.Null(third.Failure);
        foreach (var p in new[] { thirdPath, fourthPath })
        {
            File.Delete(p);
            // The notebook's captures keep their tables in the per-user cache, none beside the capture.
            Assert.False(Directory.Exists(p + ".arrow"), p + ".arrow");
            Directory.Delete(ArrowCache.UserFolderOf(p), recursive: true);
        }
    }

    [Fact]
    public async Task A_failing_cell_still_reports_and_sets_the_variable()
    {
        using var k = await KernelHarness.StartAsync();
        var cell = await k.RunAsync($"#!memprofile --output {k.Folder}/f.memnb\nvar before = new char[300];\nthrow new InvalidOperationException(\"boom in the cell\");");
        Assert.NotNull(cell.Failure);
        Assert.Contains("boom in the cell", cell.Failure!.Message);
        var heading = Assert.Single(cell.Outputs(NotebookRenderer.HeadingClass));
        Assert.Contains("The cell failed (boom in the cell)", heading);
        Assert.Single(cell.Outputs(NotebookRenderer.FlameGraphClass));
        Assert.Equal((1, 624L), await k.TypeTotalsAsync("memprofile.All", "System.Char[]"));
        Assert.False(Tracker.IsRecording);
    }

    [Fact]
    public async Task A_cell_whose_report_fails_shows_why_and_still_sets_the_variable_to_its_capture()
    {
        using var k = await KernelHarness.StartAsync();
        var path = Path.Combine(k.Folder, "replaced.memnb");
        // The tracer keeps writing the file it opened; the path now names another file, which is no capture.
        var cell = await k.RunAsync($"#!memprofile --output {path}\nSystem.IO.File.Delete(@\"{path}\");\nSystem.IO.File.WriteAllText(@\"{path}\", \"not a capture\");");
        Assert.Null(cell.Failure);
        var problem = Assert.Single(cell.Html, h => h.Contains("could not finish the report", StringComparison.Ordinal));
        Assert.Contains($"not a MemNotebook capture at offset 0", problem);
        Assert.Contains("details for a bug report", problem);
        Assert.False(Tracker.IsRecording);
        // The variable is set, and using it names the file and the problem.
        Assert.Equal(path, await k.ValueAsync("memprofile.Path"));
        var use = await k.RunAsync("memprofile.All.Count");
        Assert.NotNull(use.Failure);
        Assert.Contains($"{path}: not a MemNotebook capture at offset 0", use.Failure!.Message);
    }

    [Fact]
    public async Task Native_records_native_allocations_with_the_cells_frames_in_their_stacks()
    {
        using var k = await KernelHarness.StartAsync();
        await k.RunAsync("using System.Runtime.InteropServices;");
        var cell = await k.RunAsync($$"""
            #!memprofile --native --all --output {{k.Folder}}/native.memnb
            var blocks = new List<nint>();
            for (var i = 0; i < 10; i++) blocks.Add(Marshal.AllocHGlobal(100_000 + i));
            unsafe { for (var i = 0; i < 5; i++) NativeMemory.Free(NativeMemory.Alloc(70_000)); }
            foreach (var b in blocks) Marshal.FreeHGlobal(b);
            """);
        Assert.Null(cell.Failure);
        Assert.Contains("malloc", Assert.Single(cell.Outputs(NotebookRenderer.StatsClass)));
        // Every native block of the cell: 10 from AllocHGlobal, 5 from NativeMemory.Alloc, all freed.
        var blocks = await k.ValueAsync("""
            var a = memprofile.Allocations;
            var sizes = Enumerable.Range(0, (int)a.Rows.Count).Where(i => (string)a["allocator"][i] == "malloc").Select(i => (long)a["size"][i]).Where(s => s >= 70_000).Order();
            string.Join(",", sizes)
            """);
        Assert.Equal("70000,70000,70000,70000,70000,100000,100001,100002,100003,100004,100005,100006,100007,100008,100009", blocks);
        var freed = await k.LongAsync("""
            var f = memprofile.Allocations;
            Enumerable.Range(0, (int)f.Rows.Count).Count(i => (string)f["allocator"][i] == "malloc" && (long)f["size"][i] >= 70_000 && f["freed_at_ns"][i] is not null)
            """);
        Assert.Equal(15, freed);
        Assert.Matches(@"cell \d+", FlameGraphText(cell));
    }

    private static string FlameGraphText(CellResult cell) => Page(Assert.Single(cell.Outputs(NotebookRenderer.FlameGraphClass)));

    [Fact]
    public async Task Live_updates_a_gauge_while_the_cell_runs()
    {
        using var k = await KernelHarness.StartAsync();
        var cell = await k.RunAsync($"#!memprofile --live --report none --output {k.Folder}/live.memnb\nfor (var i = 0; i < 20; i++) {{ var x = new byte[100_000]; System.Threading.Thread.Sleep(50); }}");
        Assert.Null(cell.Failure);
        var first = Assert.Single(cell.Events.OfType<DisplayedValueProduced>(), e => e.FormattedValues.Any(v => v.Value.Contains(LiveMemoryDisplay.CssClass)));
        var updates = cell.Events.OfType<DisplayedValueUpdated>().Where(e => e.ValueId == first.ValueId).ToList();
        Assert.True(updates.Count >= 3, $"{updates.Count} updates in a cell of about one second");
        var last = updates[^1].FormattedValues.Single(v => v.MimeType == "text/html").Value;
        Assert.Contains("<b>recorded</b>", last);
        Assert.Contains("<svg", last);
        Assert.Contains("recording…", updates[0].FormattedValues.Single(v => v.MimeType == "text/html").Value + first.FormattedValues.Single(v => v.MimeType == "text/html").Value);
    }

    [Fact]
    public async Task Aggregate_keeps_totals_and_says_what_needs_every_allocation()
    {
        using var k = await KernelHarness.StartAsync();
        var cell = await k.RunAsync($"#!memprofile --aggregate --output {k.Folder}/agg.memnb\nvar big = new double[5000];");
        Assert.Null(cell.Failure);
        Assert.Contains("(aggregated)", Assert.Single(cell.Outputs(NotebookRenderer.HeadingClass)));
        Assert.Contains("need every allocation", string.Join("\n", cell.Html));
        Assert.Equal("True", await k.ValueAsync("memprofile.IsAggregated.ToString()"));
    }

    [Fact]
    public async Task A_symbol_server_given_to_a_cell_is_kept_for_the_kernels_later_reports()
    {
        using var k = await KernelHarness.StartAsync();
        try
        {
            // Nothing listens on port 9 (discard): the reports are made all the same.
            var cell = await k.RunAsync("#!memprofile --symbol-server http://127.0.0.1:9/symbols --report stats\nvar data = new int[1000];");
            Assert.Null(cell.Failure);
            Assert.Equal("http://127.0.0.1:9/symbols", await k.ValueAsync("MemNotebook.Recorder.Symbols.SymbolServer.Server"));
            Assert.Equal("True", await k.ValueAsync("(memprofile.All.Count > 0).ToString()"));
        }
        finally
        {
            await k.RunAsync("MemNotebook.Recorder.Symbols.SymbolServer.Server = null;");
        }
    }

    [Theory]
    [InlineData("--bogus", "--bogus")]
    [InlineData("--report flames", "unknown report 'flames'")]
    [InlineData("--temporary 0", "--temporary 0")]
    [InlineData("--name 1abc", "--name 1abc: not a C# variable name")]
    [InlineData("--name class", "--name class: not a C# variable name")]
    [InlineData("--leaks --all", "#!memprofile: --all, --leaks and --temporary exclude each other")]
    [InlineData("--native --aggregate", "--native keeps every native allocation")]
    [InlineData("--symbol-server ftp://symbols", "--symbol-server ftp://symbols: not an http or https URL")]
    public async Task Bad_options_fail_the_cell_before_its_code_runs(string options, string message)
    {
        using var k = await KernelHarness.StartAsync();
        await k.RunAsync("var ran = 0;");
        var cell = await k.RunAsync($"#!memprofile {options}\nran = 1;");
        Assert.NotNull(cell.Failure);
        Assert.Contains(message, cell.Failure!.Message);
        Assert.Equal("0", await k.ValueAsync("ran.ToString()"));
        Assert.False(Tracker.IsRecording);
        Assert.Empty(cell.Outputs(NotebookRenderer.HeadingClass));
    }

    [Fact]
    public async Task An_unwritable_output_is_reported_and_the_cell_still_runs()
    {
        using var k = await KernelHarness.StartAsync();
        var cell = await k.RunAsync("#!memprofile --report none --output /proc/memnb/no.memnb\nvar ran = new int[3];");
        Assert.Null(cell.Failure);
        var heading = Assert.Single(cell.Outputs(NotebookRenderer.HeadingClass));
        Assert.Contains("--output /proc/memnb/no.memnb", heading);
        Assert.Contains("the capture is kept at the default path instead", heading);
        var path = await k.ValueAsync("memprofile.Path");
        Assert.Equal(Path.Combine(Environment.CurrentDirectory, "memprofile"), Path.GetDirectoryName(path));
        Assert.Equal("3", await k.ValueAsync("ran.Length.ToString()"));
        // The variable's tables, converted when first used.
        Assert.Equal("1", await k.ValueAsync("memprofile.OfType(\"System.Int32[]\").Count.ToString()"));
        File.Delete(path);
        Assert.False(Directory.Exists(path + ".arrow"), path + ".arrow");
        Directory.Delete(ArrowCache.UserFolderOf(path), recursive: true);
    }

    [Fact]
    public async Task Install_kernel_writes_a_kernelspec_that_loads_the_tracer()
    {
        using var k = await KernelHarness.StartAsync();
        var data = Path.Combine(k.Folder, "jupyter");
        var tool = Path.Combine(k.Folder, "dotnet-interactive");
        File.WriteAllText(tool, "");
        var previousData = Environment.GetEnvironmentVariable("JUPYTER_DATA_DIR");
        var previousPath = Environment.GetEnvironmentVariable("PATH");
        Environment.SetEnvironmentVariable("JUPYTER_DATA_DIR", data);
        Environment.SetEnvironmentVariable("PATH", k.Folder + ":" + previousPath);
        try
        {
            var cell = await k.RunAsync("#!memprofile --install-kernel");
            Assert.Null(cell.Failure);
            Assert.Contains(".NET (C#) — memory tracer", string.Join("\n", cell.Html));
        }
        finally
        {
            Environment.SetEnvironmentVariable("JUPYTER_DATA_DIR", previousData);
            Environment.SetEnvironmentVariable("PATH", previousPath);
        }
        var folder = Path.Combine(data, "kernels", ".net-csharp-memprofile");
        using var spec = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.Combine(folder, "kernel.json")));
        var root = spec.RootElement;
        Assert.Equal(".NET (C#) — memory tracer", root.GetProperty("display_name").GetString());
        Assert.Equal([tool, "jupyter", "--default-kernel", "csharp", "--http-local-only", "{connection_file}"],
            root.GetProperty("argv").EnumerateArray().Select(e => e.GetString()!).ToArray());
        var env = root.GetProperty("env");
        Assert.Equal("1", env.GetProperty("CORECLR_ENABLE_PROFILING").GetString());
        Assert.Equal("{6A1B7C3E-2D4F-4E59-8A0B-9C1D2E3F4A5B}", env.GetProperty("CORECLR_PROFILER").GetString());
        Assert.Equal(Path.Combine(folder, "libmemnb_tracer.so"), env.GetProperty("CORECLR_PROFILER_PATH").GetString());
        Assert.Equal("0", env.GetProperty("DOTNET_gcConcurrent").GetString());
        Assert.Equal("0", env.GetProperty("DOTNET_TC_OnStackReplacement").GetString());
        Assert.Equal("0", env.GetProperty("DOTNET_TC_QuickJitForLoops").GetString());
        Assert.Equal(Path.Combine(folder, "MemNotebook.KernelStartup.dll"), env.GetProperty("DOTNET_STARTUP_HOOKS").GetString());
        Assert.Equal("MemNotebook.KernelStartup", System.Reflection.AssemblyName.GetAssemblyName(Path.Combine(folder, "MemNotebook.KernelStartup.dll")).Name);
        Assert.Equal(new FileInfo(Tracker.TracerFile!).Length, new FileInfo(Path.Combine(folder, "libmemnb_tracer.so")).Length);
    }

    /// <summary>The page inside a report's iframe srcdoc, decoded.</summary>
    private static string Page(string output)
    {
        var match = Regex.Match(output, "srcdoc=\"([^\"]*)\"");
        Assert.True(match.Success, "no iframe srcdoc in " + output[..Math.Min(200, output.Length)]);
        return WebUtility.HtmlDecode(match.Groups[1].Value);
    }
}

[Collection(KernelCollection.Name)]
public sealed class MemProfileCompletionTests
{
    [Fact]
    public async Task The_magic_and_every_option_complete_with_their_help()
    {
        using var k = await KernelHarness.StartAsync();
        var code = "#!memprofile --";
        var result = await k.Kernel.SendAsync(new Microsoft.DotNet.Interactive.Commands.RequestCompletions(code, new Microsoft.DotNet.Interactive.LinePosition(0, code.Length)));
        var items = Assert.Single(result.Events.OfType<CompletionsProduced>()).Completions;
        var options = items.Select(i => i.DisplayText).ToHashSet();
        foreach (var option in new[] { "--native", "--leaks", "--temporary", "--all", "--inverted", "--split-threads", "--name", "--output", "--report", "--live", "--aggregate", "--install-kernel" })
            Assert.Contains(option, options);
        Assert.All(items.Where(i => i.DisplayText.StartsWith("--", StringComparison.Ordinal)), i => Assert.False(string.IsNullOrWhiteSpace(i.Documentation), i.DisplayText));

        var report = "#!memprofile --report ";
        var values = await k.Kernel.SendAsync(new Microsoft.DotNet.Interactive.Commands.RequestCompletions(report, new Microsoft.DotNet.Interactive.LinePosition(0, report.Length)));
        var names = Assert.Single(values.Events.OfType<CompletionsProduced>()).Completions.Select(i => i.DisplayText).ToHashSet();
        foreach (var name in new[] { "stats", "timeline", "flamegraph", "summary", "table", "none" })
            Assert.Contains(name, names);
    }
}
