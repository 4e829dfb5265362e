using System.Text.Json;
using MemNotebook.Recorder.Analysis;
using MemNotebook.Recorder.Stacks;
using MemNotebook.Recorder.Tests.Capture;
using Xunit;

namespace MemNotebook.Recorder.Tests.Analysis;

public class StatsTests
{
    private static CaptureStats Stats(TestCaptureWriter w, int top = CaptureStats.DefaultTop) =>
        CaptureStats.Compute(new MemoryStream(w.ToArray()), "stats.memnb", top);

    /// <summary>A native capture: managed objects and every native allocator, blocks freed and unmapped.</summary>
    private static TestCaptureWriter NativeMix()
    {
        var w = new TestCaptureWriter(flags: Recorder.Format.CaptureFormat.FlagNative);
        w.Chunk(0).Clock(10, 100).Type(0, 1, "App.Node").StackNode(1, 0, 0x10).StackNode(2, 1, 0x20)
            .Frame(0x10, 0, "App.Main", "App.dll").Frame(0x20, 1, "deflate", "libz.so").Thread(2, 7, 1).Write();
        var chunk = w.Chunk(2);
        ulong t = 20;
        for (var i = 0; i < 3_000; i++)
        {
            var kind = (byte)(i % 10);
            if (kind == 0)
                chunk.Alloc(t++, 0, 32, 1, (ulong)(0x100000 + i * 64));
            else
                chunk.NativeAlloc(t++, kind, 4096, 2, (ulong)(0x7f0000000000 + (ulong)i * 8192));
            if (kind is > 0 and < 9 && i % 3 == 0)
                chunk.NativeFree(t++, 1, (ulong)(0x7f0000000000 + (ulong)i * 8192));
            if (kind == 9 && i % 20 == 19)
                chunk.NativeFree(t++, 2, (ulong)(0x7f0000000000 + (ulong)i * 8192), 4096);
        }
        chunk.Write();
        var gc = w.Chunk(1).GcStart(t, 1, 0, 1, 9_600).GcEnd(t + 1, 1);
        gc.Free(2, Enumerable.Range(0, 3_000).Where(i => i % 10 == 0 && i % 40 != 0).Select(i => (ulong)i).ToArray());
        gc.Write();
        return w;
    }

    public static TheoryData<string> AgreementSamples => new() { "stats", "aggregated-normal", "big", "native" };

    [Theory]
    [MemberData(nameof(AgreementSamples))]
    public void Two_pass_stats_of_a_file_equal_the_one_pass_stats_of_its_bytes(string sample)
    {
        var w = sample switch
        {
            "stats" => StatsCapture.Create(),
            "aggregated-normal" => Aggregated.AggregatedWorkload.Create(aggregated: false),
            "big" => Arrow.BigCapture.Create(150_000),
            _ => NativeMix(),
        };
        using var scratch = new Arrow.ScratchFolder();
        var path = scratch.Write("agree.memnb", w);
        // The file: a first pass keeps the free runs, the second looks each allocation up (nothing per object).
        var twoPass = CaptureStats.Compute(path);
        // The bytes as a stream: one pass, each live object kept until its FREE.
        var onePass = CaptureStats.Compute(new MemoryStream(w.ToArray()), path);
        Assert.Equal(StatsJson.ToJson(onePass), StatsJson.ToJson(twoPass));
        Assert.True(twoPass.FreedAllocations > 0 && twoPass.LeakedAllocations > 0, $"{twoPass.FreedAllocations} freed, {twoPass.LeakedAllocations} leaked");
    }

