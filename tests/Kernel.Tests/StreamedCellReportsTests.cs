using System.Diagnostics;
using System.Reflection;
using System.Text.Json;
using System.Text.RegularExpressions;
using MemNotebook.Recorder.Analysis;
using MemNotebook.Recorder.Launching;
using MemNotebook.Recorder.Tracing;

namespace MemNotebook.Kernel.Tests;

/// <summary>
/// A cell's reports come from a streaming pass over the capture file (CellReports.Build with ScopedPass) and its variable
/// loads the tables only when used: the HTML must be what the reports built from the loaded, scoped tables show, report
/// for report, on captures of script cells recorded by a traced program (tests/TestTarget).
/// </summary>
public sealed class StreamedCellReportsTests
{
    private static string Record(string scenario)
    {
        var target = typeof(StreamedCellReportsTests).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == "TestTargetPath").Value!;
        Assert.True(File.Exists(target), $"test target missing: {target}");
        var capture = Path.Combine(Directory.CreateTempSubdirectory("memnb-streamed-cell-").FullName, $"{scenario}.memnb");
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(target);
        start.ArgumentList.Add(scenario);
        start.ArgumentList.Add(capture);
        foreach (var (name, value) in TracedProcess.ProfilerEnvironment(Tracker.TracerFile!))
            start.Environment[name] = value;
        using var child = Process.Start(start)!;
        var stderr = child.StandardError.ReadToEndAsync();
        var stdout = child.StandardOutput.ReadToEnd();
        Assert.True(child.WaitForExit(120_000), $"{scenario} did not finish in 120 s");
        Assert.True(child.ExitCode == 0, $"{scenario}: exit {child.ExitCode}: {stderr.Result}");
        using var facts = JsonDocument.Parse(stdout.Trim().Split('\n')[^1]);
        return capture;
    }

    // Each timeline chart gets an element id of its own (process id, a counter): the one part two renderings differ in.
    private static string SameIds(string html) => Regex.Replace(html, @"memnb-timeline-\d+-\d+", "memnb-timeline-ID");

    private static void AssertStreamedHtmlEqualsTables(string capture)
    {
        var options = MemProfileOptions.From(new MemProfileCommand { Report = "stats,timeline,flamegraph,summary,table" });
        var heading = new NotebookRenderer.Heading("exact", capture, options.Variable, DateTimeOffset.UnixEpoch, null, []);
        var fromTables = NotebookRenderer.Render(Capture.Load(capture).WithinSubmissions(), options, heading, new object()).ToList();
        var streamed = CellReports.Build(capture, options, heading, new object());
        Assert.Equal(fromTables.Select(o => o.Report), streamed.Outputs.Select(o => o.Report));
        for (var i = 0; i < fromTables.Count; i++)
        {
            var (expected, actual) = (System.Net.WebUtility.HtmlDecode(SameIds(fromTables[i].Html)), System.Net.WebUtility.HtmlDecode(SameIds(streamed.Outputs[i].Html)));
            var at = 0;
            while (at < Math.Min(expected.Length, actual.Length) && expected[at] == actual[at])
                at++;
            Assert.True(expected == actual, $"output {i} ({fromTables[i].Report ?? "heading"}) differs at {at}: from the tables …{expected.Substring(Math.Max(0, at - 150), Math.Min(300, expected.Length - Math.Max(0, at - 150)))}… streamed …{actual.Substring(Math.Max(0, at - 150), Math.Min(300, actual.Length - Math.Max(0, at - 150)))}…");
        }
        Assert.Equal(["read", "heading", "stats", "heading", "timeline", "flamegraph", "summary", "table"], streamed.Steps.Select(s => s.Name));
    }

    [Fact]
    public void The_reports_of_a_traced_script_cell_are_the_table_built_ones()
    {
        var capture = Record("script");
        AssertStreamedHtmlEqualsTables(capture);
        // The stats block names the cell's functions as every report does, and counts its 200 byte[100] (plus the runtime's
        // byte[8] of an assembly name made under the cell's code).
        var options = MemProfileOptions.From(new MemProfileCommand { Report = "stats" });
        var heading = new NotebookRenderer.Heading("exact", capture, options.Variable, DateTimeOffset.UnixEpoch, null, []);
        var result = CellReports.Build(capture, options, heading, new object());
        var stats = result.Outputs.Single(o => o.Report == "stats").Html;
        Assert.Contains("<td style=\"text-align:left\">System.Byte[]</td><td style=\"text-align:right;white-space:nowrap\">201</td>", stats);
        Assert.Contains("<td style=\"text-align:left\">cell 1 › Grow</td><td style=\"text-align:right;white-space:nowrap\">200</td>", stats);
    }

    [Fact]
    public void The_reports_of_three_cells_in_one_capture_are_the_table_built_ones_and_the_variable_loads_when_used()
    {
        var capture = Record("script-cells");
        AssertStreamedHtmlEqualsTables(capture);
        // The stats, the flame graph (at the peak, the default) and the timeline come from the passes over the capture file:
        // nothing loads the tables until the variable is used.
        var options = MemProfileOptions.From(new MemProfileCommand { Report = "stats,flamegraph,timeline" });
        var heading = new NotebookRenderer.Heading("exact", capture, options.Variable, DateTimeOffset.UnixEpoch, null, []);
        var result = CellReports.Build(capture, options, heading, new object());
        // (plotly.js, shown once per kernel before the first chart, is timed as a step without a report: "heading").
        Assert.Equal(["read", "heading", "stats", "heading", "timeline", "flamegraph"], result.Steps.Select(s => s.Name));
        Assert.Contains(", alive at the peak (", System.Net.WebUtility.HtmlDecode(result.Outputs.Single(o => o.Report == "flamegraph").Html));
        Assert.False(result.Capture.IsLoaded);
        Assert.Equal(Capture.SubmissionScope, result.Capture.Scope);
        var streamed = ScopedPass.Compute(capture, Capture.IsSubmissionFrame, Capture.SubmissionScope)!;
        // Used: the tables load, scoped to the cells' code, with the numbers the reports showed.
        Assert.Equal(streamed.Stats.TotalAllocations, result.Capture.All.Count);
        Assert.True(result.Capture.IsLoaded);
        Assert.Equal((streamed.Stats.PeakBytes, streamed.PeakTimeNs, streamed.PeakIsAtEnd), (result.Capture.PeakBytes, result.Capture.PeakTimeNs, result.Capture.PeakIsAtEnd));
        Assert.False(result.Capture.PeakIsAtEnd);
        Assert.True(result.Capture.Unscoped.All.Count > result.Capture.All.Count);
    }
}
