using System.Text.Json;
using MemNotebook.Recorder.Tests.Capture;
using Xunit;

namespace MemNotebook.Recorder.Tests.Cli;

public class StatsCommandTests : IDisposable
{
    private readonly CliHarness cli = new();

    public void Dispose() => cli.Dispose();

    [Fact]
    public void Stats_json_prints_the_numbers_and_exits_zero()
    {
        var path = cli.File("capture.memnb", StatsCapture.Create().ToArray());
        var result = CliHarness.Run("stats", "--json", path);
        Assert.Equal(0, result.ExitCode);
        Assert.Equal("", result.Err);
        using var json = JsonDocument.Parse(result.Out);
        Assert.Equal(7, json.RootElement.GetProperty("total_allocations").GetInt64());
        Assert.Equal(5204, json.RootElement.GetProperty("peak_bytes").GetInt64());
        Assert.Equal(3, json.RootElement.GetProperty("top_functions").GetArrayLength());
    }

    [Fact]
    public void Stats_top_limits_the_functions()
    {
        var path = cli.File("capture.memnb", StatsCapture.Create().ToArray());
        var result = CliHarness.Run("stats", "--json", "--top", "1", path);
        using var json = JsonDocument.Parse(result.Out);
        Assert.Equal("lambda in MyApp.Program.Main", json.RootElement.GetProperty("top_functions")[0].GetProperty("function").GetString());
        Assert.Equal(1, json.RootElement.GetProperty("top_functions").GetArrayLength());
    }

    [Fact]
    public void Stats_text_prints_the_summary_and_tables()
    {
        var path = cli.File("capture.memnb", StatsCapture.Create().ToArray());
        var result = CliHarness.Run("stats", path);
        Assert.Equal(0, result.ExitCode);
        Assert.StartsWith($"Capture      {path} (format 1, complete)\nAllocations  7 (5.1 KiB)\n", result.Out);
        Assert.Contains("\n  4.9 KiB      2  lambda in MyApp.Program.Main\n", result.Out);
    }

    [Fact]
    public void Stats_of_a_truncated_capture_warns_on_stderr_and_still_prints_stats()
    {
        var writer = StatsCapture.Create();
        var bytes = writer.ToArray();
        var lastChunk = writer.Boundaries[^2];
        var path = cli.File("killed.memnb", bytes[..(int)(lastChunk + 25)]);
        var result = CliHarness.Run("stats", "--json", path);
        Assert.Equal(0, result.ExitCode);
        Assert.StartsWith($"memnb: warning: {path} is truncated at offset {lastChunk} (truncated chunk: payload needs", result.Err);
        using var json = JsonDocument.Parse(result.Out);
        Assert.True(json.RootElement.GetProperty("truncated").GetBoolean());
        Assert.False(json.RootElement.GetProperty("complete").GetBoolean());
        Assert.Equal(7, json.RootElement.GetProperty("total_allocations").GetInt64());
        Assert.Equal(5204, json.RootElement.GetProperty("peak_bytes").GetInt64());
    }

    [Fact]
    public void Stats_rejects_an_unknown_option_as_a_usage_error()
    {
        var result = CliHarness.Run("stats", "--frobnicate", "x.memnb");
        Assert.Equal(1, result.ExitCode);
        Assert.Contains("--frobnicate", result.Err);
    }

    [Fact]
    public void Stats_without_a_file_is_a_usage_error()
    {
        var result = CliHarness.Run("stats");
        Assert.Equal(1, result.ExitCode);
        Assert.NotEqual("", result.Err);
    }

    [Fact]
    public void Stats_of_a_missing_file_is_an_io_error()
    {
        var path = cli.PathOf("nope.memnb");
        var result = CliHarness.Run("stats", path);
        Assert.Equal(3, result.ExitCode);
        Assert.Equal($"memnb: {path}: no such file\n", result.Err);
        Assert.Equal("", result.Out);
    }

    [Fact]
    public void Stats_of_a_file_that_is_not_a_capture_is_a_bad_capture()
    {
        var path = cli.File("notes.txt", "hello world, this is not a capture"u8.ToArray());
        var result = CliHarness.Run("stats", path);
        Assert.Equal(2, result.ExitCode);
        Assert.Equal($"memnb: {path}: not a MemNotebook capture at offset 0: the file does not start with MEMNBCAP\n", result.Err);
    }

    [Fact]
    public void Stats_of_a_partial_header_is_a_bad_capture()
    {
        var path = cli.File("partial.memnb", StatsCapture.Create().ToArray()[..12]);
        var result = CliHarness.Run("stats", path);
        Assert.Equal(2, result.ExitCode);
        Assert.Contains("truncated header", result.Err);
    }

    [Fact]
    public void Stats_of_a_capture_with_corrupt_content_is_a_bad_capture()
    {
        var w = new TestCaptureWriter();
        w.Chunk(0).Type(0, 1, "T").Thread(2, 1, 1).Write();
        w.Chunk(2).Alloc(1, 9, 8, 0, 0).Write();
        var path = cli.File("corrupt.memnb", w.ToArray());
        var result = CliHarness.Run("stats", path);
        Assert.Equal(2, result.ExitCode);
        Assert.Contains("undefined type", result.Err);
    }
}