    [Fact]
    public void Stats_of_a_synthetic_capture_match_its_known_numbers()
    {
        var stats = Stats(StatsCapture.Create());
        Assert.Equal(1, stats.FormatVersion);
        Assert.True(stats.Complete);
        Assert.False(stats.Truncated);
        Assert.Equal(7, stats.TotalAllocations);
        Assert.Equal(5224, stats.TotalBytes);
        Assert.Equal(5204, stats.PeakBytes);
        Assert.Equal(3, stats.LeakedAllocations);
        Assert.Equal(94, stats.LeakedBytes);
        Assert.Equal(4, stats.FreedAllocations);
        Assert.Equal(5130, stats.FreedBytes);
        Assert.Equal(1.0, stats.DurationMs);
        Assert.False(stats.DurationEstimated);
        Assert.Equal(2, stats.GcCount);
        Assert.Equal(new[]
        {
            new TypeStats("System.Byte[]", 2, 5000, 0, 0),
            new TypeStats("System.String", 4, 200, 2, 70),
            new TypeStats("<script>alert(1)</script>", 1, 24, 1, 24),
        }, stats.ByType);
        Assert.Equal(new[]
        {
            new ThreadStats(1002, null, 3, 4050),
            new ThreadStats(1001, "Main thread", 4, 1174),
        }, stats.Threads);
    }

    [Fact]
    public void Top_functions_skip_allocation_machinery_native_frames_and_nameless_frames()
    {
        var stats = Stats(StatsCapture.Create());
        Assert.Equal(new[]
        {
            new FunctionStats("lambda in MyApp.Program.Main", 2, 5000),
            new FunctionStats("MyApp.Program.Main", 2, 150),
            new FunctionStats("[unknown]", 3, 74),
        }, stats.TopFunctions);
        Assert.Equal(new[] { new FunctionStats("lambda in MyApp.Program.Main", 2, 5000) }, Stats(StatsCapture.Create(), top: 1).TopFunctions);
    }

    [Fact]
    public void Without_end_peak_takes_the_live_bytes_counted_at_the_end()
    {
        var w = new TestCaptureWriter();
        w.Chunk(0).Clock(0, 0).Type(0, 1, "T").Thread(2, 1, 1).Write();
        w.Chunk(2).Alloc(1, 0, 100, 0, 0).Alloc(2, 0, 200, 0, 0x100).Write();
        w.Chunk(1).GcStart(3, 1, 0, 1, 250).GcEnd(4, 1).Free(2, 0).Write();
        w.Chunk(2).Alloc(5, 0, 300, 0, 0x1000).Write();
        var stats = Stats(w);
        Assert.False(stats.Complete);
        Assert.Equal(500, stats.PeakBytes);
        Assert.Equal(2, stats.LeakedAllocations);
        Assert.Equal(500, stats.LeakedBytes);
    }

    [Fact]
    public void Machinery_list_matches_plain_and_generic_names_only()
    {
        Assert.True(AllocationMachinery.IsMachinery("System.String.FastAllocateString"));
        Assert.True(AllocationMachinery.IsMachinery("System.GC.AllocateUninitializedArray[System.Byte]"));
        Assert.True(AllocationMachinery.IsMachinery("System.GC.AllocateUninitializedArray<T>"));
        Assert.True(AllocationMachinery.IsMachinery("System.GC.<AllocateUninitializedArray>g__AllocateNewUninitializedArray|66_0"));
        Assert.True(AllocationMachinery.IsMachinery("System.Runtime.CompilerServices.RuntimeHelpers.GetUninitializedObject"));
        Assert.True(AllocationMachinery.IsMachinery("System.Array.CreateInstance"));
        Assert.True(AllocationMachinery.IsMachinery("System.Object.MemberwiseClone"));
        Assert.False(AllocationMachinery.IsMachinery("System.String.Concat"));
        Assert.False(AllocationMachinery.IsMachinery("MyApp.GC.AllocateArray"));
        Assert.False(AllocationMachinery.IsMachinery("System.Collections.Generic.List`1.Grow"));
    }

