using System.Xml.Linq;
using MemNotebook.Recorder.Tests.Aggregated;
using MemNotebook.Recorder.Tests.Capture;
using MemNotebook.Recorder.Tests.Reports;
using Xunit;

namespace MemNotebook.Recorder.Tests.Cli;

/// <summary>How memnb answers a bad command line: one line naming the problem, one usage line, exit code 1.</summary>
public class CliUsageTests : IDisposable
{
    private readonly CliHarness cli = new();

    public void Dispose() => cli.Dispose();

    private string Capture() => cli.File("r.memnb", ReportCaptures.Create().ToArray());

    private static string Usage(string verb) => $"usage: memnb {verb} [options] <FILE>   (memnb {verb} --help lists every option)\n";

    [Theory]
    [InlineData("summary", "--top", "x")]
    [InlineData("tree", "--top", "many")]
    [InlineData("tree", "--depth", "1.5")]
    [InlineData("table", "--temporary", "abc")]
    [InlineData("flamegraph", "--temporary", "1e3")]
    [InlineData("stats", "--top", "ten")]
    [InlineData("summary", "--top", "99999999999")]
    public void A_value_that_is_not_a_whole_number_is_one_usage_error_naming_option_and_value(string verb, string option, string value)
    {
        var result = CliHarness.Run(verb, option, value, Capture());
        Assert.Equal((1, "", $"memnb {verb}: {option} takes a whole number, not '{value}'\n" + Usage(verb)),
            (result.ExitCode, result.Out, result.Err));
    }

    [Theory]
    [InlineData("summary", "ftp://symbols.example")]
    [InlineData("flamegraph", "symbols")]
    public void A_symbol_server_that_is_not_an_http_url_is_one_usage_error(string verb, string url)
    {
        var result = CliHarness.Run(verb, "--symbol-server", url, Capture());
        Assert.Equal((1, "", $"memnb {verb}: --symbol-server: '{url}' is not an http or https URL\n" + Usage(verb)),
            (result.ExitCode, result.Out, result.Err));
    }

    [Fact]
    public void A_value_below_the_minimum_names_the_minimum_and_the_value()
    {
        var result = CliHarness.Run("tree", "--depth", "0", Capture());
        Assert.Equal((1, "memnb tree: --depth must be 1 or more, not 0\n" + Usage("tree")), (result.ExitCode, result.Err));
    }

    [Theory]
    [InlineData("summary", "--bogus")]
    [InlineData("table", "-x")]
    [InlineData("timeline", "--leaks")]
    [InlineData("stats", "--inverted")]
    public void An_unknown_option_is_named_in_one_line_without_blaming_the_file_or_printing_the_help(string verb, string option)
    {
        var path = Capture();
        var result = CliHarness.Run(verb, option, path);
        Assert.Equal((1, "", $"memnb {verb}: unknown option '{option}'\n" + Usage(verb)), (result.ExitCode, result.Out, result.Err));
        var alone = CliHarness.Run(verb, option);
        Assert.Equal((1, $"memnb {verb}: unknown option '{option}'\n" + Usage(verb)), (alone.ExitCode, alone.Err));
    }

    [Fact]
    public void Unknown_options_of_run_and_transform_and_a_second_file_are_named_too()
    {
        var run = CliHarness.Run("run", "--bogus", "--", "dotnet", "app.dll");
        Assert.Equal((1, "memnb run: unknown option '--bogus'\nusage: memnb run [options] [COMMAND...]   (memnb run --help lists every option)\n"),
            (run.ExitCode, run.Err));
        var transform = CliHarness.Run("transform", "csv", "--bogus", Capture(), "-o", cli.PathOf("csv"));
        Assert.Equal((1, "memnb transform csv: unknown option '--bogus'\nusage: memnb transform csv [options] <FILE>   (memnb transform csv --help lists every option)\n"),
            (transform.ExitCode, transform.Err));
        var extra = CliHarness.Run("summary", Capture(), "other.memnb");
        Assert.Equal((1, "memnb summary: unexpected argument 'other.memnb'\n" + Usage("summary")), (extra.ExitCode, extra.Err));
    }

