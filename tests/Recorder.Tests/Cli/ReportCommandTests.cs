using MemNotebook.Recorder.Tests.Aggregated;
using MemNotebook.Recorder.Tests.Reports;
using Xunit;

namespace MemNotebook.Recorder.Tests.Cli;

public class ReportCommandTests : IDisposable
{
    private readonly CliHarness cli = new();

    public void Dispose() => cli.Dispose();

    private string Capture() => cli.File("r.memnb", ReportCaptures.Create().ToArray());

    [Fact]
    public void Summary_prints_the_top_functions_at_the_peak()
    {
        var result = CliHarness.Run("summary", "--top", "2", Capture());
        Assert.Equal((0, ""), (result.ExitCode, result.Err));
        Assert.Equal(
            "Functions, alive at the peak: 3.1 KiB in 6 allocations\n\n" +
            "  Total bytes       %    Own bytes      Count  Function\n" +
            "      3.1 KiB   99.7%         24 B          5  App.Main\n" +
            "      2.9 KiB   95.7%      2.9 KiB          2  App.Load\n" +
            "  … 4 more functions\n", result.Out);
    }

    [Theory]
    [InlineData("--all", "all allocations: 3.1 KiB in 7 allocations")]
    [InlineData("--leaks", "leaked (alive at the end): 1.1 KiB in 4 allocations")]
    [InlineData("--temporary", "temporary (freed before 1 other allocation on the same thread): 24 B in 1 allocations")]
    public void Every_verb_takes_the_mode_options(string mode, string heading)
    {
        var path = Capture();
        foreach (var verb in new[] { "summary", "tree", "table" })
        {
            var args = mode == "--temporary" ? new[] { verb, mode, "1", path } : new[] { verb, mode, path };
            var result = CliHarness.Run(args);
            Assert.Equal((0, ""), (result.ExitCode, result.Err));
            Assert.Contains(heading, result.Out.Split('\n')[0]);
        }
    }

    [Fact]
    public void Tree_inverted_and_split_by_thread_with_depth_and_width_limits()
    {
        var path = Capture();
        var inverted = CliHarness.Run("tree", "--inverted", "--depth", "1", "--top", "2", path);
        Assert.Equal(0, inverted.ExitCode);
        Assert.Equal(
            "Allocating frames and their callers, alive at the peak: 3.1 KiB in 6 allocations\n\n" +
            " 100.0%     3.1 KiB  all\n" +
            "  95.7%     2.9 KiB  ├─ App.Load\n" +
            "   2.0%        64 B  ├─ </script><script>alert(1)</script>.Run<!--\\u2028\\u2029-->\n" +
            "   2.3%        72 B  └─ … 3 more\n", inverted.Out);
        var split = CliHarness.Run("tree", "--split-threads", "--all", "--depth", "2", path);
        Assert.Equal(0, split.ExitCode);
        Assert.Equal(
            "Biggest allocation paths, all allocations: 3.1 KiB in 7 allocations\n\n" +
            " 100.0%     3.1 KiB  all\n" +
            "  65.0%     2.0 KiB  ├─ thread 101\n" +
            "  64.7%     2.0 KiB  │  ├─ App.Main\n" +
            "   0.3%         8 B  │  └─ [no stack]\n" +
            "  35.0%     1.1 KiB  └─ thread 100 (main)\n" +
            "  35.0%     1.1 KiB     └─ App.Main\n", split.Out);
    }

    [Fact]
    public void Table_sorts_by_the_requested_column()
    {
        var result = CliHarness.Run("table", "--sort", "thread", "--top", "4", Capture());
        Assert.Equal((0, ""), (result.ExitCode, result.Err));
        var lines = result.Out.Split('\n');
        Assert.Equal("      Bytes      Count  Size            Thread      Type                                Function", lines[2]);
        Assert.StartsWith("     1000 B          1  512–1,023 B     100 (main)  App.Big ", lines[3]);
        Assert.StartsWith("    2.0 KiB          1  1,024–2,047 B   101         App.Big ", lines[6]);
        Assert.Equal("  … 2 more rows", lines[7]);
    }

