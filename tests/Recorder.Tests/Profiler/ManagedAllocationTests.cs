using MemNotebook.Recorder.Analysis;
using MemNotebook.Recorder.Format;
using MemNotebook.Recorder.Tests.Capture;
using Xunit;

namespace MemNotebook.Recorder.Tests.Profiler;

// Each test starts tests/TestTarget with the tracer loaded and checks the capture against
// what the program did, exactly.
public class ManagedAllocationTests
{
    static int[] RowsOfType(CaptureData data, string type)
    {
        var rows = new List<int>();
        var types = data.Allocations.TypeIndex.Span;
        for (int i = 0; i < data.Allocations.Count; i++)
            if (data.TypeName(types[i]) == type) rows.Add(i);
        return rows.ToArray();
    }

    static string InnermostFunction(CaptureData data, int row) =>
        data.StackFrames(data.Allocations.StackId.Span[row]).First().Function;

    [Fact]
    public void A_thousand_byte_arrays_are_a_thousand_records_of_the_runtime_size_freed_only_when_dropped()
    {
        string capture = TracedTarget.TempCapture("bytes.memnb");
        var run = TracedTarget.Start("bytes", capture);
        Assert.True(run.ExitCode == 0, run.Stderr);
        long allocatedBytes = run.Facts.GetProperty("allocated_bytes").GetInt64();
        Assert.Equal(1000, run.Facts.GetProperty("alive_after_first_gc").GetInt32());

        var data = SymbolizedCapture.Load(capture);
        Assert.True(data.Complete);
        var rows = RowsOfType(data, "System.Byte[]");
        Assert.Equal(1000, rows.Length);
        Assert.All(rows, r => Assert.Equal(4096 + 24, data.Allocations.Size.Span[r]));
        Assert.All(rows, r => Assert.Equal("MemNotebook.TestTarget.Scenarios.FillBytes", InnermostFunction(data, r)));
        // The recorded bytes of the region equal the runtime's own count for the thread.
        Assert.Equal(allocatedBytes, rows.Sum(r => data.Allocations.Size.Span[r]));

        // Two induced GCs: none freed by the first (rooted), all by the second (dropped).
        Assert.Equal(2, data.GcEvents.Count);
        Assert.All(data.GcEvents, gc =>
        {
            Assert.True(gc.IsInduced);
            Assert.Equal(0b11111, gc.Generations);  // gen0, gen1, gen2, LOH, POH
            Assert.True(gc.PauseNs > 0 && gc.PauseNs < gc.EndNs, $"pause {gc.PauseNs}");
        });
        // Both GCs started with the 1,000 arrays alive (freed only in the second): the peak.
        long arrays = 1000 * 4120L;
        Assert.InRange(data.GcEvents[0].LiveBytesAtStart, arrays, arrays + 4096);
        Assert.InRange(data.GcEvents[1].LiveBytesAtStart, arrays, arrays + 4096);
        Assert.InRange(CaptureStats.Compute(capture).PeakBytes, arrays, arrays + 4096);
        long secondGcEnd = data.GcEvents[1].EndNs!.Value;
        Assert.All(rows, r => Assert.Equal(secondGcEnd, data.Allocations.FreeTimeNs.Span[r]));
    }

    [Fact]
    public void The_benchmarks_floor_records_with_a_recordings_masks_but_keeps_no_allocation_and_no_gc()
    {
        // MEMNB_FLOOR=1 (bench/, the "floor" row): the allocation and GC callbacks return at once, so the
        // runtime does all a recording makes it do and the tracer nothing. The program runs as always.
        string capture = TracedTarget.TempCapture("floor.memnb");
        var run = TracedTarget.Start("bytes", capture, new Dictionary<string, string> { ["MEMNB_FLOOR"] = "1" });
        Assert.True(run.ExitCode == 0, run.Stderr);
        Assert.Equal(1000, run.Facts.GetProperty("alive_after_first_gc").GetInt32());

        var data = SymbolizedCapture.Load(capture);
        Assert.True(data.Complete);
        Assert.Equal(0, data.Allocations.Count);
        Assert.Empty(data.GcEvents);
    }

