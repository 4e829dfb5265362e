using MemNotebook.Recorder.Format;
using MemNotebook.Recorder.Tests.Capture;
using MemNotebook.Recorder.Tests.Cli;
using MemNotebook.Recorder.Tests.Profiler;
using Xunit;

namespace MemNotebook.Recorder.Tests.Native;

// A native hook meets a thread before the runtime knows it as managed (the runtime's own mallocs while it
// sets the thread up): the tracer describes the thread again once the runtime assigns it, so native
// captures keep managed thread ids and names as plain captures do.
public class NativeThreadTests
{
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Named_threads_keep_their_managed_ids_and_names_with_and_without_native_recording(bool native)
    {
        string capture = TracedTarget.TempCapture(native ? "named-native.memnb" : "named.memnb");
        Environment.SetEnvironmentVariable("MEMNB_TRACER_PATH", TracedTarget.TracerPath);
        string[] run = native ? ["run", "--native", "-o", capture] : ["run", "-o", capture];
        var result = CliHarness.Run([.. run, "--", "dotnet", TracedTarget.TargetPath, "named-threads"]);
        Assert.True(result.ExitCode == 0, result.Err);

        var data = SymbolizedCapture.Load(capture);
        Assert.Equal(native, data.Header.HasNative);
        var named = data.Threads.Where(t => t.Name is not null && t.Name.StartsWith("named-", StringComparison.Ordinal))
            .OrderBy(t => t.Name, StringComparer.Ordinal).ToList();
        Assert.Equal(["named-main", "named-worker-0", "named-worker-1", "named-worker-2"], named.Select(t => t.Name!));
        Assert.All(named, t => Assert.NotEqual(0UL, t.ManagedThreadId));
        Assert.Equal(named.Count, named.Select(t => t.ManagedThreadId).Distinct().Count());

        // Every thread that allocated a managed object is a managed thread: none is left with id 0.
        var managedStreams = new HashSet<int>();
        var types = data.Allocations.TypeIndex.Span;
        var streams = data.Allocations.ThreadStream.Span;
        for (var r = 0; r < data.Allocations.Count; r++)
            if (types[r] >= 0)
                managedStreams.Add(streams[r]);
        Assert.All(data.Threads.Where(t => managedStreams.Contains(t.StreamId)),
            t => Assert.True(t.ManagedThreadId != 0, $"thread {t.OsThreadId} allocated managed objects with managed id 0"));

        // The names reach every report: stats, and the threads table of the loaded capture.
        var stats = MemNotebook.Recorder.Analysis.CaptureStats.Compute(capture);
        foreach (var t in named.Where(t => t.Name!.StartsWith("named-worker-", StringComparison.Ordinal)))
            Assert.True(stats.Threads.Single(s => s.Name == t.Name).Count >= 1000, t.Name);
        var threads = MemNotebook.Capture.Load(capture).Threads;
        var names = Enumerable.Range(0, (int)threads.Rows.Count).Select(i => threads["name"][i] as string).ToList();
        Assert.Equal(4, names.Count(n => n?.StartsWith("named-", StringComparison.Ordinal) == true));
    }

    [Fact]
    public void A_thread_described_again_takes_its_latest_managed_id_and_keeps_its_stream()
    {
        var w = new TestCaptureWriter(flags: 2);
        w.Chunk(0).Clock(1000, 1_000_000).Type(0, 0x10, "App.Thing").Thread(2, 4242, 0).Write();
        w.Chunk(2).NativeAlloc(1100, 1, 64, 0, 0x5000).Write();
        w.Chunk(0).Thread(2, 4242, 0x7f00_1234).ThreadName(4242, "late-worker").Write();
        w.Chunk(2).Alloc(1200, 0, 24, 0, 0x9000).Write();
        w.Chunk(0).Clock(2000, 2_000_000).End(2000, 1, 0, 24).Write();
        var data = SymbolizedCapture.Load(new MemoryStream(w.ToArray()), "late.memnb");
        var thread = Assert.Single(data.Threads);
        Assert.Equal(new CaptureThread(2, 4242, 0x7f00_1234, "late-worker"), thread);
        Assert.Equal([2, 2], data.Allocations.ThreadStream.ToArray());

        // Another OS thread for a stream already defined is still corruption.
        var bad = new TestCaptureWriter(flags: 2);
        bad.Chunk(0).Clock(1000, 1_000_000).Thread(2, 4242, 0).Write();
        bad.Chunk(0).Thread(2, 4243, 5).Write();
        var error = Assert.Throws<CaptureFormatException>(() => RecordLog.Read(bad.ToArray()));
        Assert.Contains("duplicate thread: stream 2 is defined twice, for OS threads 4242 and 4243", error.Problem);
    }
}
