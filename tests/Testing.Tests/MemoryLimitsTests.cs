using System.Runtime.CompilerServices;

namespace MemNotebook.Testing.Tests;

/// <summary>The framework-neutral API in this test host, which runs under the tracer (the run settings of this project).</summary>
public sealed class MemoryLimitsTests
{
    [Fact]
    public void The_test_host_runs_under_the_tracer_in_exact_mode() => Assert.True(MemoryLimits.IsExact);

    [Fact]
    public void A_thousand_4096_byte_arrays_measure_exactly_the_runtimes_count()
    {
        var arrays = new byte[1000][];
        long runtimeCount = 0;
        var measurement = MemoryLimits.Check(() =>
        {
            var before = GC.GetAllocatedBytesForCurrentThread();
            Workloads.FillArrays(arrays);
            runtimeCount = GC.GetAllocatedBytesForCurrentThread() - before;
        }, allocatedBytes: "10 MB");
        Assert.Equal(1000L * Workloads.ArrayBytes, runtimeCount);
        Assert.Equal(runtimeCount, measurement.AllocatedBytes);
        Assert.Equal(1000, measurement.AllocatedCount);
        // All still referenced by the array outside: alive at the end, and all at once at the peak.
        Assert.Equal(runtimeCount, measurement.LeakedBytes);
        Assert.Equal(runtimeCount, measurement.PeakBytes);
        var result = Assert.Single(measurement.Results);
        Assert.Equal((runtimeCount, 1000L, 10L << 20, false), (result.Measured, result.Count, result.LimitBytes, result.Exceeded));
        GC.KeepAlive(arrays);
    }

    [Fact]
    public void A_limit_one_byte_below_the_allocations_fails_with_the_figures_and_the_allocating_function()
    {
        var arrays = new byte[1000][];
        var e = Assert.Throws<MemoryLimitExceededException>(() =>
            MemoryLimits.Check(() => Workloads.FillArrays(arrays), allocatedBytes: $"{1000 * Workloads.ArrayBytes - 1} B"));
        Assert.Equal(4_120_000, e.Measurement.AllocatedBytes);
        var message = e.Message;
        Assert.StartsWith($"{typeof(MemoryLimitsTests).FullName}.{nameof(A_limit_one_byte_below_the_allocations_fails_with_the_figures_and_the_allocating_function)}: " +
            "MemoryLimits.Check(allocatedBytes: \"4119999 B\") exceeded: 4,120,000 bytes (3.9 MiB) in 1,000 objects allocated, against a limit of 4,119,999 bytes (3.9 MiB) (\"4119999 B\").", message);
        Assert.Contains("List of allocations (the 1 stacks with the most bytes, of 1):", message);
        Assert.Contains("    - 4,120,000 bytes (3.9 MiB) in 1,000 objects (System.Byte[]) allocated here:\n        MemNotebook.Testing.Tests.Workloads.FillArrays", message);
        GC.KeepAlive(arrays);
    }

    [Fact]
    public void A_leak_of_ten_objects_is_found_with_the_function_that_made_them()
    {
        Workloads.Kept.Clear();
        var e = Assert.Throws<MemoryLimitExceededException>(() => MemoryLimits.Check(() =>
        {
            Workloads.LeakTenBlocks();
            // Garbage: dies in the full GC before the end, so it is no leak.
            for (var i = 0; i < 100; i++)
                GC.KeepAlive(new byte[1000]);
        }, leaks: "1 KB", type: "System.Byte[]"));
        // byte[1000]: 1,024 bytes each.
        Assert.Equal(10 * 1024, e.Measurement.Results[0].Measured);
        Assert.Equal(10, e.Measurement.Results[0].Count);
        Assert.Contains("exceeded: 10,240 bytes (10.0 KiB) in 10 objects still reachable after the test and a full GC, against a limit of 1,024 bytes (1.0 KiB) (\"1 KB\") — counting only objects of type System.Byte[].", e.Message);
        Assert.Contains("    - 10,240 bytes (10.0 KiB) in 10 objects (System.Byte[]) allocated here:\n        MemNotebook.Testing.Tests.Workloads.LeakTenBlocks", e.Message);
        Workloads.Kept.Clear();
    }

    [Fact]
    public void Another_thread_allocating_at_the_same_time_is_not_counted()
    {
        using var stop = new ManualResetEventSlim();
        long noise = 0;
        var other = new Thread(() =>
        {
            while (!stop.IsSet)
            {
                GC.KeepAlive(new byte[4096]);
                noise++;
            }
        });
        other.Start();
        while (Interlocked.Read(ref noise) < 1000)
            Thread.Yield();
        var arrays = new byte[1000][];
        var measurement = MemoryLimits.Check(() => Workloads.FillArrays(arrays), allocatedBytes: "5 MB");
        stop.Set();
        other.Join();
        Assert.Equal(1000L * Workloads.ArrayBytes, measurement.AllocatedBytes);
        GC.KeepAlive(arrays);
    }

