namespace MemNotebook.Testing.Tests;

/// <summary>samples/MemoryLimits/NUnit under a plain `dotnet test`: MemoryLimits.Start and Check in NUnit tests, and NUnit's skip without the tracer.</summary>
public sealed class NUnitSampleTests
{
    [Fact]
    public async Task Dotnet_test_fails_the_nunit_tests_over_their_limits_and_skips_them_without_the_tracer()
    {
        var folder = SampleRun.CopySample("NUnit");
        try
        {
            var (exitCode, output) = await SampleRun.Dotnet(folder, null,
                ["test", "-nologo", .. SampleRun.PackageProperties(), "--logger", "trx;LogFileName=results.trx", "--results-directory", Path.Combine(folder, "results")]);
            Assert.True(exitCode == 1, $"dotnet test exited {exitCode}, expected 1 (failed tests):\n{output}");
            var results = SampleRun.ReadTrx(Path.Combine(folder, "results"));
            Assert.Equal(["Allocates_4_MB_under_a_1_MB_limit_fails", "Allocates_4_MB_under_a_5_MB_limit", "Leaks_ten_blocks_after_an_await_under_a_1_KB_leak_limit_fails"],
                results.Keys.Order());
            foreach (var (name, result) in results)
                Assert.True(result.Outcome == (name.EndsWith("_fails") ? "Failed" : "Passed"), $"{name}: {result.Outcome}\n{result.Message}");
            Assert.Equal("MemNotebook.Testing.MemoryLimitExceededException : LimitSamples.LimitTests.Allocates_4_MB_under_a_1_MB_limit_fails: MemoryLimits.Check(allocatedBytes: \"1 MB\") exceeded: " +
                "4,120,000 bytes (3.9 MiB) in 1,000 objects allocated, against a limit of 1,048,576 bytes (1.0 MiB) (\"1 MB\").\n" +
                "List of allocations (the 1 stacks with the most bytes, of 1):\n" +
                "    - 4,120,000 bytes (3.9 MiB) in 1,000 objects (System.Byte[]) allocated here:\n" +
                $"        LimitSamples.LimitTests.Fill{SampleRun.At(folder, "GC.KeepAlive(new byte[4096]);")}\n" +
                $"        lambda in LimitSamples.LimitTests.Allocates_4_MB_under_a_1_MB_limit_fails{SampleRun.At(folder, "Allocates_4_MB_under_a_1_MB_limit_fails() =>")}\n" +
                "        MemNotebook.Testing.MemoryLimits.Check\n" +
                $"        LimitSamples.LimitTests.Allocates_4_MB_under_a_1_MB_limit_fails{SampleRun.At(folder, "Allocates_4_MB_under_a_1_MB_limit_fails() =>")}",
                results["Allocates_4_MB_under_a_1_MB_limit_fails"].Message.Replace("\r\n", "\n"));
            // After the await the test runs on another thread: its ten blocks are found there, with the function that made them.
            var leaks = results["Leaks_ten_blocks_after_an_await_under_a_1_KB_leak_limit_fails"].Message.Replace("\r\n", "\n");
            Assert.Contains("MemoryLimits.Start(leaks: \"1 KB\") exceeded: ", leaks);
            Assert.Contains($"    - 10,240 bytes (10.0 KiB) in 10 objects (System.Byte[]) allocated here:\n        LimitSamples.LimitTests.AddToCache{SampleRun.At(folder, "Cache.Add(new byte[1000]);")}\n", leaks);

            // Without the tracer NUnit skips them (ignored), with the reason.
            var (plainExit, plainOutput) = await SampleRun.Dotnet(folder, null,
                ["test", "-nologo", "--no-build", "-p:MemNotebookTracer=false", "--logger", "trx;LogFileName=plain.trx", "--results-directory", Path.Combine(folder, "plain")]);
            Assert.True(plainExit == 0, plainOutput);
            var plain = SampleRun.ReadTrx(Path.Combine(folder, "plain"));
            Assert.All(plain.Values, r => Assert.Equal("NotExecuted", r.Outcome));
            Assert.Equal(3, plain.Count);
            Assert.Contains("LimitSamples.LimitTests.Allocates_4_MB_under_a_5_MB_limit: MemoryLimits.Start(allocatedBytes: \"5 MB\") cannot be measured: this test host was not started with the MemNotebook tracer (exact mode).",
                plain["Allocates_4_MB_under_a_5_MB_limit"].Message);

            // MEMNB_TEST_REQUIRE_EXACT=1: a failure instead.
            var (strictExit, strictOutput) = await SampleRun.Dotnet(folder, new Dictionary<string, string> { ["MEMNB_TEST_REQUIRE_EXACT"] = "1" },
                ["test", "-nologo", "--no-build", "-p:MemNotebookTracer=false", "--filter", "Name=Allocates_4_MB_under_a_5_MB_limit"]);
            Assert.True(strictExit == 1, strictOutput);
            Assert.Contains("(MEMNB_TEST_REQUIRE_EXACT=1: failed instead of skipped)", strictOutput);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }
}