    [Theory]
    [InlineData("summary")]
    [InlineData("tree")]
    [InlineData("table")]
    public void Output_writes_a_self_contained_html_page_with_names_as_text(string verb)
    {
        var html = cli.PathOf($"{verb}.html");
        var result = CliHarness.Run(verb, "-o", html, Capture());
        Assert.Equal((0, "", $"memnb: wrote {html}\n"), (result.ExitCode, result.Out, result.Err));
        var page = File.ReadAllText(html);
        Assert.StartsWith("<!DOCTYPE html>", page);
        Assert.Contains("&lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt;", page);
        if (verb == "table")
        {
            // Its one script is table.js (sorting, search, pages); names never become markup.
            var script = System.Text.RegularExpressions.Regex.Match(page, "<script>(.*?)</script>\n", System.Text.RegularExpressions.RegexOptions.Singleline);
            Assert.StartsWith("// The table page of `memnb table -o`", script.Groups[1].Value);
            page = page.Remove(script.Index, script.Length);
        }
        Assert.DoesNotContain("<script", page);
        Assert.DoesNotContain("src=", page);
    }

    [Theory]
    [InlineData("--leaks --temporary 2", "--all, --leaks and --temporary exclude each other")]
    [InlineData("--all --leaks", "--all, --leaks and --temporary exclude each other")]
    [InlineData("--temporary 0", "--temporary must be 1 or more")]
    [InlineData("--top -1", "--top must be 0 or more")]
    [InlineData("--bogus", "unknown option '--bogus'")]
    public void Bad_options_are_usage_errors_for_every_verb(string options, string message)
    {
        var path = Capture();
        foreach (var verb in new[] { "summary", "tree", "table" })
        {
            var result = CliHarness.Run([verb, .. options.Split(' '), path]);
            Assert.Equal(1, result.ExitCode);
            Assert.Contains(message, result.Err);
        }
    }

    [Fact]
    public void Tree_depth_must_be_positive_and_table_sort_must_name_a_column()
    {
        var path = Capture();
        var depth = CliHarness.Run("tree", "--depth", "0", path);
        Assert.Equal(1, depth.ExitCode);
        Assert.Contains("--depth must be 1 or more", depth.Err);
        var sort = CliHarness.Run("table", "--sort", "size-ish", path);
        Assert.Equal(1, sort.ExitCode);
        Assert.Contains("--sort must be one of bytes, count, thread, type, function, size, not 'size-ish'", sort.Err);
        Assert.Equal(1, CliHarness.Run("summary", "--inverted", path).ExitCode);
    }

    [Fact]
    public void Missing_bad_and_aggregated_captures_get_their_exit_codes()
    {
        var missing = CliHarness.Run("summary", cli.PathOf("none.memnb"));
        Assert.Equal((3, $"memnb: {cli.PathOf("none.memnb")}: no such file\n"), (missing.ExitCode, missing.Err));
        var garbage = CliHarness.Run("tree", cli.File("bad.memnb", "not a capture at all, just text"u8.ToArray()));
        Assert.Equal(2, garbage.ExitCode);
        Assert.StartsWith("memnb: ", garbage.Err);
        var agg = cli.File("agg.memnb", AggregatedWorkload.Create(aggregated: true).ToArray());
        var aggregated = CliHarness.Run("table", agg);
        Assert.Equal(1, aggregated.ExitCode);
        Assert.StartsWith($"memnb: {agg}: the table (the thread and size of each allocation) needs a full capture, but this one was recorded with --aggregate", aggregated.Err);
        var unwritable = CliHarness.Run("summary", "-o", cli.PathOf("no/such/dir/x.html"), Capture());
        Assert.Equal(3, unwritable.ExitCode);
        Assert.StartsWith($"memnb: cannot write {cli.PathOf("no/such/dir/x.html")}", unwritable.Err);
    }