    [Fact]
    public void Sizes_of_twenty_thousand_objects_of_every_shape_add_up_to_the_runtimes_count()
    {
        string capture = TracedTarget.TempCapture("sizes.memnb");
        var run = TracedTarget.Start("sizes", capture);
        Assert.True(run.ExitCode == 0, run.Stderr);
        // Past the checks against the runtime, sizes come from the type layout: still exact.
        Assert.True(run.Facts.GetProperty("reads_sizes_directly").GetBoolean());
        var data = SymbolizedCapture.Load(capture);
        var sizes = data.Allocations.Size.Span;
        long recorded = 0;
        int count = 0;
        for (int r = 0; r < data.Allocations.Count; r++)
        {
            if (!data.StackFrames(data.Allocations.StackId.Span[r]).Any(f => f.Function == "MemNotebook.TestTarget.Scenarios.FillShapes")) continue;
            recorded += sizes[r];
            count++;
        }
        Assert.Equal(run.Facts.GetProperty("allocated_bytes").GetInt64(), recorded);
        Assert.Equal(run.Facts.GetProperty("objects").GetInt32(), count);
    }

    [Fact]
    public void Survivors_of_compacting_gcs_stay_tracked_and_die_when_later_dropped()
    {
        string capture = TracedTarget.TempCapture("compact.memnb");
        var run = TracedTarget.Start("compact", capture);
        Assert.True(run.ExitCode == 0, run.Stderr);
        var data = SymbolizedCapture.Load(capture);
        var rows = RowsOfType(data, "MemNotebook.TestTarget.Survivor");
        Assert.Equal(10000, rows.Length);
        Assert.Equal(4, data.GcEvents.Count);
        long firstGcEnd = data.GcEvents[0].EndNs!.Value, lastGcEnd = data.GcEvents[3].EndNs!.Value;
        var free = data.Allocations.FreeTimeNs.Span;
        // Every odd object was garbage at once; the first 2500 kept ones were dropped
        // after three compacting GCs had moved them; the other 2500 are still alive.
        for (int i = 0; i < rows.Length; i++)
        {
            long expected = i % 2 == 1 ? firstGcEnd : i / 2 < 2500 ? lastGcEnd : -1;
            Assert.True(expected == free[rows[i]], $"Survivor #{i}: freed at {free[rows[i]]}, expected {expected}");
        }
        var stats = CaptureStats.Compute(capture);
        var survivor = stats.ByType.Single(t => t.Type == "MemNotebook.TestTarget.Survivor");
        Assert.Equal(2500, survivor.LeakedCount);
        Assert.Equal(2500 * 40, survivor.LeakedBytes);
    }

    [Fact]
    public void Memory_snapshots_every_ten_milliseconds_follow_the_live_bytes()
    {
        string capture = TracedTarget.TempCapture("timeline.memnb");
        var run = TracedTarget.Start("timeline", capture);
        Assert.True(run.ExitCode == 0, run.Stderr);
        long elapsedMs = run.Facts.GetProperty("elapsed_ms").GetInt64();
        var data = SymbolizedCapture.Load(capture);
        var snapshots = data.Snapshots;
        // One every 10 ms (the writer may be a little late, never early).
        Assert.InRange(snapshots.Count, (int)(elapsedMs / 10) / 2, (int)(elapsedMs / 10) + 3);
        Assert.All(snapshots.Zip(snapshots.Skip(1)), pair => Assert.True(pair.Second.TimeNs > pair.First.TimeNs));
        Assert.All(snapshots.Zip(snapshots.Skip(1)), pair => Assert.True(pair.Second.TrackedLiveBytes >= pair.First.TrackedLiveBytes));
        var last = snapshots[^1];
        Assert.True(last.TrackedLiveBytes >= 30L * ((1 << 20) + 24), $"tracked {last.TrackedLiveBytes}");
        // Fresh GC memory is not resident until touched, so RSS is no upper bound of it;
        // a running .NET process is always well above 10 MiB.
        Assert.All(snapshots, s => Assert.True(s.RssBytes > 10 << 20, $"rss {s.RssBytes}"));
    }