    [Fact]
    public void Json_has_exactly_the_documented_fields_and_escapes_names()
    {
        var json = StatsJson.ToJson(Stats(StatsCapture.Create()), indented: false);
        Assert.Equal(
            "{\"format_version\":1,\"aggregated\":false,\"complete\":true,\"truncated\":false,\"total_allocations\":7,\"total_bytes\":5224," +
            "\"sampled\":false,\"estimated_bytes\":5224," +
            "\"peak_bytes\":5204,\"leaked_allocations\":3,\"leaked_bytes\":94,\"freed_allocations\":4,\"freed_bytes\":5130," +
            "\"duration_ms\":1,\"gc_count\":2," +
            "\"by_type\":[{\"type\":\"System.Byte[]\",\"count\":2,\"bytes\":5000,\"leaked_count\":0,\"leaked_bytes\":0}," +
            "{\"type\":\"System.String\",\"count\":4,\"bytes\":200,\"leaked_count\":2,\"leaked_bytes\":70}," +
            "{\"type\":\"\\u003Cscript\\u003Ealert(1)\\u003C/script\\u003E\",\"count\":1,\"bytes\":24,\"leaked_count\":1,\"leaked_bytes\":24}]," +
            "\"top_functions\":[{\"function\":\"lambda in MyApp.Program.Main\",\"count\":2,\"bytes\":5000}," +
            "{\"function\":\"MyApp.Program.Main\",\"count\":2,\"bytes\":150},{\"function\":\"[unknown]\",\"count\":3,\"bytes\":74}]," +
            "\"by_allocator\":[{\"allocator\":\"managed\",\"count\":7,\"bytes\":5224}],\"top_stacks\":[{\"frames\":[\"System.GC.AllocateUninitializedArray[System.Byte]\",\"lambda in MyApp.Program.Main\",\"MyApp.Program.Main\"],\"count\":1,\"bytes\":4000}," +
            "{\"frames\":[\"JIT_NewArr1\",\"System.GC.AllocateUninitializedArray[System.Byte]\",\"lambda in MyApp.Program.Main\",\"MyApp.Program.Main\"],\"count\":1,\"bytes\":1000}," +
            "{\"frames\":[\"AllocateObject\",\"System.String.FastAllocateString\",\"MyApp.Program.Main\"],\"count\":1,\"bytes\":100}," +
            "{\"frames\":[\"System.String.FastAllocateString\",\"MyApp.Program.Main\"],\"count\":1,\"bytes\":50}," +
            "{\"frames\":[\"0x800\"],\"count\":1,\"bytes\":30}," +
            "{\"frames\":[\"0x600\"],\"count\":1,\"bytes\":24}," +
            "{\"frames\":[],\"count\":1,\"bytes\":20}]," +
            "\"threads\":[{\"id\":1002,\"name\":null,\"count\":3,\"bytes\":4050},{\"id\":1001,\"name\":\"Main thread\",\"count\":4,\"bytes\":1174}]}",
            json);
        using var parsed = JsonDocument.Parse(json);
        Assert.Equal("<script>alert(1)</script>", parsed.RootElement.GetProperty("by_type")[2].GetProperty("type").GetString());
    }

    [Fact]
    public void Text_summary_aligns_columns_and_uses_byte_units()
    {
        var text = StatsText.ToText(Stats(StatsCapture.Create()));
        Assert.Equal(
            """
            Capture      stats.memnb (format 1, complete)
            Allocations  7 (5.1 KiB)
            Peak         5.1 KiB
            Leaked       3 (94 B) never freed
            Freed        4 (5.0 KiB)
            Duration     1.0 ms
            GCs          2

            Top types by bytes
                bytes  count  leaked  leaked bytes  type
              4.9 KiB      2       0           0 B  System.Byte[]
                200 B      4       2          70 B  System.String
                 24 B      1       1          24 B  <script>alert(1)</script>

            Top functions by bytes
                bytes  count  function
              4.9 KiB      2  lambda in MyApp.Program.Main
                150 B      2  MyApp.Program.Main
                 74 B      3  [unknown]

            Threads
                bytes  count   tid  name
              4.0 KiB      3  1002
              1.1 KiB      4  1001  Main thread

            """, text);
    }

    [Fact]
    public void Byte_units_are_binary_with_one_decimal()
    {
        Assert.Equal("0 B", ByteUnits.Format(0));
        Assert.Equal("1023 B", ByteUnits.Format(1023));
        Assert.Equal("1.0 KiB", ByteUnits.Format(1024));
        Assert.Equal("1.5 MiB", ByteUnits.Format(1536 * 1024));
        Assert.Equal("2.0 GiB", ByteUnits.Format(2L << 30));
    }
}
