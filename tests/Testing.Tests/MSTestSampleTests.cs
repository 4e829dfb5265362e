using System.Xml.Linq;

namespace MemNotebook.Testing.Tests;

/// <summary>
/// samples/MemoryLimits/MSTest under a plain `dotnet test`: MemoryLimits.Start, Check and CheckAsync in MSTest tests,
/// MSTest's inconclusive without the tracer, and run settings of the project's own merged with the tracer's.
/// </summary>
public sealed class MSTestSampleTests
{
    [Fact]
    public async Task Dotnet_test_fails_the_mstest_tests_over_their_limits_and_skips_them_without_the_tracer()
    {
        var folder = SampleRun.CopySample("MSTest");
        try
        {
            var (exitCode, output) = await SampleRun.Dotnet(folder, null,
                ["test", "-nologo", .. SampleRun.PackageProperties(), "--logger", "trx;LogFileName=results.trx", "--results-directory", Path.Combine(folder, "results")]);
            Assert.True(exitCode == 1, $"dotnet test exited {exitCode}, expected 1 (failed tests):\n{output}");
            var results = SampleRun.ReadTrx(Path.Combine(folder, "results"));
            Assert.Equal(["Allocates_4_MB_under_a_1_MB_limit_fails", "Allocates_4_MB_under_a_5_MB_limit", "Has_a_limit_that_does_not_parse_fails",
                "Leaks_ten_blocks_after_an_await_under_a_1_KB_leak_limit_fails"], results.Keys.Order());
            // The passing test asserts itself that it measured 4,120,000 bytes in 1,000 objects.
            foreach (var (name, result) in results)
                Assert.True(result.Outcome == (name.EndsWith("_fails") ? "Failed" : "Passed"), $"{name}: {result.Outcome}\n{result.Message}");
            Assert.Equal("Test method LimitSamples.LimitTests.Allocates_4_MB_under_a_1_MB_limit_fails threw exception:\n" +
                "MemNotebook.Testing.MemoryLimitExceededException: LimitSamples.LimitTests.Allocates_4_MB_under_a_1_MB_limit_fails: MemoryLimits.Start(allocatedBytes: \"1 MB\") exceeded: " +
                "4,120,000 bytes (3.9 MiB) in 1,000 objects allocated, against a limit of 1,048,576 bytes (1.0 MiB) (\"1 MB\").\n" +
                "List of allocations (the 1 stacks with the most bytes, of 1):\n" +
                "    - 4,120,000 bytes (3.9 MiB) in 1,000 objects (System.Byte[]) allocated here:\n" +
                $"        LimitSamples.LimitTests.Fill{SampleRun.At(folder, "GC.KeepAlive(new byte[4096]);")}\n" +
                $"        LimitSamples.LimitTests.Allocates_4_MB_under_a_1_MB_limit_fails{SampleRun.At(folder, "Fill(1000);")}",
                results["Allocates_4_MB_under_a_1_MB_limit_fails"].Message.Replace("\r\n", "\n"));
            var leaks = results["Leaks_ten_blocks_after_an_await_under_a_1_KB_leak_limit_fails"].Message.Replace("\r\n", "\n");
            Assert.Contains("LimitSamples.LimitTests.Leaks_ten_blocks_after_an_await_under_a_1_KB_leak_limit_fails: MemoryLimits.CheckAsync(leaks: \"1 KB\") exceeded: ", leaks);
            Assert.Contains($"    - 10,240 bytes (10.0 KiB) in 10 objects (System.Byte[]) allocated here:\n        LimitSamples.LimitTests.AddToCache{SampleRun.At(folder, "Cache.Add(new byte[1000]);")}\n" +
                $"        lambda in LimitSamples.LimitTests.Leaks_ten_blocks_after_an_await_under_a_1_KB_leak_limit_fails (async){SampleRun.At(folder, "AddToCache(10);")}\n", leaks);
            Assert.Equal(BadSize, results["Has_a_limit_that_does_not_parse_fails"].Message.Replace("\r\n", "\n"));

            // Without the tracer MSTest reports them inconclusive (not executed), with the reason; the bad size still fails.
            var (plainExit, plainOutput) = await SampleRun.Dotnet(folder, null,
                ["test", "-nologo", "--no-build", "-p:MemNotebookTracer=false", "--logger", "trx;LogFileName=plain.trx", "--results-directory", Path.Combine(folder, "plain")]);
            Assert.True(plainExit == 1, plainOutput);
            var plain = SampleRun.ReadTrx(Path.Combine(folder, "plain"));
            Assert.Equal(4, plain.Count);
            foreach (var (name, result) in plain)
                Assert.True(result.Outcome == (name == "Has_a_limit_that_does_not_parse_fails" ? "Failed" : "NotExecuted"), $"{name}: {result.Outcome}\n{result.Message}");
            Assert.StartsWith("LimitSamples.LimitTests.Leaks_ten_blocks_after_an_await_under_a_1_KB_leak_limit_fails: MemoryLimits.CheckAsync(leaks: \"1 KB\") cannot be measured: " +
                "this test host was not started with the MemNotebook tracer (exact mode).", plain["Leaks_ten_blocks_after_an_await_under_a_1_KB_leak_limit_fails"].Message);
            Assert.Equal(BadSize, plain["Has_a_limit_that_does_not_parse_fails"].Message.Replace("\r\n", "\n"));
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    private const string BadSize = "Test method LimitSamples.LimitTests.Has_a_limit_that_does_not_parse_fails threw exception:\n" +
        "MemNotebook.Testing.MemoryLimitException: LimitSamples.LimitTests.Has_a_limit_that_does_not_parse_fails: MemoryLimits.Check(allocatedBytes: \"24 MiBs\"): " +
        "\"24 MiBs\": unknown unit \"MiBs\": expected B, KB, MB, GB or TB (or KiB, MiB, GiB, TiB), e.g. \"24 MB\"";

    // A test of the project's own that needs its run settings (a variable and a parameter) and measures exactly.
    private const string SettingsTest = """
        using MemNotebook.Testing;
        using Microsoft.VisualStudio.TestTools.UnitTesting;

        namespace LimitSamples;

        [TestClass]
        public class SettingsTests
        {
            public TestContext TestContext { get; set; } = null!;

            [TestMethod]
            public void Runs_with_the_projects_settings_under_the_tracer()
            {
                Assert.AreEqual("from-their-settings", Environment.GetEnvironmentVariable("SAMPLE_VARIABLE"));
                Assert.AreEqual("their-parameter", TestContext.Properties["SampleParameter"]);
                var measured = MemoryLimits.Check(() => { for (var i = 0; i < 1000; i++) GC.KeepAlive(new byte[4096]); }, allocatedBytes: "5 MB");
                Assert.AreEqual(4_120_000L, measured.AllocatedBytes);
            }
        }
        """;

    private const string TheirSettings = """
        <?xml version="1.0" encoding="utf-8"?>
        <RunSettings>
          <RunConfiguration>
            <EnvironmentVariables>
              <SAMPLE_VARIABLE>from-their-settings</SAMPLE_VARIABLE>
            </EnvironmentVariables>
          </RunConfiguration>
          <TestRunParameters>
            <Parameter name="SampleParameter" value="their-parameter" />
          </TestRunParameters>
        </RunSettings>
        """;

    [Fact]
    public async Task Run_settings_of_the_projects_own_are_merged_with_the_tracers_from_the_project_and_from_the_settings_option()
    {
        var folder = SampleRun.CopySample("MSTest");
        try
        {
            File.WriteAllText(Path.Combine(folder, "SettingsTests.cs"), SettingsTest);
            File.WriteAllText(Path.Combine(folder, "their.runsettings"), TheirSettings);
            var merged = Path.Combine(folder, "obj", "memnb-tracer.runsettings");

            // RunSettingsFilePath in the project (here on the command line, as a relative path).
            var (exitCode, output) = await SampleRun.Dotnet(folder, null,
                ["test", "-nologo", .. SampleRun.PackageProperties(), "-p:RunSettingsFilePath=their.runsettings", "--filter", "ClassName=LimitSamples.SettingsTests"]);
            Assert.True(exitCode == 0, $"dotnet test exited {exitCode}:\n{output}");
            Assert.Contains("Passed!  - Failed:     0, Passed:     1, Skipped:     0, Total:     1", output);
            Assert.DoesNotContain("warning", output, StringComparison.OrdinalIgnoreCase);
            AssertMerged(folder, merged);

            // The settings option of dotnet test, without a build.
            File.Delete(merged);
            var (optionExit, optionOutput) = await SampleRun.Dotnet(folder, null,
                ["test", "-nologo", "--no-build", "--settings", Path.Combine(folder, "their.runsettings"), "--filter", "ClassName=LimitSamples.SettingsTests"]);
            Assert.True(optionExit == 0, $"dotnet test --settings exited {optionExit}:\n{optionOutput}");
            Assert.Contains("Passed!  - Failed:     0, Passed:     1, Skipped:     0, Total:     1", optionOutput);
            AssertMerged(folder, merged);

            // Settings that are not run settings: one error naming the file.
            File.WriteAllText(Path.Combine(folder, "bad.runsettings"), "<Settings />");
            var (badExit, badOutput) = await SampleRun.Dotnet(folder, null,
                ["test", "-nologo", "--no-build", "--settings", Path.Combine(folder, "bad.runsettings")]);
            Assert.True(badExit == 1, badOutput);
            Assert.Contains($"error : MemNotebook.Testing: {Path.Combine(folder, "bad.runsettings")} is not run settings: its root element is <Settings>, expected <RunSettings>", badOutput);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    private static void AssertMerged(string folder, string merged)
    {
        var settings = XDocument.Load(merged).Root!;
        var variables = settings.Element("RunConfiguration")!.Element("EnvironmentVariables")!.Elements().ToDictionary(e => e.Name.LocalName, e => e.Value);
        Assert.Equal(["CORECLR_ENABLE_PROFILING", "CORECLR_PROFILER", "CORECLR_PROFILER_PATH", "DOTNET_TC_OnStackReplacement", "DOTNET_TC_QuickJitForLoops", "DOTNET_gcConcurrent", "MEMNB_CLAIM", "SAMPLE_VARIABLE"],
            variables.Keys.Order(StringComparer.Ordinal));
        Assert.Equal("from-their-settings", variables["SAMPLE_VARIABLE"]);
        Assert.Equal("{6A1B7C3E-2D4F-4E59-8A0B-9C1D2E3F4A5B}", variables["CORECLR_PROFILER"]);
        Assert.Equal(Path.Combine(folder, "obj", "memnb-testhost.claim"), variables["MEMNB_CLAIM"]);
        Assert.EndsWith("/runtimes/linux-x64/native/libmemnb_tracer.so", variables["CORECLR_PROFILER_PATH"]);
        Assert.Equal("their-parameter", settings.Element("TestRunParameters")!.Element("Parameter")!.Attribute("value")!.Value);
    }
}
