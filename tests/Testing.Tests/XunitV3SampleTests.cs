namespace MemNotebook.Testing.Tests;

/// <summary>samples/MemoryLimits/XunitV3 under a plain `dotnet test`: the v3 attributes, in the process xunit v3 runs its tests in, and v3's skip without the tracer.</summary>
public sealed class XunitV3SampleTests
{
    [Fact]
    public async Task Dotnet_test_fails_the_xunit_v3_tests_over_their_limits_and_skips_them_without_the_tracer()
    {
        var folder = SampleRun.CopySample("XunitV3");
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
            Assert.Equal("MemNotebook.Testing.MemoryLimitExceededException : LimitSamples.LimitTests.Allocates_4_MB_under_a_1_MB_limit_fails: [LimitAllocatedBytes(\"1 MB\")] exceeded: " +
                "4,120,000 bytes (3.9 MiB) in 1,000 objects allocated, against a limit of 1,048,576 bytes (1.0 MiB) (\"1 MB\").\n" +
                "List of allocations (the 1 stacks with the most bytes, of 1):\n" +
                "    - 4,120,000 bytes (3.9 MiB) in 1,000 objects (System.Byte[]) allocated here:\n" +
                $"        LimitSamples.LimitTests.Fill{SampleRun.At(folder, "GC.KeepAlive(new byte[4096]);")}\n" +
                $"        LimitSamples.LimitTests.Allocates_4_MB_under_a_1_MB_limit_fails{SampleRun.At(folder, "Allocates_4_MB_under_a_1_MB_limit_fails() =>")}",
                results["Allocates_4_MB_under_a_1_MB_limit_fails"].Message.Replace("\r\n", "\n"));
            Assert.Contains($"    - 10,240 bytes (10.0 KiB) in 10 objects (System.Byte[]) allocated here:\n        LimitSamples.LimitTests.AddToCache{SampleRun.At(folder, "Cache.Add(new byte[1000]);")}\n",
                results["Leaks_ten_blocks_after_an_await_under_a_1_KB_leak_limit_fails"].Message.Replace("\r\n", "\n"));

            var (plainExit, plainOutput) = await SampleRun.Dotnet(folder, null,
                ["test", "-nologo", "--no-build", "-p:MemNotebookTracer=false", "--logger", "trx;LogFileName=plain.trx", "--results-directory", Path.Combine(folder, "plain")]);
            Assert.True(plainExit == 0, plainOutput);
            var plain = SampleRun.ReadTrx(Path.Combine(folder, "plain"));
            Assert.Equal(3, plain.Count);
            Assert.All(plain.Values, r => Assert.Equal("NotExecuted", r.Outcome));
            Assert.Contains("[LimitAllocatedBytes(\"5 MB\")] cannot be measured: this test host was not started with the MemNotebook tracer (exact mode).",
                plain["Allocates_4_MB_under_a_5_MB_limit"].Message + plainOutput);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }
}