    [Fact]
    public void Sixteen_threads_of_a_hundred_thousand_allocations_are_exactly_one_million_six_hundred_thousand_records()
    {
        string capture = TracedTarget.TempCapture("threads.memnb");
        var run = TracedTarget.Start("threads", capture);
        Assert.True(run.ExitCode == 0, run.Stderr);
        var stats = CaptureStats.Compute(capture);
        var payload = stats.ByType.Single(t => t.Type == "MemNotebook.TestTarget.Payload");
        Assert.Equal(1_600_000, payload.Count);
        Assert.Equal(1_600_000L * 24, payload.Bytes);
        var workers = stats.Threads.Where(t => t.Name?.StartsWith("worker-", StringComparison.Ordinal) == true).ToList();
        Assert.Equal(16, workers.Count);
        Assert.All(workers, w => Assert.True(w.Count >= 100_000, $"{w.Name}: {w.Count}"));
        Assert.Equal(Enumerable.Range(0, 16).Select(i => $"worker-{i}").Order(), workers.Select(w => w.Name!).Order());

        // A 100,000-iteration loop, and still the whole stack (on-stack replacement is off,
        // as memnb run sets it): the lambda, then the thread's start.
        var data = SymbolizedCapture.Load(capture);
        var payloadStacks = new HashSet<int>();
        var types = data.Allocations.TypeIndex.Span;
        var stacks = data.Allocations.StackId.Span;
        for (int r = 0; r < data.Allocations.Count; r++)
            if (data.TypeName(types[r]) == "MemNotebook.TestTarget.Payload") payloadStacks.Add(stacks[r]);
        Assert.All(payloadStacks, id =>
        {
            var frames = data.StackFrames(id).Select(f => f.Function).ToArray();
            Assert.Equal(2, frames.Length);
            Assert.StartsWith("MemNotebook.TestTarget.Scenarios+<>c__DisplayClass", frames[0]);
            Assert.EndsWith(".<Threads>b__0", frames[0]);
            Assert.Equal("System.Threading.Thread.StartCallback", frames[1]);
        });
    }

    [Fact]
    public void A_region_records_nothing_outside_itself()
    {
        string capture = TracedTarget.TempCapture("region.memnb");
        var run = TracedTarget.Start("region", capture);
        Assert.True(run.ExitCode == 0, run.Stderr);
        var stats = CaptureStats.Compute(capture);
        Assert.Equal(10, stats.TotalAllocations);
        var marker = Assert.Single(stats.ByType);
        Assert.Equal("MemNotebook.TestTarget.Marker", marker.Type);
        Assert.Equal(10 * 24, marker.Bytes);
    }

    [Fact]
    public void A_stack_64_calls_deep_keeps_every_frame_in_order()
    {
        string capture = TracedTarget.TempCapture("deep-stack.memnb");
        var run = TracedTarget.Start("deep-stack", capture);
        Assert.True(run.ExitCode == 0, run.Stderr);
        var data = SymbolizedCapture.Load(capture);
        var rows = RowsOfType(data, "MemNotebook.TestTarget.StackProbe");
        Assert.Equal(65, rows.Length);
        // Allocated on the way back: level 0 first, 64 Recurse frames above it; level 64 last, one.
        for (int level = 0; level <= 64; level++)
        {
            var frames = data.StackFrames(data.Allocations.StackId.Span[rows[level]]).Select(f => f.Function).ToArray();
            var expected = new List<string> { "MemNotebook.TestTarget.Scenarios.AllocateAtLevel" };
            expected.AddRange(Enumerable.Repeat("MemNotebook.TestTarget.Scenarios.Recurse", 65 - level));
            expected.Add("MemNotebook.TestTarget.Scenarios.DeepStack");
            expected.Add("MemNotebook.TestTarget.Scenarios.Main");
            Assert.Equal(expected, frames);
        }
    }

