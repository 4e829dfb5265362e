using System.Diagnostics;
using MemNotebook.Cli;
using MemNotebook.Recorder.Analysis;
using MemNotebook.Recorder.Tests.Reports;
using Xunit;

namespace MemNotebook.Recorder.Tests.Cli;

public class ProgressTests : IDisposable
{
    private readonly CliHarness cli = new();

    public void Dispose() => cli.Dispose();

    [Fact]
    public void Monotonic_progress_forwards_only_rising_values_clamped_to_one_and_completes_at_one()
    {
        var seen = new List<double>();
        var progress = new MonotonicProgress(seen.Add);
        foreach (var value in new[] { 0.1, 0.05, 0.3, 0.3, double.NaN, -2, 0.6 })
            progress.Report(value);
        progress.Complete();
        Assert.Equal([0.1, 0.3, 0.6, 1.0], seen);

        seen.Clear();
        var overshoot = new MonotonicProgress(seen.Add);
        overshoot.Report(1.5);
        overshoot.Report(0.9);
        overshoot.Complete();
        Assert.Equal([1.0], seen);
    }

    [Fact]
    public void Converting_a_capture_reports_rising_fractions_that_end_at_one()
    {
        var path = cli.File("p.memnb", ReportCaptures.Create().ToArray());
        var raw = new List<double>();
        var shown = new List<double>();
        var bar = new MonotonicProgress(shown.Add);
        var loaded = MemNotebook.Capture.Load(path, new Recording(value => { raw.Add(value); bar.Report(value); }));
        Assert.Equal(7, loaded.All.Count);
        Assert.NotEmpty(raw);
        Assert.Equal(1.0, raw[^1]); // the conversion itself ends at 1.0
        Assert.All(raw, v => Assert.InRange(v, 0.0, 1.0));
        Assert.Equal(shown.Order().Distinct(), shown); // strictly rising
        Assert.Equal(1.0, shown[^1]);
    }

    [Fact]
    public void Converting_a_capture_for_sql_reports_rising_fractions_that_end_at_one()
    {
        var path = cli.File("q.memnb", ReportCaptures.Create().ToArray());
        var raw = new List<double>();
        var capture = MemNotebook.Recorder.Sql.SqlCaptures.Of(path, "q", progress: new Recording(raw.Add));
        Assert.Equal("q", capture.Name);
        Assert.NotEmpty(raw);
        Assert.All(raw, v => Assert.InRange(v, 0.0, 1.0));
        Assert.Equal(1.0, raw[^1]);
        // Converted once: a second look finds the cache and reports nothing.
        raw.Clear();
        MemNotebook.Recorder.Sql.SqlCaptures.Of(path, "q", progress: new Recording(raw.Add));
        Assert.Empty(raw);
    }

    [Fact]
    public void Streaming_stats_report_rising_fractions_over_both_passes_that_end_at_one()
    {
        var path = cli.File("s.memnb", ReportCaptures.Create().ToArray());
        var raw = new List<double>();
        var stats = CaptureStats.Compute(path, progress: new Recording(raw.Add));
        Assert.Equal(7, stats.TotalAllocations);
        Assert.Contains(raw, v => v <= 0.5); // the first pass
        Assert.Equal(1.0, raw[^1]);
        Assert.Equal(raw.Order(), raw);
    }

    [Theory]
    [InlineData("summary", "--top", "2")]
    [InlineData("stats")]
    [InlineData("tree")]
    [InlineData("query", "SELECT count(*) AS n, sum(size) AS bytes FROM allocations")]
    public async Task Piped_output_has_no_progress_text_and_is_the_same_as_in_process(params string[] verb)
    {
        // Two copies of one capture: each converts afresh (its own Arrow cache), the long step progress is shown for.
        var bytes = ReportCaptures.Create().ToArray();
        var inProcess = CliHarness.Run([.. verb, cli.File("a.memnb", bytes)]);
        Assert.Equal((0, ""), (inProcess.ExitCode, inProcess.Err));
        var path = cli.File("b.memnb", bytes);
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in new[] { Path.Combine(AppContext.BaseDirectory, "memnb.dll") }.Concat(verb).Append(path))
            start.ArgumentList.Add(argument);
        using var memnb = Process.Start(start)!;
        var stderr = memnb.StandardError.ReadToEndAsync();
        var stdout = await memnb.StandardOutput.ReadToEndAsync().WaitAsync(TimeSpan.FromSeconds(60));
        await memnb.WaitForExitAsync();
        Assert.Equal((0, "", inProcess.Out.Replace("a.memnb", "b.memnb")), (memnb.ExitCode, await stderr, stdout));
    }

    /// <summary>Records on the reporting thread, in order (Progress&lt;T&gt; would post to the thread pool).</summary>
    private sealed class Recording(Action<double> record) : IProgress<double>
    {
        public void Report(double value) => record(value);
    }
}
