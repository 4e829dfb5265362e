using MemNotebook.Recorder.Analysis;
using MemNotebook.Recorder.Format;
using MemNotebook.Recorder.Tests.Capture;
using Xunit;

namespace MemNotebook.Recorder.Tests.Profiler;

public class ProcessHazardTests
{
    [Fact]
    public void A_child_process_that_inherits_the_variables_runs_without_the_tracer()
    {
        string capture = TracedTarget.TempCapture("parent.memnb");
        var run = TracedTarget.Start("spawn-child", environment: new Dictionary<string, string> { ["MEMNB_OUTPUT"] = capture });
        Assert.True(run.ExitCode == 0, run.Stderr);
        var child = run.Facts.GetProperty("child");
        Assert.Equal("1", child.GetProperty("profiling_variable").GetString());  // inherited...
        Assert.False(child.GetProperty("tracer_mapped").GetBoolean());            // ...but inert
        Assert.True(run.Facts.GetProperty("parent_available").GetBoolean());
        Assert.True(CaptureData.Load(capture).Complete);
    }

    [Fact]
    public void With_a_claim_file_only_the_first_process_is_the_target()
    {
        string claim = TracedTarget.TempCapture("claim");
        var run = TracedTarget.Start("spawn-child", environment: new Dictionary<string, string> { ["MEMNB_CLAIM"] = claim });
        Assert.True(run.ExitCode == 0, run.Stderr);
        Assert.False(run.Facts.GetProperty("child").GetProperty("tracer_mapped").GetBoolean());
        Assert.True(run.Facts.GetProperty("parent_available").GetBoolean());
    }

    [Fact]
    public void A_process_loaded_without_recording_runs_no_background_gc_and_its_regions_see_objects_die()
    {
        // The runtime's defaults (concurrent GC on): the tracer turns background GCs off at
        // startup and does not keep the GC's survivor reports on while idle.
        string capture = TracedTarget.TempCapture("gc-modes.memnb");
        var run = TracedTarget.Start("gc-modes", capture);
        Assert.True(run.ExitCode == 0, run.Stderr);
        Assert.Equal(0, run.Facts.GetProperty("background_gcs").GetInt64());
        var stats = CaptureStats.Compute(capture);
        var arrays = stats.ByType.Single(t => t.Type == "System.Byte[]");
        Assert.Equal(1000, arrays.Count);
        Assert.Equal(1000 * 4120L, arrays.Bytes);
        Assert.Equal(0, arrays.LeakedCount);
    }

    [Fact]
    public void A_recordings_gcs_walk_no_heap_and_give_their_survivors_as_events()
    {
        // With MONITOR_GC the runtime would walk every gen0 object at each GC's start, every root and
        // live object at its end (the tracer ended that walk at its first object: one per GC). A
        // recording takes its survivors from the runtime's survivor events instead: 200,000 objects
        // alive, ten gen0 GCs with a survivor each, no object walked; every GC's survivors came as
        // events, each read: the 1,000 unreachable arrays died, the 10 kept ones did not.
        string capture = TracedTarget.TempCapture("heap-walk.memnb");
        var run = TracedTarget.Start("heap-walk", capture);
        Assert.True(run.ExitCode == 0, run.Stderr);
        long gcs = run.Facts.GetProperty("gcs").GetInt64();
        Assert.Equal(10, gcs);
        Assert.Equal(0, run.Facts.GetProperty("walked").GetInt64());
        Assert.InRange(run.Facts.GetProperty("survivor_events").GetInt64(), gcs, long.MaxValue);
        Assert.Equal(0, run.Facts.GetProperty("unparsed").GetInt64());
        var arrays = CaptureStats.Compute(capture).ByType.Single(t => t.Type == "System.Byte[]");
        Assert.Equal(10 * 100 + 10, arrays.Count);
        Assert.Equal(10, arrays.LeakedCount);
    }

    [Fact]
    public void A_recording_from_startup_switches_to_the_survivor_events_and_records_none_of_the_switch()
    {
        // memnb run's recording begins before anything could prepare the survivor session: its first GCs give their
        // survivors through MONITOR_GC (whose heap walk the tracer ends at its first object: one a GC). After a GC the
        // tracer starts the session on a thread of its own; the runtime's event source builds its manifest there
        // (thousands of objects), and none of it is recorded. The GCs after that take their survivors from the events,
        // MONITOR_GC off (no walk). Lifetimes stay exact on both sides of the switch.
        string capture = TracedTarget.TempCapture("startup-switch.memnb");
        var run = TracedTarget.Start("startup-switch", environment: new Dictionary<string, string> { ["MEMNB_OUTPUT"] = capture });
        Assert.True(run.ExitCode == 0, run.Stderr);
        Assert.True(run.Facts.GetProperty("switched").GetBoolean());
        Assert.InRange(run.Facts.GetProperty("walked_before").GetInt64(), 1, long.MaxValue);
        long gcs = run.Facts.GetProperty("gcs").GetInt64();
        Assert.Equal(10, gcs);
        Assert.Equal(0, run.Facts.GetProperty("walked").GetInt64());
        Assert.InRange(run.Facts.GetProperty("survivor_events").GetInt64(), gcs, long.MaxValue);
        Assert.Equal(0, run.Facts.GetProperty("unparsed").GetInt64());

        var stats = CaptureStats.Compute(capture);
        var payloads = stats.ByType.Single(t => t.Type == "MemNotebook.TestTarget.Payload");
        Assert.Equal(run.Facts.GetProperty("payloads").GetInt64(), payloads.Count);
        Assert.Equal(run.Facts.GetProperty("payloads_kept").GetInt64(), payloads.LeakedCount);
        var markers = stats.ByType.Single(t => t.Type == "MemNotebook.TestTarget.Marker");
        Assert.Equal(10 * 100 + 10, markers.Count);
        Assert.Equal(10, markers.LeakedCount);

        Assert.Equal(0, AllocationsUnder(capture, "EventSource.CreateManifestAndDescriptors"));
    }

