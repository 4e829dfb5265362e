using System.Text.Json;
using MemNotebook.Recorder.Tests.Aggregated;
using Xunit;

namespace MemNotebook.Recorder.Tests.Cli;

// `memnb transform csv|speedscope` on the same workload written as a normal and as an
// aggregated capture (9 allocations, 8248 bytes; 7118 bytes alive at the peak; 118 leaked).
public class TransformCommandTests
{
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Speedscope_has_allocated_peak_and_leaked_profiles_weighted_by_bytes(bool aggregated)
    {
        using var cli = new CliHarness();
        string capture = cli.File("w.memnb", AggregatedWorkload.Create(aggregated).ToArray());
        string output = cli.PathOf("w.speedscope.json");
        var result = CliHarness.Run("transform", "speedscope", capture, "-o", output);
        Assert.True(result.ExitCode == 0, result.Err);
        using var json = JsonDocument.Parse(File.ReadAllText(output));
        var profiles = json.RootElement.GetProperty("profiles").EnumerateArray().ToList();
        Assert.Equal(new[] { "allocated bytes", "alive at the peak", "leaked (alive at the end)" },
            profiles.Select(p => p.GetProperty("name").GetString()));
        long Total(JsonElement p) => p.GetProperty("weights").EnumerateArray().Sum(w => w.GetInt64());
        Assert.Equal(8248, Total(profiles[0]));
        Assert.Equal(7118, Total(profiles[1]));
        Assert.Equal(118, Total(profiles[2]));
        var frames = json.RootElement.GetProperty("shared").GetProperty("frames").EnumerateArray()
            .Select(f => f.GetProperty("name").GetString()).ToList();
        Assert.Contains("MyApp.Program.Main", frames);
    }

    [Fact]
    public void Arrow_says_what_it_wrote_with_the_count_in_thousands()
    {
        using var cli = new CliHarness();
        string capture = cli.File("big.memnb", Arrow.BigCapture.Create(150_000).ToArray());
        string output = cli.PathOf("big.arrow");
        var result = CliHarness.Run("transform", "arrow", capture, "-o", output);
        Assert.True(result.ExitCode == 0, result.Err);
        Assert.EndsWith($"memnb: wrote {output} (150,000 allocations)\n", result.Err);
        Assert.Equal(150_000, MemNotebook.Capture.Load(output).Allocations.Rows.Count);
    }

    [Fact]
    public void Csv_of_a_normal_capture_has_one_row_per_allocation()
    {
        using var cli = new CliHarness();
        string capture = cli.File("w.memnb", AggregatedWorkload.Create(aggregated: false).ToArray());
        var result = CliHarness.Run("transform", "csv", capture, "-o", cli.PathOf("csv"));
        Assert.True(result.ExitCode == 0, result.Err);
        var lines = File.ReadAllLines(cli.PathOf("csv/allocations.csv"));
        Assert.Equal(1 + 9, lines.Length);
        Assert.False(File.Exists(cli.PathOf("csv/aggregates.csv")));
        var frames = File.ReadAllLines(cli.PathOf("csv/frames.csv"));
        Assert.Equal(1 + 8, frames.Length);  // 7 FRAME records and the ip 0x800 that has none
        Assert.Contains(frames, l => l.Split(',').Contains("MyApp.Program+<>c.<Main>b__0_0"));
    }

    [Fact]
    public void Csv_of_an_aggregated_capture_writes_the_aggregates_table_instead_of_allocations()
    {
        using var cli = new CliHarness();
        string capture = cli.File("w.memnb", AggregatedWorkload.Create(aggregated: true).ToArray());
        var result = CliHarness.Run("transform", "csv", capture, "-o", cli.PathOf("csv"));
        Assert.True(result.ExitCode == 0, result.Err);
        Assert.False(File.Exists(cli.PathOf("csv/allocations.csv")));
        var lines = File.ReadAllLines(cli.PathOf("csv/aggregates.csv"));
        var header = lines[0].Split(',');
        int bytes = Array.IndexOf(header, "bytes"), leaked = Array.IndexOf(header, "leaked_bytes");
        Assert.True(bytes >= 0 && leaked >= 0, lines[0]);
        Assert.Equal(8248, lines.Skip(1).Sum(l => long.Parse(l.Split(',')[bytes])));
        Assert.Equal(118, lines.Skip(1).Sum(l => long.Parse(l.Split(',')[leaked])));
    }
}