    [Fact]
    public void Sort_takes_its_values_in_any_case_and_lists_them_when_wrong()
    {
        var path = Capture();
        var lower = CliHarness.Run("table", "--sort", "count", "--top", "3", path);
        var upper = CliHarness.Run("table", "--sort", "COUNT", "--top", "3", path);
        Assert.Equal((0, ""), (lower.ExitCode, lower.Err));
        Assert.Equal(lower.Out, upper.Out);
        var wrong = CliHarness.Run("table", "--sort", "banana", path);
        Assert.Equal((1, "memnb table: --sort must be one of bytes, count, thread, type, function, size, not 'banana'\n" + Usage("table")),
            (wrong.ExitCode, wrong.Err));
        // A number is not a column, though .NET would take it as one.
        Assert.Equal(1, CliHarness.Run("table", "--sort", "3", path).ExitCode);
        var help = CliHarness.Run("table", "--help").Out;
        Assert.Contains("--sort <bytes|count|thread|type|function|size>", help);
        Assert.Contains("[default: bytes]", help);
        Assert.Equal(CliHarness.Run("table", "--sort", "bytes", "--top", "3", path).Out, CliHarness.Run("table", "--top", "3", path).Out);
    }

    [Fact]
    public void Version_is_the_one_in_Directory_Build_props()
    {
        var props = XDocument.Load(Path.Combine(RepositoryRoot(), "Directory.Build.props"));
        var version = props.Descendants("Version").Single().Value;
        Assert.Equal("0.1.0", version);
        var result = CliHarness.Run("--version");
        Assert.Equal((0, version + "\n"), (result.ExitCode, result.Out));
        // The package takes it from there too: no project sets a version of its own.
        var csproj = File.ReadAllText(Path.Combine(RepositoryRoot(), "src", "Kernel.Extension", "Kernel.Extension.csproj"));
        Assert.DoesNotContain("<Version>", csproj);
        Assert.DoesNotContain("0.1.0", File.ReadAllText(Path.Combine(RepositoryRoot(), "scripts", "pack.sh")));
    }

    internal static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "MemNotebook.sln")))
                return dir.FullName;
        throw new InvalidOperationException("MemNotebook.sln not found above " + AppContext.BaseDirectory);
    }
}

/// <summary>Where report and transform verbs write: never over their input, never over an existing output without --force.</summary>
public class CliOutputTests : IDisposable
{
    private readonly CliHarness cli = new();

    public void Dispose() => cli.Dispose();

    private string Capture() => cli.File("r.memnb", ReportCaptures.Create().ToArray());

    [Theory]
    [InlineData("summary")]
    [InlineData("tree")]
    [InlineData("table")]
    [InlineData("flamegraph")]
    [InlineData("timeline")]
    [InlineData("stats")]
    public void No_report_writes_over_its_input_by_any_name_even_with_force(string verb)
    {
        var path = Capture();
        var bytes = File.ReadAllBytes(path);
        Directory.CreateDirectory(cli.PathOf("sub"));
        File.CreateSymbolicLink(cli.PathOf("link.memnb"), path);
        foreach (var name in new[] { path, cli.PathOf("sub/../r.memnb"), cli.PathOf("link.memnb"), Path.GetRelativePath(Environment.CurrentDirectory, path) })
        {
            var result = CliHarness.Run(verb, "--force", "-o", name, path);
            Assert.Equal((1, $"memnb: output {name} is the input {path}; choose another output\n"), (result.ExitCode, result.Err));
            Assert.Equal(bytes, File.ReadAllBytes(path));
        }
        // Nor into the Arrow tables the reports read (beside the capture, or given as the input).
        var tables = CliHarness.Run(verb, "--force", "-o", path + ".arrow/metadata.json", path);
        Assert.Equal((1, $"memnb: output {path}.arrow/metadata.json is in {path}.arrow, the tables of the input {path}; choose another output\n"),
            (tables.ExitCode, tables.Err));
        var folder = cli.PathOf("tables.arrow");
        Assert.Equal(0, CliHarness.Run("transform", "arrow", path, "-o", folder).ExitCode);
        var inside = CliHarness.Run(verb, "--force", "-o", folder + "/x.html", folder);
        Assert.Equal((1, $"memnb: output {folder}/x.html is inside the input {folder}; choose another output\n"), (inside.ExitCode, inside.Err));
        Assert.False(File.Exists(folder + "/x.html"));
    }