    [Fact]
    public void A_loop_moved_to_optimized_code_while_it_runs_keeps_its_callers()
    {
        // On-stack replacement on (memnb run turns it off; a process it did not start, or one
        // started otherwise, keeps it), with the lowest thresholds so the loop moves early.
        string capture = TracedTarget.TempCapture("osr-loop.memnb");
        var run = TracedTarget.Start("osr-loop", capture, new Dictionary<string, string>
        {
            ["DOTNET_TC_OnStackReplacement"] = "1",
            ["DOTNET_TC_QuickJitForLoops"] = "1",
            ["DOTNET_OSR_HitLimit"] = "1",
            ["DOTNET_TC_OnStackReplacement_InitialCounter"] = "10",
        });
        Assert.True(run.ExitCode == 0, run.Stderr);
        Assert.Equal(20_000L * 19_999 / 2 + 1, run.Facts.GetProperty("sum").GetInt64());
        var data = SymbolizedCapture.Load(capture);
        var rows = RowsOfType(data, "MemNotebook.TestTarget.Scenarios+OsrProbe");
        Assert.Equal(20_000, rows.Length);
        string[] expected =
        [
            "MemNotebook.TestTarget.Scenarios.OsrHot", "MemNotebook.TestTarget.Scenarios.OsrOuter",
            "MemNotebook.TestTarget.Scenarios.OsrLoop", "MemNotebook.TestTarget.Scenarios.Main",
        ];
        var hotCode = new HashSet<ulong>();
        foreach (int row in rows)
        {
            var frames = data.StackFrames(data.Allocations.StackId.Span[row]).ToArray();
            Assert.Equal(expected, frames.Select(f => f.Function).ToArray());
            hotCode.Add(frames[0].Ip);
        }
        // The loop ran in its tier-0 code first and in the optimized code after the move.
        Assert.True(hotCode.Count >= 2, $"OsrHot's allocations came from {hotCode.Count} code address(es): no move seen");
    }

    [Fact]
    public void A_caller_that_changes_beyond_repeating_inner_frames_is_seen_at_every_allocation()
    {
        string capture = TracedTarget.TempCapture("changing-callers.memnb");
        var run = TracedTarget.Start("changing-callers", capture);
        Assert.True(run.ExitCode == 0, run.Stderr);
        var data = SymbolizedCapture.Load(capture);
        var rows = RowsOfType(data, "MemNotebook.TestTarget.Scenarios+CallerProbe");
        Assert.Equal(4000, rows.Length);
        const string Scenarios = "MemNotebook.TestTarget.Scenarios.";
        string[] Expected(params string[] callers) =>
            new[] { "Leaf", "Mid" }.Concat(callers).Append("CallMany").Concat(Enumerable.Repeat("Deepen", 17)).Append("ChangingCallers").Append("Main")
                .Select(f => Scenarios + f).ToArray();
        var expected = new[] { Expected("ViaA"), Expected("ViaB"), Expected("ViaA"), Expected("ViaB", "Relay") };
        var stackIds = data.Allocations.StackId.Span;
        var stackOf = new int[4];
        for (int i = 0; i < rows.Length; i++)
        {
            int stack = stackIds[rows[i]];
            if (i < 4)
            {
                Assert.Equal(expected[i], data.StackFrames(stack).Select(f => f.Function).ToArray());
                stackOf[i] = stack;
            }
            else
            {
                Assert.True(stack == stackOf[i % 4], $"allocation {i}: stack {stack}, expected {stackOf[i % 4]}");
            }
        }
        // ViaA from two call sites: two stacks with the same names, told apart by the return address.
        Assert.Equal(4, stackOf.Distinct().Count());
    }

