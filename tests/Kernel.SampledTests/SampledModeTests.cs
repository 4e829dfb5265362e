using System.Diagnostics;
using System.Net;
using MemNotebook.Recorder.Tracing;

namespace MemNotebook.Kernel.SampledTests;

/// <summary>One recording at a time per process: every test here runs in this collection, one after another.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class SampledCollection
{
    public const string Name = "sampled";
}

/// <summary>
/// #!memprofile in a test host started without the tracer, as a plain C# kernel is: the extension attaches
/// the tracer to the process and records the runtime's allocation samples.
/// </summary>
[Collection(SampledCollection.Name)]
public sealed class SampledModeTests
{
    private const long Arrays = 200;
    private const long ArrayBytes = (1 << 20) + 24; // byte[1 MiB] on the GC heap: header, length, data

    // The estimate of 200 objects of 1 MiB: each is sampled with probability 1 - q^1048600 ≈ 0.99996 and then
    // weighs ~1.00004 of itself, so the estimate is within one array of the truth unless two are missed
    // (probability < 1e-6). 5% leaves room for the cell's other allocations being counted as byte[] too.
    private const double Tolerance = 0.05;

    [Fact]
    public void The_test_host_runs_without_the_tracer()
    {
        Assert.Null(Environment.GetEnvironmentVariable("CORECLR_ENABLE_PROFILING"));
        Assert.False(Tracker.IsAvailable);
    }

    [Fact]
    public async Task A_cell_in_a_kernel_without_the_tracer_is_recorded_in_sampled_mode_with_estimates_and_stacks()
    {
        using var k = await KernelHarness.StartAsync();
        await k.RunAsync("var keep = new List<byte[]>();");
        var watch = Stopwatch.StartNew();
        var cell = await k.RunAsync($"#!memprofile --output {k.Folder}/s.memnb\nfor (var i = 0; i < {Arrays}; i++) keep.Add(new byte[1 << 20]);");
        var cellTime = watch.Elapsed;
        Assert.True(cell.Failure is null, cell.Failure?.Message);
        Assert.True(SampledMode.IsAttached);

        var heading = WebUtility.HtmlDecode(Assert.Single(cell.Outputs(NotebookRenderer.HeadingClass)));
        Assert.Contains("(sampled mode", heading);
        Assert.Contains("estimated from the runtime's allocation sampling, one sample per ~100 KB", heading);
        Assert.Contains("#!memprofile --install-kernel", heading);
        Assert.Contains(".NET (C#) — memory tracer", heading);
        var stats = WebUtility.HtmlDecode(Assert.Single(cell.Outputs(NotebookRenderer.StatsClass)));
        Assert.Contains("allocated (estimate)", stats);
        Assert.Single(cell.Outputs(NotebookRenderer.FlameGraphClass));

        Assert.Equal("True", await k.ValueAsync("memprofile.IsSampled"));
        var estimate = await k.LongAsync("""
            var __t = memprofile.EstimatedTypes(int.MaxValue);
            (long)__t["estimated_bytes"][Enumerable.Range(0, (int)__t.Rows.Count).First(i => (string)__t["type"][i] == "System.Byte[]")]
            """);
        var truth = Arrays * ArrayBytes;
        Assert.InRange(estimate, (long)(truth * (1 - Tolerance)), (long)(truth * (1 + Tolerance)));
        // The capture is scoped to the cell's code: its rows have stacks through the Submission frame.
        Assert.True(await k.LongAsync("memprofile.All.Count") >= Arrays - 2);
        Assert.Equal("True", await k.ValueAsync("""memprofile.TopFunctions(1)["function"][0].ToString()!.StartsWith("Submission#")"""));
        var counters = SampledMode.Counters;
        Assert.Equal(0ul, counters.OffThread);
        Assert.Equal(0ul, counters.Unparsed);
        Console.WriteLine($"sampled: attach {SampledMode.AttachTime?.TotalMilliseconds:N1} ms, cell {cellTime.TotalMilliseconds:N0} ms, " +
            $"estimate {estimate:N0} of {truth:N0} bytes ({(estimate - truth) * 100.0 / truth:+0.000;-0.000}%), counters {counters}");
    }

    [Fact]
    public async Task Small_objects_are_estimated_within_the_sampling_error()
    {
        using var k = await KernelHarness.StartAsync();
        await k.RunAsync("var keep2 = new List<object>();");
        // 2,000,000 objects of 64 bytes (128 MB): ~1,250 samples, standard deviation of the estimate ≤ sqrt(N q / p) ≈ 3.6 MB (2.8%).
        var cell = await k.RunAsync($"#!memprofile --output {k.Folder}/small.memnb\nfor (var i = 0; i < 2_000_000; i++) keep2.Add(new byte[40]);");
        Assert.True(cell.Failure is null, cell.Failure?.Message);
        var estimate = await k.LongAsync("""
            var __t = memprofile.EstimatedTypes(int.MaxValue);
            (long)__t["estimated_bytes"][Enumerable.Range(0, (int)__t.Rows.Count).First(i => (string)__t["type"][i] == "System.Byte[]")]
            """);
        const long truth = 2_000_000L * 64;
        // Five standard deviations (14%): fails by chance less than once in a million runs.
        Assert.InRange(estimate, (long)(truth * 0.86), (long)(truth * 1.14));
        Console.WriteLine($"small objects: estimate {estimate:N0} of {truth:N0} bytes ({(estimate - truth) * 100.0 / truth:+0.00;-0.00}%)");
    }
}