    [Theory]
    [InlineData("summary")]
    [InlineData("table")]
    [InlineData("flamegraph")]
    [InlineData("timeline")]
    [InlineData("stats")]
    public void An_existing_output_is_kept_unless_force(string verb)
    {
        var path = Capture();
        var html = cli.File("old.html", "old"u8.ToArray());
        var refused = CliHarness.Run(verb, "-o", html, path);
        Assert.Equal((1, $"memnb: output {html} already exists (use --force to overwrite it)\n"), (refused.ExitCode, refused.Err));
        Assert.Equal("old", File.ReadAllText(html));
        var forced = CliHarness.Run(verb, "--force", "-o", html, path);
        Assert.Equal((0, $"memnb: wrote {html}\n"), (forced.ExitCode, forced.Err));
        Assert.StartsWith("<!DOCTYPE html>", File.ReadAllText(html));
    }

    [Theory]
    [InlineData("arrow")]
    [InlineData("csv")]
    public void Transform_to_a_folder_refuses_the_input_a_folder_holding_it_and_a_non_empty_one_without_force(string format)
    {
        var path = Capture();
        var bytes = File.ReadAllBytes(path);
        var onInput = CliHarness.Run("transform", format, path, "-o", path, "--force");
        Assert.Equal((1, $"memnb: output {path} is the input {path}; choose another folder\n"), (onInput.ExitCode, onInput.Err));
        var holding = CliHarness.Run("transform", format, path, "-o", cli.Root, "--force");
        Assert.Equal((1, $"memnb: output folder {cli.Root} holds the input {path}; choose another folder\n"), (holding.ExitCode, holding.Err));
        Assert.Equal(bytes, File.ReadAllBytes(path));

        var folder = cli.PathOf("out");
        Directory.CreateDirectory(folder);
        File.WriteAllText(Path.Combine(folder, "notes.txt"), "mine");
        var notEmpty = CliHarness.Run("transform", format, path, "-o", folder);
        Assert.Equal((1, $"memnb: output folder {folder} is not empty (use --force to write into it)\n"), (notEmpty.ExitCode, notEmpty.Err));
        Assert.Equal(new[] { "notes.txt" }, Directory.GetFileSystemEntries(folder).Select(Path.GetFileName));
        var forced = CliHarness.Run("transform", format, path, "-o", folder, "--force");
        Assert.Equal(0, forced.ExitCode);
        Assert.StartsWith($"memnb: wrote {folder} (", forced.Err);
        var empty = cli.PathOf("empty");
        Directory.CreateDirectory(empty);
        Assert.Equal(0, CliHarness.Run("transform", format, path, "-o", empty).ExitCode);
    }

    [Fact]
    public void Transform_to_a_file_refuses_the_input_and_an_existing_file_without_force()
    {
        var path = Capture();
        File.CreateSymbolicLink(cli.PathOf("link.memnb"), path);
        var onInput = CliHarness.Run("transform", "speedscope", path, "-o", cli.PathOf("link.memnb"), "--force");
        Assert.Equal((1, $"memnb: output {cli.PathOf("link.memnb")} is the input {path}; choose another output\n"), (onInput.ExitCode, onInput.Err));
        var existing = cli.File("s.json", "{}"u8.ToArray());
        var refused = CliHarness.Run("transform", "speedscope", path, "-o", existing);
        Assert.Equal((1, $"memnb: output {existing} already exists (use --force to overwrite it)\n"), (refused.ExitCode, refused.Err));
        Assert.Equal("{}", File.ReadAllText(existing));
        Assert.Equal(0, CliHarness.Run("transform", "speedscope", path, "-o", existing, "--force").ExitCode);
        Assert.Contains("\"profiles\"", File.ReadAllText(existing));
    }
}

