using MemNotebook.Recorder.Analysis;
using MemNotebook.Recorder.Format;
using MemNotebook.Recorder.Reports;
using MemNotebook.Recorder.Tests.Capture;
using MemNotebook.Recorder.Tests.Cli;
using Xunit;
using LoadedCapture = MemNotebook.Capture;

namespace MemNotebook.Recorder.Tests.Sampled;

/// <summary>Sampled captures (header flag bit 2, SAMPLED_ALLOC records): reading, validation, loading and estimates.</summary>
public class SampledCaptureTests : IDisposable
{
    private readonly CliHarness files = new();

    public void Dispose() => files.Dispose();

    /// <summary>Header flag 4; types 0 (System.Byte[]) and 1 (System.String); stack 2 → 1; thread stream 2.</summary>
    private static TestCaptureWriter Meta(ushort flags = 4)
    {
        var w = new TestCaptureWriter(flags: flags);
        w.Chunk(0).Clock(1000, 5_000_000).Type(0, 0x10, "System.Byte[]", 1).Type(1, 0x20, "System.String")
            .StackNode(1, 0, 0x1000).StackNode(2, 1, 0x2000)
            .Frame(0x1000, 0, "MyApp.Program.Main", "MyApp.dll").Frame(0x2000, 0, "MyApp.Program.Fill", "MyApp.dll")
            .Thread(2, 777, 1).Write();
        return w;
    }

    private static TestCaptureWriter Sampled()
    {
        var w = Meta();
        w.Chunk(2)
            .SampledAlloc(1100, 0, 1_048_600, 2, 0x7e00_0000_1000, 4242, 1)
            .SampledAlloc(1200, 1, 64, 1, 0x7f00_0000_0000, 63, 0)
            .SampledAlloc(1300, 0, 1_048_600, 0, 0x7e00_0010_1000, 0, 1)
            .Write(zstd: true);
        w.Chunk(0).Clock(2000, 5_010_000).End(2000, 3, 0, 0).Write();
        return w;
    }

    private static CaptureFormatException Reject(TestCaptureWriter w) =>
        Assert.Throws<CaptureFormatException>(() => RecordLog.Read(w.ToArray()));

    [Fact]
    public void Every_field_of_a_sampled_alloc_is_decoded()
    {
        var log = RecordLog.Read(Sampled().ToArray());
        Assert.True(log.Result!.Header.IsSampled);
        Assert.False(log.Result.Header.IsAggregated);
        var allocations = log.Lines.Where(l => l.StartsWith("AllocationRecord", StringComparison.Ordinal)).ToArray();
        Assert.Equal(
        [
            "AllocationRecord { ThreadStream = 2, Sequence = 0, Ticks = 1100, TypeIndex = 0, Size = 1048600, StackId = 2, Address = 138538465103872, IsSampled = True, SampledByteOffset = 4242, HeapKind = 1 }",
            "AllocationRecord { ThreadStream = 2, Sequence = 1, Ticks = 1200, TypeIndex = 1, Size = 64, StackId = 1, Address = 139637976727552, IsSampled = True, SampledByteOffset = 63, HeapKind = 0 }",
            "AllocationRecord { ThreadStream = 2, Sequence = 2, Ticks = 1300, TypeIndex = 0, Size = 1048600, StackId = 0, Address = 138538466152448, IsSampled = True, SampledByteOffset = 0, HeapKind = 1 }",
        ], allocations);
    }