    [Fact]
    public void A_process_that_ends_while_its_startup_switch_runs_ends_with_a_complete_capture()
    {
        // The startup switch holds the mask lock while the runtime's event source builds its manifest on the tracer's
        // thread; the runtime's shutdown stops the recording under the same lock. A process that ends right after the GC
        // that starts the switch must neither hang nor lose its capture, nor record the manifest.
        foreach (int delay in new[] { 0, 1, 2, 4, 6, 9, 12, 16, 20, 28 })
        {
            string capture = TracedTarget.TempCapture($"exit-after-gcs-{delay}.memnb");
            var run = TracedTarget.Start("exit-after-gcs", arguments: [delay.ToString(System.Globalization.CultureInfo.InvariantCulture)],
                environment: new Dictionary<string, string> { ["MEMNB_OUTPUT"] = capture });
            Assert.True(run.ExitCode == 0, $"delay {delay}: {run.Stderr}");
            var stats = CaptureStats.Compute(capture);
            Assert.True(stats.Complete, $"delay {delay}");
            var markers = stats.ByType.Single(t => t.Type == "MemNotebook.TestTarget.Marker");
            Assert.Equal(20, markers.Count);
            Assert.Equal(20, markers.LeakedCount);
            Assert.Equal(0, AllocationsUnder(capture, "EventSource.CreateManifestAndDescriptors"));
        }
    }

    // Allocations with a frame of this function (a part of its name as reports print it) on their stacks.
    static int AllocationsUnder(string capture, string function)
    {
        var data = SymbolizedCapture.Load(capture);
        int count = 0;
        for (int r = 0; r < data.Allocations.Count; r++)
            if (data.StackFrames(data.Allocations.StackId.Span[r]).Any(f => f.Function.Contains(function, StringComparison.Ordinal)))
                count++;
        return count;
    }

    [Fact]
    public void The_first_recording_of_a_process_holds_only_the_programs_objects()
    {
        // The survivor events switch on the runtime's event provider, whose managed event source builds its manifest
        // (thousands of objects) and leaves reflection-emitted invokers that the finalizer thread finalizes during the
        // next GCs (a DestroyScout each, the finalizer thread's Thread and statics). Tracker.Start prepares all that
        // before the process's first recording begins: a region with two full GCs records the program's 1,000 arrays
        // and its 3 strings, on its own thread, and nothing else.
        string capture = TracedTarget.TempCapture("first-region.memnb");
        var run = TracedTarget.Start("bytes", capture);
        Assert.True(run.ExitCode == 0, run.Stderr);
        var stats = CaptureStats.Compute(capture);
        Assert.Equal(["System.Byte[] 1000", "System.String 3"], stats.ByType.Select(t => $"{t.Type} {t.Count}").Order().ToArray());
        Assert.Equal(1003, stats.TotalAllocations);
        Assert.Single(stats.Threads, t => t.Count > 0);
    }

    [Fact]
    public void A_native_abort_still_leaves_every_allocation_made_before_it()
    {
        string capture = TracedTarget.TempCapture("abort.memnb");
        var run = TracedTarget.Start("native-abort", environment: new Dictionary<string, string> { ["MEMNB_OUTPUT"] = capture });
        Assert.Equal(134, run.ExitCode);  // SIGABRT
        var data = CaptureData.Load(capture);
        Assert.False(data.Complete);
        var stats = CaptureStats.Compute(capture);
        Assert.Equal(50, stats.ByType.Single(t => t.Type == "MemNotebook.TestTarget.Marker").Count);
    }

    [Fact]
    public void Environment_exit_still_completes_the_capture()
    {
        string capture = TracedTarget.TempCapture("exit.memnb");
        var run = TracedTarget.Start("environment-exit", environment: new Dictionary<string, string> { ["MEMNB_OUTPUT"] = capture });
        Assert.Equal(5, run.ExitCode);
        var stats = CaptureStats.Compute(capture);
        Assert.True(stats.Complete);
        Assert.Equal(20, stats.ByType.Single(t => t.Type == "MemNotebook.TestTarget.Marker").Count);
    }

    [Fact]
    public void A_process_killed_by_fail_fast_leaves_a_readable_capture_without_end()
    {
        string capture = TracedTarget.TempCapture("failfast.memnb");
        var run = TracedTarget.Start("crash", environment: new Dictionary<string, string> { ["MEMNB_OUTPUT"] = capture });
        Assert.Equal(134, run.ExitCode);
        var data = CaptureData.Load(capture);
        Assert.False(data.Complete);
        Assert.True(data.Types.Count > 0);
    }

    [Fact]
    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    public void A_capture_is_readable_by_its_owner_only()
    {
        string capture = TracedTarget.TempCapture("private.memnb");
        var run = TracedTarget.Start("exit-code", environment: new Dictionary<string, string> { ["MEMNB_OUTPUT"] = capture });
        Assert.Equal(7, run.ExitCode);
        Assert.True(CaptureData.Load(capture).Complete);
        Assert.Equal(Storage.PrivateFiles.FileMode & ~Arrow.ArrowCacheTests.Umask(), File.GetUnixFileMode(capture));
    }
}
