using MemNotebook.Recorder.Format;
using MemNotebook.Recorder.Tests.Capture;
using Xunit;

namespace MemNotebook.Recorder.Tests.Cli;

/// <summary>The variable is the process's: no other test may read captures while it is set.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class AllocationLimitVariableCollection
{
    public const string Name = "MEMNB_MAX_ALLOCATIONS";
}

/// <summary><see cref="AllocationLimit.Variable"/>: the limit of a process when no parameter gives one.</summary>
[Collection(AllocationLimitVariableCollection.Name)]
public class AllocationLimitVariableTests : IDisposable
{
    private readonly CliHarness cli = new();

    public void Dispose()
    {
        Environment.SetEnvironmentVariable(AllocationLimit.Variable, null);
        cli.Dispose();
    }

    [Fact]
    public void The_variable_raises_or_lowers_the_limit_a_parameter_overrides_it_and_a_bad_value_is_a_usage_error()
    {
        var w = HostileCaptureTests.Expanding(3, 6_000_000);
        var path = cli.File("expanding.memnb", w.ToArray());
        Environment.SetEnvironmentVariable(AllocationLimit.Variable, "18000000");
        var raised = CliHarness.Run("stats", path);
        Assert.Equal((0, ""), (raised.ExitCode, raised.Err));
        Assert.Contains("Allocations  18,000,000 (412.0 MiB)\n", raised.Out);

        Environment.SetEnvironmentVariable(AllocationLimit.Variable, "17999999");
        var refused = CliHarness.Run("stats", path);
        Assert.Equal(((int)MemNotebook.Cli.ExitCode.BadCapture, $"memnb: {path}: too many allocations: 18,000,000, more than the 17,999,999 MEMNB_MAX_ALLOCATIONS allows; raise it to read the capture\n"),
            (refused.ExitCode, refused.Err));
        Assert.Equal(17_999_999, Assert.Throws<AllocationLimitException>(() => MemNotebook.Capture.Load(path)).Limit);
        var overridden = CliHarness.Run("stats", "--max-allocations", "18000000", path);
        Assert.Equal((0, ""), (overridden.ExitCode, overridden.Err));

        foreach (var bad in new[] { "lots", "0", "-5", "1e9" })
        {
            Environment.SetEnvironmentVariable(AllocationLimit.Variable, bad);
            foreach (var args in new[] { new[] { "stats", path }, ["summary", path], ["transform", "arrow", path, "-o", cli.PathOf("out")] })
            {
                var result = CliHarness.Run(args);
                Assert.Equal(((int)MemNotebook.Cli.ExitCode.Usage, "", $"memnb: MEMNB_MAX_ALLOCATIONS must be a whole number of 1 or more, not '{bad}'\n"),
                    (result.ExitCode, result.Out, result.Err));
            }
        }
    }
}