    [Fact]
    public void Eight_million_distinct_stacks_are_all_recorded_whole()
    {
        // A tree of depth 22: 8,388,607 nodes, each allocated under its own path of Grow frames.
        string capture = TracedTarget.TempCapture("stack-tree.memnb");
        var run = TracedTarget.Start("stack-tree", capture, arguments: ["22"]);
        Assert.True(run.ExitCode == 0, run.Stderr);
        var data = SymbolizedCapture.Load(capture);
        Assert.Equal(0, data.End!.Value.Dropped);
        var rows = RowsOfType(data, "MemNotebook.TestTarget.Scenarios+TreeNode");
        Assert.Equal((1 << 23) - 1, rows.Length);
        // Frames per stack from the node table (parent before child: ids grow down a path).
        var nodes = data.StackNodes;
        var depth = new int[nodes.Count + 1];
        var growFrames = new int[nodes.Count + 1];
        foreach (var node in nodes)
        {
            depth[node.Id] = depth[node.ParentId] + 1;
            bool grow = data.Frames.TryGetValue(node.Ip, out var frame) && frame.Function == "MemNotebook.TestTarget.Scenarios.Grow";
            growFrames[node.Id] = growFrames[node.ParentId] + (grow ? 1 : 0);
        }
        var stackIds = data.Allocations.StackId.Span;
        var distinct = new HashSet<int>();
        var byGrowFrames = new long[24];
        foreach (int row in rows)
        {
            int stack = stackIds[row];
            distinct.Add(stack);
            Assert.Equal(growFrames[stack] + 2, depth[stack]);  // Grow frames, StackTree, Main
            byGrowFrames[growFrames[stack]]++;
        }
        Assert.Equal(rows.Length, distinct.Count);
        for (int k = 1; k <= 23; k++) Assert.Equal(1L << (k - 1), byGrowFrames[k]);  // 2^(k-1) nodes k calls deep
    }

    [Fact]
    public void Two_threads_allocating_flat_out_on_two_cores_lose_no_record()
    {
        string capture = TracedTarget.TempCapture("busy.memnb");
        var run = TracedTarget.Start("busy-threads", capture);
        Assert.True(run.ExitCode == 0, run.Stderr);
        var stats = CaptureStats.Compute(capture);
        Assert.Equal(0, stats.Dropped);
        Assert.Equal(4_000_000, stats.ByType.Single(t => t.Type == "MemNotebook.TestTarget.Payload").Count);
        Assert.Equal(4_000_000, stats.ByType.Single(t => t.Type == "MemNotebook.TestTarget.Marker").Count);
        Assert.Equal(4_000_000L * 24, stats.ByType.Single(t => t.Type == "MemNotebook.TestTarget.Marker").Bytes);
    }

    [Fact]
    public void Stacks_name_the_allocating_method_and_its_callers_in_order()
    {
        string capture = TracedTarget.TempCapture("stack.memnb");
        var run = TracedTarget.Start("stack", capture);
        Assert.True(run.ExitCode == 0, run.Stderr);
        var data = SymbolizedCapture.Load(capture);
        var rows = RowsOfType(data, "MemNotebook.TestTarget.StackProbe");
        Assert.Equal(100, rows.Length);
        var frames = data.StackFrames(data.Allocations.StackId.Span[rows[0]]).Take(4).Select(f => f.Function).ToArray();
        Assert.Equal(new[]
        {
            "MemNotebook.TestTarget.Scenarios.AllocateInNamedMethod",
            "MemNotebook.TestTarget.Scenarios.OuterCaller",
            "MemNotebook.TestTarget.Scenarios.Stack",
            "MemNotebook.TestTarget.Scenarios.Main",
        }, frames);
        var stats = CaptureStats.Compute(capture);
        var top = stats.TopFunctions.Single(f => f.Function == "MemNotebook.TestTarget.Scenarios.AllocateInNamedMethod");
        Assert.Equal(100, top.Count);
        Assert.Equal(100 * 24, top.Bytes);
    }

    [Fact]
    public void The_tracer_is_available_only_in_a_process_started_with_it()
    {
        Assert.True(TracedTarget.Start("status").Facts.GetProperty("available").GetBoolean());
        Assert.False(TracedTarget.Start("status", withTracer: false).Facts.GetProperty("available").GetBoolean());
    }
}