/// <summary>
/// Verbs that depend on the working directory; they change it, so they run in the collection that is never
/// parallel with other tests of it.
/// </summary>
[Collection("environment")]
public class CliWorkingDirectoryTests : IDisposable
{
    private readonly CliHarness cli = new();
    private readonly string saved = Environment.CurrentDirectory;

    public void Dispose()
    {
        Environment.CurrentDirectory = saved;
        cli.Dispose();
    }

    [Fact]
    public void Flamegraph_without_output_writes_memnb_flamegraph_NAME_html_here_and_says_so()
    {
        var path = cli.File("app.memnb", ReportCaptures.Create().ToArray());
        Directory.CreateDirectory(cli.PathOf("work"));
        Environment.CurrentDirectory = cli.PathOf("work");
        var result = CliHarness.Run("flamegraph", path);
        Assert.Equal((0, "", "memnb: wrote memnb-flamegraph-app.html\n"), (result.ExitCode, result.Out, result.Err));
        Assert.StartsWith("<!DOCTYPE html>", File.ReadAllText(cli.PathOf("work/memnb-flamegraph-app.html")));
        var again = CliHarness.Run("flamegraph", path);
        Assert.Equal((1, "memnb: output memnb-flamegraph-app.html already exists (use --force to overwrite it)\n"), (again.ExitCode, again.Err));
        // An Arrow folder named like a capture's gives the capture's name.
        Assert.Equal(0, CliHarness.Run("transform", "arrow", path, "-o", cli.PathOf("copy.memnb.arrow")).ExitCode);
        var folder = CliHarness.Run("flamegraph", cli.PathOf("copy.memnb.arrow") + "/");
        Assert.Equal((0, "memnb: wrote memnb-flamegraph-copy.html\n"), (folder.ExitCode, folder.Err));
    }
}

/// <summary>--cell N and --within-submissions: the per-cell scope of a capture of a whole notebook kernel.</summary>
public class CliCellTests : IDisposable
{
    private readonly CliHarness cli = new();

    public void Dispose() => cli.Dispose();

    /// <summary>
    /// A kernel's capture: the kernel compiling (Microsoft.CodeAnalysis.CSharp.Compile: 5000 bytes), cell 2's code
    /// (Submission#2.&lt;Initialize&gt;: 100 bytes) and cell 3's (Submission#3+Order..ctor called from
    /// Submission#3.&lt;Initialize&gt;: 40 + 60 bytes, and the &lt;Initialize&gt; itself 8 bytes). All alive at the end.
    /// </summary>
    private string Kernel()
    {
        var w = new TestCaptureWriter();
        w.Chunk(0).Clock(0, 0).Type(0, 1, "System.Byte[]").Type(1, 2, "Submission#3+Order")
            .StackNode(1, 0, 0x10).StackNode(2, 1, 0x20).StackNode(3, 1, 0x30).StackNode(4, 3, 0x40).StackNode(5, 1, 0x50)
            .Frame(0x10, 0, "Microsoft.DotNet.Interactive.Kernel.SendAsync", "kernel.dll")
            .Frame(0x20, 0, "Microsoft.CodeAnalysis.CSharp.Compile", "roslyn.dll")
            .Frame(0x30, 0, "Submission#3.<Initialize>", "ℛ*3")
            .Frame(0x40, 0, "Submission#3+Order..ctor", "ℛ*3")
            .Frame(0x50, 0, "Submission#2.<Initialize>", "ℛ*2")
            .Thread(2, 100, 1).Write();
        w.Chunk(2).Alloc(10, 0, 5000, 2, 0x1000).Alloc(20, 0, 100, 5, 0x3000).Alloc(30, 1, 40, 4, 0x4000)
            .Alloc(31, 0, 60, 4, 0x5000).Alloc(32, 0, 8, 3, 0x6000).Write();
        w.Chunk(0).Clock(1000, 1000).End(1000, 5, 0, 5208).Write();
        return cli.File("kernel.memnb", w.ToArray());
    }

