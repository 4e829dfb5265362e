using MemNotebook.Recorder.Format;
using Xunit;

namespace MemNotebook.Recorder.Tests.Capture;

public class CaptureDataTests
{
    private static CaptureData Load(TestCaptureWriter w) => CaptureData.Load(new MemoryStream(w.ToArray()), "test.memnb");

    [Fact]
    public void Loaded_allocations_are_columns_in_file_order_with_nanosecond_times()
    {
        var data = Load(StatsCapture.Create());
        var a = data.Allocations;
        Assert.Equal(7, a.Count);
        Assert.Equal(new long[] { 1000, 1100, 1200, 1300, 1400, 1500, 1600 }, a.TimestampNs[..7].ToArray());
        Assert.Equal(new[] { 2, 2, 2, 2, 3, 3, 3 }, a.ThreadStream[..7].ToArray());
        Assert.Equal(new[] { 0, 0, 1, 2, 1, 0, 0 }, a.TypeIndex[..7].ToArray());
        Assert.Equal(new long[] { 100, 50, 1000, 24, 4000, 30, 20 }, a.Size[..7].ToArray());
        Assert.Equal(new[] { 3, 2, 6, 7, 5, 8, 0 }, a.StackId[..7].ToArray());
        Assert.Equal(new ulong[] { 0x1000, 0x1100, 0x2000, 0x3000, 0x9000, 0xA000, 0xB000 }, a.Address[..7].ToArray());
        Assert.Equal(new long[] { 2900, -1, 2900, -1, 4900, 2900, -1 }, a.FreeTimeNs[..7].ToArray());
        Assert.True(a.IsFreed(0));
        Assert.False(a.IsFreed(1));
        Assert.Equal(1_000_000, data.DurationNs);
        Assert.True(data.Complete);
    }

    [Fact]
    public void Gc_events_carry_times_generations_reason_pause_and_heap_sizes()
    {
        var data = Load(StatsCapture.Create());
        Assert.Equal(new[]
        {
            new GcEvent(1, 2100, 2900, 0b11, 0, 1000, 5204, 10, 20, 30, 40, 50),
            new GcEvent(2, 4100, 4900, 0b111, 1, 1000, 4094, 1, 2, 3, 4, 5),
        }, data.GcEvents);
        Assert.True(data.GcEvents[1].IsInduced);
    }

    [Fact]
    public void Tables_of_the_model_resolve_types_threads_snapshots_and_stack_frames()
    {
        var data = Load(StatsCapture.Create());
        Assert.Equal(new[] { "System.String", "System.Byte[]", "<script>alert(1)</script>" }, data.Types.Select(t => t.Name));
        Assert.True(data.Types[1].IsArray);
        Assert.Equal(new[] { new CaptureThread(2, 1001, 1, "Main thread"), new CaptureThread(3, 1002, 0, null) }, data.Threads);
        Assert.Equal(new[] { new MemorySnapshot(490_000, 9_000_000, 1, 2, 3, 4, 5, 94) }, data.Snapshots);
        Assert.Equal(new[] { "AllocateObject", "System.String.FastAllocateString", "MyApp.Program.Main" },
            data.StackFrames(3).Select(f => f.Function));
        Assert.Equal(FrameKind.Unknown, data.StackFrames(8).Single().Kind);
        Assert.Empty(data.StackFrames(0));
        Assert.Equal("System.Byte[]", data.TypeName(1));
    }
}