    [Theory]
    [InlineData(new string[0], 3136L, false, false)]
    [InlineData(new[] { "--leaks", "--inverted" }, 1088L, true, false)]
    [InlineData(new[] { "--temporary", "2", "--split-threads" }, 64L, false, true)]
    [InlineData(new[] { "--all", "--inverted", "--split-threads" }, 3152L, true, true)]
    public void Flamegraph_writes_one_self_contained_page(string[] options, long total, bool inverted, bool split)
    {
        var html = cli.PathOf("flame.html");
        var result = CliHarness.Run(["flamegraph", .. options, "-o", html, Capture()]);
        Assert.Equal((0, "", $"memnb: wrote {html}\n"), (result.ExitCode, result.Out, result.Err));
        var page = File.ReadAllText(html);
        Assert.StartsWith("<!DOCTYPE html>", page);
        using var data = System.Text.Json.JsonDocument.Parse(FlameGraphPageTests.EmbeddedJson(page));
        Assert.Equal(total, data.RootElement.GetProperty("root").GetProperty("total").GetInt64());
        Assert.Equal(inverted, data.RootElement.GetProperty("inverted").GetBoolean());
        Assert.Equal(split, data.RootElement.GetProperty("split_threads").GetBoolean());
        Assert.DoesNotContain("<script>alert", page);
        Assert.DoesNotContain("http:", page);
        Assert.DoesNotContain("https:", page);
    }

    [Theory]
    [InlineData("--leaks --temporary 2", "--all, --leaks and --temporary exclude each other")]
    [InlineData("--temporary 0", "--temporary must be 1 or more")]
    [InlineData("--bogus", "unknown option '--bogus'")]
    [InlineData("--top 3", "unknown option '--top'")]
    [InlineData("--depth 3", "unknown option '--depth'")]
    public void Flamegraph_bad_options_are_usage_errors(string options, string message)
    {
        var result = CliHarness.Run(["flamegraph", .. options.Split(' '), "-o", cli.PathOf("f.html"), Capture()]);
        Assert.Equal(1, result.ExitCode);
        Assert.Contains(message, result.Err);
        Assert.False(File.Exists(cli.PathOf("f.html")));
    }

    [Fact]
    public void Flamegraph_needs_a_capture_and_a_full_one()
    {
        var missing = CliHarness.Run("flamegraph", "-o", cli.PathOf("f.html"), cli.PathOf("none.memnb"));
        Assert.Equal((3, $"memnb: {cli.PathOf("none.memnb")}: no such file\n"), (missing.ExitCode, missing.Err));
        var garbage = CliHarness.Run("flamegraph", "-o", cli.PathOf("f.html"), cli.File("bad.memnb", "not a capture at all, just text"u8.ToArray()));
        Assert.Equal(2, garbage.ExitCode);
        var agg = cli.File("agg.memnb", AggregatedWorkload.Create(aggregated: true).ToArray());
        var aggregated = CliHarness.Run("flamegraph", "--temporary", "1", "-o", cli.PathOf("f.html"), agg);
        Assert.Equal(1, aggregated.ExitCode);
        Assert.StartsWith($"memnb: {agg}: the tree of temporary allocations (--temporary) needs a full capture", aggregated.Err);
        Assert.False(File.Exists(cli.PathOf("f.html")));
        var split = CliHarness.Run("flamegraph", "--split-threads", "-o", cli.PathOf("f.html"), agg);
        Assert.Equal(1, split.ExitCode);
        Assert.StartsWith($"memnb: {agg}: a tree split by thread (--split-threads) needs a full capture", split.Err);
        Assert.False(File.Exists(cli.PathOf("f.html")));
        var unwritable = CliHarness.Run("flamegraph", "-o", cli.PathOf("no/such/dir/f.html"), Capture());
        Assert.Equal(3, unwritable.ExitCode);
        Assert.StartsWith($"memnb: cannot write {cli.PathOf("no/such/dir/f.html")}", unwritable.Err);
    }
}
