namespace MemNotebook.Testing.Tests;

/// <summary>
/// samples/MemoryLimits/XunitV3Mtp on Microsoft.Testing.Platform: `dotnet test` in the platform's mode (the sample's
/// global.json) and the test executable started directly both run the tests under the tracer, through the package's
/// test host controller; without it (MEMNB_TEST_TRACER=0) the limits skip with the reason, or fail with
/// MEMNB_TEST_REQUIRE_EXACT=1; bad limits fail naming the test and the attribute either way.
/// </summary>
public sealed class XunitV3MtpSampleTests
{
    private static readonly string[] Tests =
        ["Allocates_4_MB_under_a_1_MB_limit_fails", "Allocates_4_MB_under_a_5_MB_limit", "Has_a_negative_limit_fails", "Leaks_ten_blocks_after_an_await_under_a_1_KB_leak_limit_fails"];

    [Fact]
    public async Task Dotnet_test_and_the_test_executable_on_the_testing_platform_measure_the_xunit_v3_tests_under_the_tracer()
    {
        var folder = SampleRun.CopySample("XunitV3Mtp");
        try
        {
            var (exitCode, output) = await SampleRun.Dotnet(folder, null,
                ["test", .. SampleRun.PackageProperties(), "--report-xunit-trx", "--results-directory", Path.Combine(folder, "results")]);
            Assert.True(exitCode == 2, $"dotnet test exited {exitCode}, expected 2 (failed tests):\n{output}");
            Assert.Contains("Test run summary: Failed!", output);
            AssertMeasured(folder, SampleRun.ReadTrx(Path.Combine(folder, "results")));

            // The test executable, started directly as a user would: the same host controller, the same figures.
            var executable = Path.Combine(folder, "bin", "Debug", "net10.0", "MemoryLimits.XunitV3Mtp");
            var (directExit, directOutput) = await SampleRun.Run(executable, folder, null, ["--report-xunit-trx", "--results-directory", Path.Combine(folder, "direct")]);
            Assert.True(directExit == 2, $"the test executable exited {directExit}, expected 2 (failed tests):\n{directOutput}");
            AssertMeasured(folder, SampleRun.ReadTrx(Path.Combine(folder, "direct")));

            // Without the tracer the limits are skipped with the reason; a bad limit still fails, naming the test and the attribute.
            var off = new Dictionary<string, string> { ["MEMNB_TEST_TRACER"] = "0" };
            var (plainExit, plainOutput) = await SampleRun.Run(executable, folder, off, ["--report-xunit-trx", "--results-directory", Path.Combine(folder, "plain")]);
            Assert.True(plainExit == 2, $"exited {plainExit}, expected 2 (the negative limit fails):\n{plainOutput}");
            var plain = SampleRun.ReadTrx(Path.Combine(folder, "plain"));
            Assert.Equal(Tests, plain.Keys.Order());
            foreach (var (name, result) in plain)
                Assert.True(result.Outcome == (name == "Has_a_negative_limit_fails" ? "Failed" : "NotExecuted"), $"{name}: {result.Outcome}\n{result.Message}");
            Assert.Contains("skipped LimitSamples.LimitTests.Allocates_4_MB_under_a_5_MB_limit (", plainOutput);
            Assert.Contains("  LimitSamples.LimitTests.Allocates_4_MB_under_a_5_MB_limit: [LimitAllocatedBytes(\"5 MB\")] cannot be measured: " +
                "this test host was not started with the MemNotebook tracer (exact mode).", plainOutput);
            AssertNegativeLimit(plain);

            // MEMNB_TEST_REQUIRE_EXACT=1: failed instead of skipped.
            var strict = new Dictionary<string, string> { ["MEMNB_TEST_TRACER"] = "0", ["MEMNB_TEST_REQUIRE_EXACT"] = "1" };
            var (strictExit, strictOutput) = await SampleRun.Run(executable, folder, strict, ["--filter-method", "LimitSamples.LimitTests.Allocates_4_MB_under_a_5_MB_limit"]);
            Assert.True(strictExit == 2, strictOutput);
            Assert.Contains("failed LimitSamples.LimitTests.Allocates_4_MB_under_a_5_MB_limit (", strictOutput);
            Assert.Contains("(MEMNB_TEST_REQUIRE_EXACT=1: failed instead of skipped)", strictOutput);
            Assert.Contains("total: 1\n", strictOutput.Replace("\r\n", "\n"));
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    private static void AssertMeasured(string folder, Dictionary<string, SampleResult> results)
    {
        Assert.Equal(Tests, results.Keys.Order());
        foreach (var (name, result) in results)
            Assert.True(result.Outcome == (name.EndsWith("_fails") ? "Failed" : "Passed"), $"{name}: {result.Outcome}\n{result.Message}");
        Assert.Equal("MemNotebook.Testing.MemoryLimitExceededException : LimitSamples.LimitTests.Allocates_4_MB_under_a_1_MB_limit_fails: [LimitAllocatedBytes(\"1 MB\")] exceeded: " +
            "4,120,000 bytes (3.9 MiB) in 1,000 objects allocated, against a limit of 1,048,576 bytes (1.0 MiB) (\"1 MB\").\n" +
            "List of allocations (the 1 stacks with the most bytes, of 1):\n" +
            "    - 4,120,000 bytes (3.9 MiB) in 1,000 objects (System.Byte[]) allocated here:\n" +
            $"        LimitSamples.LimitTests.Fill{SampleRun.At(folder, "GC.KeepAlive(new byte[4096]);")}\n" +
            $"        LimitSamples.LimitTests.Allocates_4_MB_under_a_1_MB_limit_fails{SampleRun.At(folder, "Allocates_4_MB_under_a_1_MB_limit_fails() =>")}",
            Message(results, "Allocates_4_MB_under_a_1_MB_limit_fails"));
        var leaks = Message(results, "Leaks_ten_blocks_after_an_await_under_a_1_KB_leak_limit_fails");
        Assert.StartsWith("MemNotebook.Testing.MemoryLimitExceededException : LimitSamples.LimitTests.Leaks_ten_blocks_after_an_await_under_a_1_KB_leak_limit_fails: [LimitLeaks(\"1 KB\")] exceeded: ", leaks);
        Assert.Contains($"    - 10,240 bytes (10.0 KiB) in 10 objects (System.Byte[]) allocated here:\n        LimitSamples.LimitTests.AddToCache{SampleRun.At(folder, "Cache.Add(new byte[1000]);")}\n", leaks);
        AssertNegativeLimit(results);
    }

    private static void AssertNegativeLimit(Dictionary<string, SampleResult> results) =>
        Assert.Equal("MemNotebook.Testing.MemoryLimitException : LimitSamples.LimitTests.Has_a_negative_limit_fails: [LimitPeakBytes(\"-1 MB\")]: \"-1 MB\" is negative: a memory limit is 0 or more bytes",
            Message(results, "Has_a_negative_limit_fails"));

    // xunit's TRX report (--report-xunit-trx) writes a quote in a message as \".
    private static string Message(Dictionary<string, SampleResult> results, string test) =>
        results[test].Message.Replace("\r\n", "\n").Replace("\\\"", "\"");
}
