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

    // 200 objects of 1 MiB are LOH objects, recorded exactly (each weighs itself). 5% leaves room for the cell's
    // other allocations being counted as byte[] too.
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
        Assert.Equal("True", await k.ValueAsync("""memprofile.TopFunctions(1)["function"][0].ToString()!.StartsWith("cell ")"""));
        var counters = SampledMode.Counters;
        Assert.Equal(0ul, counters.OffThread);
        Assert.Equal(0ul, counters.Unparsed);
        Console.WriteLine($"sampled: attach {SampledMode.AttachTime?.TotalMilliseconds:N1} ms, cell {cellTime.TotalMilliseconds:N0} ms, " +
            $"estimate {estimate:N0} of {truth:N0} bytes ({(estimate - truth) * 100.0 / truth:+0.000;-0.000}%), counters {counters}");
    }

    [Fact]
    public async Task Large_objects_are_recorded_exactly_and_small_ones_still_sampled()
    {
        using var k = await KernelHarness.StartAsync();
        // Capacity set beforehand: the list's own backing array would be a LOH object of the cell otherwise.
        await k.RunAsync("var keepL = new List<object>(2_100_000);");
        var cell = await k.RunAsync($$"""
            #!memprofile --output {{k.Folder}}/loh.memnb
            for (var i = 0; i < 37; i++) keepL.Add(new byte[100_000]);
            for (var i = 0; i < 2_000_000; i++) keepL.Add(new object());
            """);
        Assert.True(cell.Failure is null, cell.Failure?.Message);

        // byte[100_000] takes 100,024 bytes on the GC heap: 37 records of exactly that, counted and weighed as they are.
        Assert.Equal("37 3700888 3700888 37", await k.ValueAsync("""
            var __t = memprofile.EstimatedTypes(int.MaxValue);
            var __b = Enumerable.Range(0, (int)__t.Rows.Count).First(i => (string)__t["type"][i] == "System.Byte[]");
            $"{__t["samples"][__b]} {__t["sampled_bytes"][__b]} {__t["estimated_bytes"][__b]} {__t["estimated_count"][__b]}"
            """));
        const string a = "memprofile.Allocations";
        Assert.Equal(37, await k.LongAsync($"Enumerable.Range(0, (int){a}.Rows.Count).LongCount(i => !(bool){a}[\"sampled\"][i] && (long){a}[\"size\"][i] == 100_024)"));
        // No sample of a LOH object is kept beside the exact records.
        Assert.Equal(0, await k.LongAsync($"Enumerable.Range(0, (int){a}.Rows.Count).LongCount(i => (bool){a}[\"sampled\"][i] && (long){a}[\"size\"][i] >= 85_000)"));
        // The 2,000,000 objects of 24 bytes (48 MB) are still sampled (~470 samples) and estimated.
        var objects = await k.ValueAsync("""
            var __o = memprofile.EstimatedTypes(int.MaxValue);
            var __r = Enumerable.Range(0, (int)__o.Rows.Count).First(i => (string)__o["type"][i] == "System.Object");
            $"{__o["samples"][__r]} {__o["estimated_bytes"][__r]}"
            """);
        var parts = objects.Split(' ').Select(long.Parse).ToArray();
        Assert.InRange(parts[0], 100, 2_000);
        const long objectBytes = 2_000_000L * 24;
        // ~5 standard deviations (sqrt(N / p) ≈ 2.2 MB, 4.6%).
        Assert.InRange(parts[1], objectBytes * 75 / 100, objectBytes * 125 / 100);

        var heading = WebUtility.HtmlDecode(Assert.Single(cell.Outputs(NotebookRenderer.HeadingClass)));
        Assert.Contains("Large objects (≥ 85,000 bytes, the LOH) are exact, not sampled: 37 objects", heading);
        var stats = WebUtility.HtmlDecode(Assert.Single(cell.Outputs(NotebookRenderer.StatsClass)));
        Assert.Contains("large objects (exact)", stats);
        Assert.Contains("37 (", stats);
        Assert.Equal(0ul, SampledMode.Counters.Unparsed);
        Console.WriteLine($"LOH exact: 37 byte[100_000]; objects: {parts[0]} samples, estimate {parts[1]:N0} of {objectBytes:N0} bytes");
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

[Collection(SampledCollection.Name)]
public sealed class SampledModeCellTests
{
    [Fact]
    public async Task Every_cell_of_a_kernel_uses_the_one_attached_tracer_and_gets_its_own_capture()
    {
        using var k = await KernelHarness.StartAsync();
        await k.RunAsync("var kept = new List<string>();");
        for (var cell = 0; cell < 3; cell++)
        {
            var result = await k.RunAsync($"#!memprofile --name run{cell} --output {k.Folder}/run{cell}.memnb\nfor (var i = 0; i < 2_000_000; i++) kept.Add(i.ToString());");
            Assert.True(result.Failure is null, result.Failure?.Message);
            Assert.Contains("(sampled mode", Assert.Single(result.Outputs(NotebookRenderer.HeadingClass)));
            Assert.True(SampledMode.IsAttached);
        }
        // The runtime attached the tracer once (a second attach would fail: one profiler per process).
        Assert.NotNull(SampledMode.AttachTime);
        Assert.Equal("True True", await k.ValueAsync("""$"{run0.IsSampled} {run0.Path != run2.Path}" """));
        // The capture as a cell's result says it is sampled and gives the estimate.
        var shown = WebUtility.HtmlDecode(string.Join("\n", (await k.RunAsync("run1")).Html));
        Assert.Contains("allocated (estimate)", shown);
        Assert.Contains("the runtime's allocation samples, one per ~100 KB", shown);
        Assert.DoesNotContain("peak alive", shown);
        // 2,000,000 strings of 1-7 digits a cell, 22 + 2 * digits bytes rounded up to 8 on the heap (the runtime
        // caches the strings of 0-299): ~79 MB, ~770 samples, a standard deviation of at most 3.6%.
        var truth = Enumerable.Range(300, 2_000_000 - 300).Sum(i => (22L + 2 * i.ToString().Length + 7) / 8 * 8);
        var estimate = await k.LongAsync("""
            var __t = run2.EstimatedTypes(int.MaxValue);
            (long)__t["estimated_bytes"][Enumerable.Range(0, (int)__t.Rows.Count).First(i => (string)__t["type"][i] == "System.String")]
            """);
        Assert.InRange(estimate, truth * 82 / 100, truth * 118 / 100);
        Console.WriteLine($"three cells, strings: estimate {estimate:N0} of {truth:N0} bytes ({(estimate - truth) * 100.0 / truth:+0.00;-0.00}%)");
    }

    [Fact]
    public async Task Aggregate_needs_exact_mode_and_says_how_to_get_it()
    {
        using var k = await KernelHarness.StartAsync();
        var result = await k.RunAsync($"#!memprofile --aggregate --output {k.Folder}/agg.memnb\nvar x = new byte[100];");
        Assert.NotNull(result.Failure);
        Assert.Contains("--aggregate needs exact mode", result.Failure!.Message);
        Assert.Contains("#!memprofile --install-kernel", result.Failure.Message);
        Assert.False(Tracker.IsRecording);
    }

    [Fact]
    public async Task Native_allocations_are_recorded_exactly_beside_the_managed_samples()
    {
        using var k = await KernelHarness.StartAsync();
        await k.RunAsync("using System.Runtime.InteropServices;");
        var cell = await k.RunAsync($$"""
            #!memprofile --native --all --output {{k.Folder}}/native.memnb
            var blocks = new List<nint>();
            for (var i = 0; i < 10; i++) blocks.Add(Marshal.AllocHGlobal(100_000 + i));
            foreach (var b in blocks) Marshal.FreeHGlobal(b);
            """);
        Assert.Null(cell.Failure);
        var sizes = await k.ValueAsync("""
            var a = memprofile.Allocations;
            string.Join(",", Enumerable.Range(0, (int)a.Rows.Count).Where(i => (string)a["allocator"][i] == "malloc").Select(i => (long)a["size"][i]).Where(s => s >= 100_000).Order())
            """);
        Assert.Equal(string.Join(",", Enumerable.Range(100_000, 10)), sizes);
        Assert.Equal("True", await k.ValueAsync("memprofile.IsSampled.ToString()"));
    }
}
