namespace MemNotebook.Testing.Tests;

/// <summary>samples/MemoryLimits/XunitV2 under a plain `dotnet test`: the package alone starts the test host under the tracer.</summary>
public sealed class XunitV2SampleTests
{
    private const string Sample = "XunitV2";

    [Fact]
    public async Task Dotnet_test_measures_each_limit_and_fails_the_tests_that_exceed_theirs()
    {
        var folder = SampleRun.CopySample(Sample);
        try
        {
            var (exitCode, output) = await SampleRun.Dotnet(folder, null,
                ["test", "-nologo", .. SampleRun.PackageProperties(), "--logger", "trx;LogFileName=results.trx", "--results-directory", Path.Combine(folder, "results")]);
            Assert.True(exitCode == 1, $"dotnet test exited {exitCode}, expected 1 (failed tests):\n{output}");
            var results = SampleRun.ReadTrx(Path.Combine(folder, "results"));
            Assert.Equal(["Allocates_4_MB_under_a_1_MB_limit_fails", "Allocates_4_MB_under_a_5_MB_limit", "Counts_only_strings_when_filtered_by_type",
                "Has_a_limit_that_does_not_parse_fails", "Holds_4_MB_at_once_under_a_1_MB_peak_fails", "Leaks_ten_blocks_under_a_1_KB_leak_limit_fails",
                "Leaves_nothing_behind"], results.Keys.Order());
            foreach (var (name, result) in results)
                Assert.True(result.Outcome == (name.EndsWith("_fails") ? "Failed" : "Passed"), $"{name}: {result.Outcome}\n{result.Message}");

            const string test = "LimitSamples.LimitTests.";
            // Exact: 1,000 × byte[4096] are 4,120,000 bytes to the runtime.
            Assert.StartsWith($"{test}Allocates_4_MB_under_a_1_MB_limit_fails: [LimitAllocatedBytes(\"1 MB\")] exceeded: 4,120,000 bytes (3.9 MiB) in 1,000 objects allocated, against a limit of 1,048,576 bytes (1.0 MiB) (\"1 MB\").",
                Message(results, "Allocates_4_MB_under_a_1_MB_limit_fails"));
            Assert.Contains($"    - 4,120,000 bytes (3.9 MiB) in 1,000 objects (System.Byte[]) allocated here:\n        LimitSamples.LimitTests.Fill{SampleRun.At(folder, "GC.KeepAlive(new byte[4096]);")}\n" +
                $"        LimitSamples.LimitTests.Allocates_4_MB_under_a_1_MB_limit_fails{SampleRun.At(folder, "Allocates_4_MB_under_a_1_MB_limit_fails() =>")}",
                Message(results, "Allocates_4_MB_under_a_1_MB_limit_fails"));
            // The array of 1,000 references (8,024 bytes) is held too.
            Assert.StartsWith($"{test}Holds_4_MB_at_once_under_a_1_MB_peak_fails: [LimitPeakBytes(\"1 MB\")] exceeded: 4,128,024 bytes (3.9 MiB) in 1,001 objects held at its peak",
                Message(results, "Holds_4_MB_at_once_under_a_1_MB_peak_fails"));
            // Ten blocks of 1,024 bytes, and the cache list's first objects: the list, its array, and List<T>'s static empty array.
            var leaks = Message(results, "Leaks_ten_blocks_under_a_1_KB_leak_limit_fails");
            Assert.StartsWith($"{test}Leaks_ten_blocks_under_a_1_KB_leak_limit_fails: [LimitLeaks(\"1 KB\")] exceeded: ", leaks);
            Assert.Contains($"    - 10,240 bytes (10.0 KiB) in 10 objects (System.Byte[]) allocated here:\n        LimitSamples.LimitTests.AddToCache{SampleRun.At(folder, "Cache.Add(new byte[1000]);")}\n", leaks);
            Assert.Equal($"{test}Has_a_limit_that_does_not_parse_fails: [LimitAllocatedBytes(\"24 MiBs\")]: \"24 MiBs\": unknown unit \"MiBs\": expected B, KB, MB, GB or TB (or KiB, MiB, GiB, TiB), e.g. \"24 MB\"",
                Message(results, "Has_a_limit_that_does_not_parse_fails"));

            // The same build, the host started without the tracer: xunit v2 has no skip a test can raise, so the limit fails saying why.
            var (plainExit, plainOutput) = await SampleRun.Dotnet(folder, null,
                ["test", "-nologo", "--no-build", "-p:MemNotebookTracer=false", "--filter", "FullyQualifiedName~Allocates_4_MB_under_a_5_MB_limit",
                 "--logger", "trx;LogFileName=plain.trx", "--results-directory", Path.Combine(folder, "plain")]);
            Assert.True(plainExit == 1, plainOutput);
            var plain = SampleRun.ReadTrx(Path.Combine(folder, "plain"));
            Assert.Equal("Failed", plain["Allocates_4_MB_under_a_5_MB_limit"].Outcome);
            Assert.StartsWith($"{test}Allocates_4_MB_under_a_5_MB_limit: [LimitAllocatedBytes(\"5 MB\")] cannot be measured: this test host was not started with the MemNotebook tracer (exact mode).",
                Message(plain, "Allocates_4_MB_under_a_5_MB_limit"));
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    /// <summary>The message without the exception type the runner puts before it.</summary>
    private static string Message(Dictionary<string, SampleResult> results, string test)
    {
        var message = results[test].Message.Replace("\r\n", "\n");
        foreach (var prefix in new[] { "MemNotebook.Testing.MemoryLimitExceededException : ", "MemNotebook.Testing.MemoryLimitException : " })
            if (message.StartsWith(prefix, StringComparison.Ordinal))
                return message[prefix.Length..];
        return message;
    }
}