    [Fact]
    public void Cell_scopes_every_report_to_one_cells_code()
    {
        var path = Kernel();
        var summary = CliHarness.Run("summary", "--all", "--cell", "3", path);
        Assert.Equal((0, ""), (summary.ExitCode, summary.Err));
        Assert.Equal(
            "Functions, all allocations, allocations made by the code of cell 3 (Submission#3): 108 B in 3 allocations\n\n" +
            "  Total bytes       %    Own bytes      Count  Function\n" +
            // The kernel's frames that ran the cell are on the cell's stacks (the flame graph starts below them).
            "        108 B  100.0%          0 B          3  Microsoft.DotNet.Interactive.Kernel.SendAsync\n" +
            "        108 B  100.0%          8 B          3  cell 3\n" +
            "        100 B   92.6%        100 B          2  cell 3 › Order..ctor\n", summary.Out);
        var tree = CliHarness.Run("tree", "--cell", "2", path);
        Assert.Equal((0, ""), (tree.ExitCode, tree.Err));
        Assert.Equal(
            "Biggest allocation paths, alive at the peak, allocations made by the code of cell 2 (Submission#2): 100 B in 1 allocations\n\n" +
            " 100.0%       100 B  all\n" +
            " 100.0%       100 B  └─ cell 2\n", tree.Out);
        var html = cli.PathOf("cell.html");
        Assert.Equal(0, CliHarness.Run("flamegraph", "--cell", "3", "-o", html, path).ExitCode);
        using var data = System.Text.Json.JsonDocument.Parse(FlameGraphPageTests.EmbeddedJson(File.ReadAllText(html)));
        Assert.Equal(108, data.RootElement.GetProperty("root").GetProperty("total").GetInt64());
    }

    [Fact]
    public void Within_submissions_keeps_every_cells_code_and_leaves_the_kernel_out()
    {
        var result = CliHarness.Run("table", "--all", "--within-submissions", Kernel());
        Assert.Equal((0, ""), (result.ExitCode, result.Err));
        Assert.StartsWith("Allocations by thread, type, function and size, all allocations, allocations made by the cell's code: 208 B in 4 allocations\n", result.Out);
        Assert.DoesNotContain("Compile", result.Out);
    }

    [Fact]
    public void A_cell_the_capture_does_not_have_is_a_clear_error()
    {
        var path = Kernel();
        var missing = CliHarness.Run("summary", "--cell", "7", path);
        Assert.Equal((1, $"memnb: {path}: no notebook cell 7: the cells whose code is in the capture are 2, 3 (Submission#N)\n"),
            (missing.ExitCode, missing.Err));
        var plain = cli.File("r.memnb", ReportCaptures.Create().ToArray());
        var none = CliHarness.Run("summary", "--cell", "1", plain);
        Assert.Equal((1, $"memnb: {plain}: no notebook cell 1: the capture has no frame of a cell's code (Submission#N), so it was not recorded in a notebook\n"),
            (none.ExitCode, none.Err));
        var within = CliHarness.Run("flamegraph", "--within-submissions", "-o", cli.PathOf("f.html"), plain);
        Assert.Equal((1, $"memnb: {plain}: --within-submissions: the capture has no frame of a notebook cell's code (Submission#N), so it was not recorded in a notebook\n"),
            (within.ExitCode, within.Err));
        Assert.False(File.Exists(cli.PathOf("f.html")));
        var both = CliHarness.Run("summary", "--cell", "2", "--within-submissions", path);
        Assert.Equal(1, both.ExitCode);
        Assert.StartsWith("memnb summary: --cell and --within-submissions exclude each other\n", both.Err);
        var agg = cli.File("agg.memnb", AggregatedWorkload.Create(aggregated: true).ToArray());
        var aggregated = CliHarness.Run("summary", "--cell", "1", agg);
        Assert.Equal(1, aggregated.ExitCode);
        Assert.StartsWith($"memnb: {agg}: the allocations table needs individual allocations, but this is an aggregated capture", aggregated.Err);
    }
}