    [Fact]
    public async Task Continuations_tasks_and_threads_the_test_starts_are_counted()
    {
        var worker = new ThreadWorker();
        var measurement = await MemoryLimits.CheckAsync(async () =>
        {
            var afterYield = await Workloads.AllocateAfterYieldAsync(10_000);     // 10,024 bytes, on a pool thread
            var fromTask = await Task.Run(() => new byte[30_000]);               // 30,024 bytes
            var thread = new Thread(worker.Run);                                 // 20,024 bytes, on a thread of its own
            thread.Start();
            thread.Join();
            GC.KeepAlive(afterYield);
            GC.KeepAlive(fromTask);
        }, allocatedBytes: "1 MB", type: "System.Byte[]");
        Assert.Equal(10_024 + 30_024 + 20_024, measurement.Results[0].Measured);
        Assert.Equal(3, measurement.Results[0].Count);
    }

    [Fact]
    public void Using_a_scope_measures_the_rest_of_the_test()
    {
        MemoryMeasurement measurement;
        var arrays = new byte[10][];
        using (var limit = MemoryLimits.Start(allocatedBytes: "41200 B", peakBytes: "41200 B", leaks: "41200 B"))
        {
            Workloads.FillArrays(arrays);
            measurement = limit.Stop();
        }
        Assert.Equal(new long[] { 41_200, 41_200, 41_200 }, measurement.Results.Select(r => r.Measured));
        Assert.Equal($"{typeof(MemoryLimitsTests).FullName}.{nameof(Using_a_scope_measures_the_rest_of_the_test)}", measurement.TestName);
        GC.KeepAlive(arrays);
    }

    [Fact]
    public void A_frame_filter_counts_only_allocations_under_that_function()
    {
        var arrays = new byte[5][];
        var measurement = MemoryLimits.Check(() =>
        {
            Workloads.FillArrays(arrays);
            GC.KeepAlive(new object[100]);
        }, allocatedBytes: "1 MB", frame: "MemNotebook.Testing.Tests.Workloads.FillArrays");
        Assert.Equal(5 * Workloads.ArrayBytes, measurement.Results[0].Measured);
        // The whole test: the arrays and the object[100] (824 bytes).
        Assert.Equal(5 * Workloads.ArrayBytes + 824, measurement.AllocatedBytes);
        GC.KeepAlive(arrays);
    }

    [Fact]
    public void A_size_that_does_not_parse_names_the_test_and_the_limit()
    {
        var e = Assert.Throws<MemoryLimitException>(() => MemoryLimits.Check(() => { }, allocatedBytes: "24 MiBs"));
        Assert.Equal($"{typeof(MemoryLimitsTests).FullName}.{nameof(A_size_that_does_not_parse_names_the_test_and_the_limit)}: " +
            "MemoryLimits.Check(allocatedBytes: \"24 MiBs\"): \"24 MiBs\": unknown unit \"MiBs\": expected B, KB, MB, GB or TB (or KiB, MiB, GiB, TiB), e.g. \"24 MB\"", e.Message);
    }

    [Fact]
    public void A_negative_limit_names_the_test_and_the_limit()
    {
        var e = Assert.Throws<MemoryLimitException>(() => MemoryLimits.Start(leaks: "-1 KB"));
        Assert.Equal($"{typeof(MemoryLimitsTests).FullName}.{nameof(A_negative_limit_names_the_test_and_the_limit)}: " +
            "MemoryLimits.Start(leaks: \"-1 KB\"): \"-1 KB\" is negative: a memory limit is 0 or more bytes", e.Message);
    }

    [Fact]
    public void Limits_do_not_nest()
    {
        var e = Assert.Throws<MemoryLimitException>(() => MemoryLimits.Check(() => MemoryLimits.Check(() => { }, leaks: "1 KB"), allocatedBytes: "1 MB"));
        Assert.Contains("a memory limit is already measuring this code", e.Message);
        // The outer one ended all the same: a new limit starts.
        Assert.Equal(0, MemoryLimits.Check(() => { }, allocatedBytes: "0 B").AllocatedBytes);
    }

    [Fact]
    public void A_capture_is_kept_where_MEMNB_TEST_CAPTURES_says()
    {
        var folder = Directory.CreateTempSubdirectory("memnb-captures-").FullName;
        Environment.SetEnvironmentVariable(LimitRun.CapturesVariable, folder);
        try
        {
            var measurement = MemoryLimits.Check(() => GC.KeepAlive(new byte[100]), allocatedBytes: "1 KB");
            Assert.Equal(Path.Combine(folder, $"{typeof(MemoryLimitsTests).FullName}.{nameof(A_capture_is_kept_where_MEMNB_TEST_CAPTURES_says)}.memnb"), measurement.CapturePath);
            // byte[100]: 124 bytes, 128 in the heap (sizes round up to 8).
            Assert.Equal(128, measurement.AllocatedBytes);
            Assert.True(File.Exists(measurement.CapturePath));
        }
        finally
        {
            Environment.SetEnvironmentVariable(LimitRun.CapturesVariable, null);
            Directory.Delete(folder, recursive: true);
        }
    }
}