    [Fact]
    public void A_normal_allocation_is_not_sampled()
    {
        var log = RecordLog.Read(Captures.Small().ToArray());
        Assert.False(log.Result!.Header.IsSampled);
        Assert.Contains(log.Lines, l => l.StartsWith("AllocationRecord", StringComparison.Ordinal));
        Assert.DoesNotContain(log.Lines, l => l.Contains("IsSampled", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("offset beyond the object", "sampled byte offset out of range: 64 in an object of 64 bytes")]
    [InlineData("unknown heap kind", "unknown heap kind 3 (0 small object heap, 1 LOH, 2 POH)")]
    [InlineData("undefined type", "undefined type: type index 7 has no TYPE record")]
    [InlineData("undefined stack", "undefined stack: stack id 9, only 2 stack nodes are defined")]
    [InlineData("cut short", "record runs past the end of its chunk")]
    public void A_corrupt_sampled_alloc_is_refused_with_the_chunk_offset(string what, string problem)
    {
        var w = Meta();
        var chunk = w.Chunk(2);
        _ = what switch
        {
            "offset beyond the object" => chunk.SampledAlloc(1100, 0, 64, 1, 0x1000, 64, 0),
            "unknown heap kind" => chunk.SampledAlloc(1100, 0, 64, 1, 0x1000, 0, 3),
            "undefined type" => chunk.SampledAlloc(1100, 7, 64, 1, 0x1000, 0, 0),
            "undefined stack" => chunk.SampledAlloc(1100, 0, 64, 9, 0x1000, 0, 0),
            _ => chunk.Record(0x04).Ticks(1100).Varint(0).Varint(64).SVarint(1).SVarint(0).Varint(0),
        };
        chunk.Write();
        var error = Reject(w);
        Assert.True(error.Offset == w.Boundaries[1], what);
        Assert.Equal(CaptureFormat.TagSampledAlloc, error.Tag);
        Assert.StartsWith(problem, error.Problem);
        Assert.Contains($"at offset {w.Boundaries[1]} in SAMPLED_ALLOC record (tag 0x04)", error.Message);
    }

    [Fact]
    public void Sampled_and_exact_records_do_not_mix()
    {
        var exact = Meta(flags: 0);
        exact.Chunk(2).SampledAlloc(1100, 0, 64, 1, 0x1000, 0, 0).Write();
        Assert.StartsWith("SAMPLED_ALLOC in a capture without header flag bit 2", Reject(exact).Problem);

        var sampled = Meta();
        sampled.Chunk(2).Alloc(1100, 0, 64, 1, 0x1000).Write();
        Assert.StartsWith("ALLOC in a sampled capture", Reject(sampled).Problem);

        var both = Reject(new TestCaptureWriter(flags: 5));
        Assert.Equal(10, both.Offset);
        Assert.Contains("a capture cannot be aggregated (bit 0) and sampled (bit 2) at once", both.Message);
    }

    [Fact]
    public void The_estimate_of_a_sampled_object_is_its_size_over_its_chance_of_being_sampled()
    {
        const double q = 1 - 1 / 102_400.0;
        Assert.Equal(64 / (1 - Math.Pow(q, 64)), CaptureFormat.SampledWeight(64), 6);
        Assert.Equal(1_048_600 / (1 - Math.Pow(q, 1_048_600)), CaptureFormat.SampledWeight(1_048_600), 6);
        // A small object stands for ~100 KB; an object much larger than 100 KB for itself.
        Assert.InRange(CaptureFormat.SampledWeight(24), 102_400, 102_400 + 24);
        Assert.InRange(CaptureFormat.SampledWeight(100 << 20) / (100 << 20), 1.0, 1.0 + 1e-9);
        Assert.Equal(0, CaptureFormat.SampledWeight(0));
    }

    [Fact]
    public void A_sampled_capture_loads_with_its_samples_and_estimates_per_type()
    {
        var capture = LoadedCapture.Load(files.File("sampled.memnb", Sampled().ToArray()));
        Assert.True(capture.IsSampled);
        Assert.True(capture.Metadata.Sampled);
        Assert.Equal(3, capture.All.Count);
        Assert.Equal(2 * 1_048_600 + 64, capture.All.Bytes);
        var byteArray = 2 * CaptureFormat.SampledWeight(1_048_600);
        var text = CaptureFormat.SampledWeight(64);
        Assert.Equal((long)Math.Round(byteArray + text), capture.EstimatedBytes);
        var types = capture.EstimatedTypes();
        Assert.Equal(["type", "samples", "sampled_bytes", "estimated_bytes", "estimated_count"], types.Columns.Select(c => c.Name));
        Assert.Equal("System.Byte[]", types["type"][0]);
        Assert.Equal(2L, types["samples"][0]);
        Assert.Equal(2L * 1_048_600, types["sampled_bytes"][0]);
        Assert.Equal((long)Math.Round(byteArray), types["estimated_bytes"][0]);
        Assert.Equal(2L, types["estimated_count"][0]);
        Assert.Equal("System.String", types["type"][1]);
        Assert.Equal((long)Math.Round(text), types["estimated_bytes"][1]);
        Assert.Equal((long)Math.Round(text / 64), types["estimated_count"][1]);
        Assert.EndsWith($"sampled.memnb (sampled): 3 sampled objects (2.0 MiB), estimated {ByteUnits.Format(capture.EstimatedBytes)} allocated", capture.ToString());
    }

    [Fact]
    public void Stats_of_a_sampled_capture_are_labelled_as_samples_with_the_estimate_and_agree_streamed_and_loaded()
    {
        var path = files.File("stats.memnb", Sampled().ToArray());
        var streamed = CaptureStats.Compute(path);
        var loaded = LoadedCapture.Load(path).Stats();
        Assert.True(streamed.Sampled);
        Assert.Equal((long)Math.Round(2 * CaptureFormat.SampledWeight(1_048_600) + CaptureFormat.SampledWeight(64)), streamed.EstimatedBytes);
        Assert.Equal(StatsJson.ToJson(streamed), StatsJson.ToJson(loaded));
        Assert.Contains("\"sampled\": true", StatsJson.ToJson(streamed));
        var text = new StringWriter();
        StatsText.Write(streamed, text);
        Assert.Contains("Sampled      yes: the runtime's allocation samples (one per ~100 KB)", text.ToString());
        Assert.Contains($"Allocations  3 sampled objects (2.0 MiB); estimated {ByteUnits.Format(streamed.EstimatedBytes)} allocated", text.ToString());
    }

    [Fact]
    public void The_flame_tree_of_a_sampled_capture_weighs_samples_by_their_estimate()
    {
        var capture = LoadedCapture.Load(files.File("flame.memnb", Sampled().ToArray()));
        var tree = FlameTree.Build(capture.All, new ReportSelection(ReportMode.Allocated));
        Assert.Equal(3, tree.Root.Count);
        Assert.Equal(2 * (long)Math.Round(CaptureFormat.SampledWeight(1_048_600)) + (long)Math.Round(CaptureFormat.SampledWeight(64)), tree.Root.TotalBytes);
    }

    [Fact]
    public void An_exact_capture_estimates_its_recorded_totals()
    {
        var capture = LoadedCapture.Load(files.File("exact.memnb", Captures.Small().ToArray()));
        Assert.False(capture.IsSampled);
        Assert.Equal(capture.All.Bytes, capture.EstimatedBytes);
        var types = capture.EstimatedTypes();
        Assert.Equal(types["sampled_bytes"][0], types["estimated_bytes"][0]);
        Assert.Equal(types["samples"][0], types["estimated_count"][0]);
    }

    /// <summary>A sampled capture with two LOH objects recorded exactly (heap kind byte 0x81) and one sampled string.</summary>
    private static TestCaptureWriter WithExactLargeObjects()
    {
        var w = Meta();
        w.Chunk(2)
            .SampledAlloc(1100, 0, 100_024, 2, 0x7e00_0000_1000, 0, 0x81)
            .SampledAlloc(1200, 1, 64, 1, 0x7f00_0000_0000, 63, 0)
            .SampledAlloc(1300, 0, 100_024, 2, 0x7e00_0010_1000, 0, 0x81)
            .Write();
        w.Chunk(0).Clock(2000, 5_010_000).End(2000, 3, 0, 0).Write();
        return w;
    }

    [Fact]
    public void An_exact_large_object_is_read_with_its_flag_and_weighs_its_size()
    {
        var log = RecordLog.Read(WithExactLargeObjects().ToArray());
        var allocations = log.Lines.Where(l => l.StartsWith("AllocationRecord", StringComparison.Ordinal)).ToArray();
        Assert.Equal(
            "AllocationRecord { ThreadStream = 2, Sequence = 0, Ticks = 1100, TypeIndex = 0, Size = 100024, StackId = 2, Address = 138538465103872, IsSampled = True, SampledByteOffset = 0, HeapKind = 1, IsExact = True }",
            allocations[0]);
        Assert.DoesNotContain("IsExact", allocations[1]);
        Assert.Equal(100_024, new AllocationRecord(2, 0, 0, 0, 100_024, 0, 0) { IsSampled = true, IsExact = true }.EstimatedBytes);
        Assert.Equal(CaptureFormat.SampledWeight(100_024), new AllocationRecord(2, 0, 0, 0, 100_024, 0, 0) { IsSampled = true }.EstimatedBytes);

        var path = files.File("loh.memnb", WithExactLargeObjects().ToArray());
        var capture = LoadedCapture.Load(path);
        var estimate = 2 * 100_024 + CaptureFormat.SampledWeight(64);
        Assert.Equal((long)Math.Round(estimate), capture.EstimatedBytes);
        Assert.Equal((2, 2 * 100_024L), capture.All.ExactLargeObjects);
        Assert.Equal([false, true, false], capture.Allocations["sampled"].Cast<bool>());
        var types = capture.EstimatedTypes();
        Assert.Equal("System.Byte[]", types["type"][0]);
        Assert.Equal(2L, types["samples"][0]);
        Assert.Equal(2L * 100_024, types["estimated_bytes"][0]);
        Assert.Equal(2L, types["estimated_count"][0]);
        var tree = FlameTree.Build(capture.All, new ReportSelection(ReportMode.Allocated));
        Assert.Equal(2 * 100_024 + (long)Math.Round(CaptureFormat.SampledWeight(64)), tree.Root.TotalBytes);

        var streamed = CaptureStats.Compute(path);
        Assert.Equal((long)Math.Round(estimate), streamed.EstimatedBytes);
        Assert.Equal(2, streamed.ExactLargeObjects);
        Assert.Equal(2 * 100_024, streamed.ExactLargeBytes);
        Assert.Equal(StatsJson.ToJson(streamed), StatsJson.ToJson(capture.Stats()));
        Assert.Contains("\"exact_large_objects\": 2", StatsJson.ToJson(streamed));
        var text = new StringWriter();
        StatsText.Write(streamed, text);
        Assert.Contains("Exact LOH    2 (195.4 KiB) recorded exactly: every large-object-heap object (≥ 85,000 bytes)", text.ToString());
        Assert.Contains("Allocations  1 sampled object (64 B) and 2 exact large objects (195.4 KiB); estimated", text.ToString());
    }

    [Theory]
    [InlineData(0x80, 0, "exact record of heap kind 0: only LOH objects (kind 1) are recorded exactly")]
    [InlineData(0x82, 0, "exact record of heap kind 2: only LOH objects (kind 1) are recorded exactly")]
    [InlineData(0x81, 5, "exact record with sampled byte offset 5: an object recorded exactly has offset 0")]
    [InlineData(0x41, 0, "unknown heap kind 65 (0 small object heap, 1 LOH, 2 POH), bit 7 marking an exact record")]
    public void A_bad_exact_flag_is_refused_with_the_chunk_offset(int kind, int offset, string problem)
    {
        var w = Meta();
        w.Chunk(2).SampledAlloc(1100, 0, 100_024, 1, 0x1000, (ulong)offset, (byte)kind).Write();
        var error = Reject(w);
        Assert.Equal(w.Boundaries[1], error.Offset);
        Assert.Equal(CaptureFormat.TagSampledAlloc, error.Tag);
        Assert.StartsWith(problem, error.Problem);
    }
}
