using MemNotebook.Recorder.Format;
using MemNotebook.Recorder.Tests.Capture;
using Xunit;
using static MemNotebook.Recorder.Tests.Native.NativeTarget;

namespace MemNotebook.Recorder.Tests.Native;

// tests/TestTarget's native scenarios call native/tests/nativelib while recording with the
// "native" option; each test checks the capture against what the C code did, exactly.
public class NativeAllocationTests
{
    static readonly Lazy<(CaptureData Data, Profiler.TracedTarget.Run Run)> AllocatorsRun = new(() =>
    {
        string capture = Profiler.TracedTarget.TempCapture("native.memnb");
        var run = Start("native-allocators", capture);
        return (SymbolizedCapture.Load(capture), run);
    });

    static CaptureData Allocators => AllocatorsRun.Value.Data;

    [Fact]
    public void Every_allocator_of_the_c_library_is_recorded_once_with_its_exact_size()
    {
        var data = Allocators;
        Assert.True(data.Complete);
        Assert.True(data.Header.HasNative);
        var rows = Rows(data, r => Functions(data, r).Contains("memnb_test_leaf_allocators")).ToList();
        var seen = rows.Select(r => (Allocator(data, r), data.Allocations.Size.Span[r])).OrderBy(x => x).ToList();
        var expected = new List<(string, long)>
        {
            ("aligned_alloc", 512), ("calloc", 91), ("malloc", 100), ("malloc", 984), ("memalign", 999), ("mmap", 3 * 4096),
            ("posix_memalign", 777), ("pvalloc", 4097), ("realloc", 5000), ("valloc", 1234),
        }.OrderBy(x => x).ToList();
        Assert.Equal(expected, seen);
        // All freed: eight free(), realloc's release of the first block, and the mmap region unmapped
        // in three partial munmaps. The PROT_NONE reservation is not a row.
        Assert.All(rows, r => Assert.True(data.Allocations.IsFreed(r), $"{Allocator(data, r)} not freed"));
    }

    [Fact]
    public void One_stack_holds_the_c_frames_then_the_csharp_callers_in_order()
    {
        var data = Allocators;
        var rows = Rows(data, r => Allocator(data, r) == "malloc" && data.Allocations.Size.Span[r] == 1234).ToList();
        var row = Assert.Single(rows);
        var names = Functions(data, row);
        int Index(string name) => names.FindIndex(n => n.EndsWith(name, StringComparison.Ordinal));
        Assert.Equal(0, Index("memnb_test_chain_leaf"));
        Assert.Equal(1, Index("memnb_test_chain_middle"));
        Assert.Equal(2, Index("memnb_test_chain_outer"));
        int caller = Index("NativeScenarios.ManagedCaller");
        int outer = Index("NativeScenarios.ManagedOuter");
        int main = Index("Scenarios.Main");
        Assert.True(caller > 2 && outer == caller + 1 && main > outer, string.Join(" <- ", names));
        Assert.True(data.Allocations.IsFreed(row));
    }

    [Fact]
    public void Repeated_allocations_from_one_call_site_share_one_whole_stack()
    {
        // The first walk learns the unwind rules and the thread's outermost managed frame; the
        // next 99 stop there and must give the very same stack.
        var data = Allocators;
        var rows = Rows(data, r => Allocator(data, r) == "malloc" && data.Allocations.Size.Span[r] == 2222).ToList();
        Assert.Equal(100, rows.Count);
        Assert.Single(rows.Select(r => data.Allocations.StackId.Span[r]).Distinct());
        var names = Functions(data, rows[0]);
        Assert.Equal(new[] { "memnb_test_chain_leaf", "memnb_test_chain_middle", "memnb_test_chain_outer" }, names.Take(3));
        int caller = names.FindIndex(n => n.EndsWith("NativeScenarios.RepeatedCaller", StringComparison.Ordinal));
        Assert.True(caller == 3, string.Join(" <- ", names));
        Assert.EndsWith("NativeScenarios.Allocators", names[4]);
        Assert.EndsWith("Scenarios.Main", names[^1]);
    }

    [Fact]
    public void Pthreads_created_in_c_while_recording_each_have_their_allocations_and_frees()
    {
        var data = Allocators;
        var rows = Rows(data, r => data.Allocations.Size.Span[r] == 211 && Allocator(data, r) == "malloc").ToList();
        var perThread = rows.GroupBy(r => data.Allocations.ThreadStream.Span[r]).ToList();
        Assert.Equal(4, perThread.Count);
        Assert.All(perThread, g => Assert.Equal(1000, g.Count()));
        // Each thread frees each block at once. One not marked freed is named with what tells a lost release
        // (a thread's last block: its final chunk) from a release matched to another block at the same address
        // (every native row at that address, of any thread, with its time and whether it was freed).
        var a = data.Allocations;
        var unfreed = perThread.SelectMany(g => g.Select((r, i) => (Row: r, Index: i))).Where(x => !a.IsFreed(x.Row)).Select(x =>
            $"stream {a.ThreadStream.Span[x.Row]} block {x.Index} of 1000 at 0x{a.Address.Span[x.Row]:X} t={a.TimestampNs.Span[x.Row]} ns; at that address: " +
            string.Join(", ", Enumerable.Range(0, a.Count).Where(r => a.Address.Span[r] == a.Address.Span[x.Row] && a.TypeIndex.Span[r] < 0)
                .Select(r => $"[stream {a.ThreadStream.Span[r]} t={a.TimestampNs.Span[r]} freed {a.FreeTimeNs.Span[r]}]"))).ToList();
        Assert.True(unfreed.Count == 0, $"{unfreed.Count} of 4,000 not freed: " + string.Join("; ", unfreed.Take(3)));
        Assert.All(rows.Take(10), r => Assert.Equal("memnb_test_chain_leaf", Functions(data, r)[0]));
    }

    [Fact]
    public void A_library_dlopened_by_c_code_after_start_is_found_through_its_callers_runpath_and_recorded()
    {
        var (data, run) = AllocatorsRun.Value;
        Assert.Equal(50, run.Facts.GetProperty("plugin").GetInt32());
        var rows = Rows(data, r => data.Allocations.Size.Span[r] == 4321).ToList();
        Assert.Equal(50, rows.Count);
        Assert.All(rows, r => Assert.Equal("memnb_plugin_allocate", Functions(data, r)[0]));
        Assert.Contains(data.ReadResult.Tables.Modules, m => m.Path.EndsWith("plugins/libmemnb_testplugin.so", StringComparison.Ordinal));
        Assert.Contains(data.ReadResult.Tables.Modules, m => m.Path.EndsWith("libmemnb_testnative.so", StringComparison.Ordinal) && m.BuildId.Length > 0);
    }

    [Fact]
    public void Marshal_AllocHGlobal_and_NativeMemory_allocations_are_seen_and_freed()
    {
        var data = Allocators;
        // Marshal.AllocHGlobal is NativeMemory.Alloc on Unix (the precompiled CoreLib tail-calls it).
        foreach (var (size, caller) in new[] { (7777L, "NativeMemory.Alloc"), (5555L, "NativeMemory.Alloc"), (4444L, "NativeMemory.AlignedAlloc") })
        {
            // The runtime rounds an aligned allocation up to a multiple of the alignment (aligned_alloc's rule).
            var rows = Rows(data, r => data.Allocations.Size.Span[r] >= size && data.Allocations.Size.Span[r] < size + 64
                && data.Allocations.TypeIndex.Span[r] < 0 && Functions(data, r).Any(f => f.EndsWith("NativeScenarios.Allocators", StringComparison.Ordinal))).ToList();
            var row = Assert.Single(rows);
            Assert.True(data.Allocations.IsFreed(row), $"{size} not freed");
            Assert.True(Functions(data, row).Any(f => f.Contains(caller, StringComparison.Ordinal)),
                $"stack {data.Allocations.StackId.Span[row]} row {row} ts {data.Allocations.ThreadStream.Span[row]} addr {data.Allocations.Address.Span[row]:X}: " + string.Join(" <- ", data.StackFrames(data.Allocations.StackId.Span[row]).Select(f => $"{f.Function}@{f.Module}+{f.Offset:X}/{f.Kind}/{f.Ip:X}")));
            Assert.Contains(Functions(data, row), f => f.EndsWith("NativeScenarios.Allocators", StringComparison.Ordinal));
        }
    }

    [Fact]
    public void A_library_loaded_by_the_runtime_after_recording_started_is_patched()
    {
        string capture = Profiler.TracedTarget.TempCapture("late.memnb");
        Start("native-late-load", capture);
        var data = SymbolizedCapture.Load(capture);
        var rows = Rows(data, r => data.Allocations.Size.Span[r] == 333 && Allocator(data, r) == "malloc").ToList();
        Assert.Equal(25, rows.Count);
        Assert.All(rows, r => Assert.False(data.Allocations.IsFreed(r)));
        Assert.All(rows, r => Assert.Equal("memnb_test_leak", Functions(data, r)[0]));
    }

    [Fact]
    public void Starting_and_stopping_native_recording_a_hundred_times_records_each_allocation_once()
    {
        string capture = Profiler.TracedTarget.TempCapture("cycles.memnb");
        var run = Start("native-cycles", capture);
        Assert.Equal(100, run.Facts.GetProperty("cycles").GetInt32());
        for (int i = 0; i < 100; i++)
        {
            var data = SymbolizedCapture.Load($"{capture}.{i}");
            Assert.True(data.Complete);
            var rows = Rows(data, r => data.Allocations.Size.Span[r] == 78 && Allocator(data, r) == "malloc").ToList();
            Assert.Single(rows);
            Assert.True(data.Allocations.IsFreed(rows[0]));
        }
    }

    [Fact]
    public void Native_recording_through_gcs_finalizers_and_thread_exits_does_not_deadlock()
    {
        string capture = Profiler.TracedTarget.TempCapture("gc.memnb");
        var run = Start("native-gc", capture);
        Assert.Equal(20, run.Facts.GetProperty("rounds").GetInt32());
        var data = SymbolizedCapture.Load(capture);
        Assert.True(data.Complete);
        Assert.True(data.GcEvents.Count >= 40);
        Assert.Contains(Rows(data, r => data.Allocations.TypeIndex.Span[r] < 0), r => true);
    }

    [Fact]
    public void Stats_count_by_allocator_and_name_c_functions_the_same_streamed_and_from_the_tables()
    {
        string capture = Profiler.TracedTarget.TempCapture("stats.memnb");
        Start("native-allocators", capture);
        var streamed = MemNotebook.Recorder.Analysis.CaptureStats.Compute(capture);
        var loaded = MemNotebook.Capture.Load(capture).Stats();
        Assert.Equal(MemNotebook.Recorder.Analysis.StatsJson.ToJson(streamed), MemNotebook.Recorder.Analysis.StatsJson.ToJson(loaded));
        var allocators = streamed.ByAllocator.ToDictionary(a => a.Allocator);
        Assert.True(allocators["managed"].Count > 0);
        Assert.Equal(1, allocators["valloc"].Count);
        Assert.Equal(1234, allocators["valloc"].Bytes);
        Assert.True(allocators["malloc"].Count >= 4000 + 50 + 3);
        // The C threads' 4,000 × 211 bytes are charged to the C function that called malloc.
        var leaf = Assert.Single(streamed.TopFunctions, f => f.Function == "memnb_test_chain_leaf");
        Assert.True(leaf.Count >= 4001 && leaf.Bytes >= 4000 * 211 + 1234, $"{leaf}");
        // Its biggest stack: leaf <- the static thread body (named from .symtab) <- libc's thread start.
        var threadStack = streamed.TopStacks.First(s => s.Frames[0] == "memnb_test_chain_leaf");
        Assert.Equal("thread_body", threadStack.Frames[1]);
        Assert.True(streamed.TopStacks.Count <= 20);
    }

    [Fact]
    public void Without_the_profiler_native_allocations_alone_are_recorded_with_c_frames_named()
    {
        string capture = Profiler.TracedTarget.TempCapture("plain.memnb");
        var run = Start("native-without-profiler", capture, withTracer: false);
        Assert.False(run.Facts.GetProperty("available").GetBoolean());
        Assert.True(run.Facts.GetProperty("managed_refused").GetBoolean());
        var data = SymbolizedCapture.Load(capture);
        Assert.True(data.Complete);
        Assert.All(Enumerable.Range(0, data.Allocations.Count), r => Assert.True(data.Allocations.TypeIndex.Span[r] < 0));
        var row = Assert.Single(Rows(data, r => data.Allocations.Size.Span[r] == 1234 && Allocator(data, r) == "malloc"));
        var names = Functions(data, row);
        Assert.Equal(new[] { "memnb_test_chain_leaf", "memnb_test_chain_middle", "memnb_test_chain_outer" }, names.Take(3));
        // The C# callers are there as addresses (no profiler to name them): at least ManagedCaller,
        // ManagedOuter, WithoutProfiler and Main.
        Assert.True(names.Count >= 7, string.Join(" <- ", names));
    }

    [Fact]
    public void The_arrow_allocations_table_names_every_allocator()
    {
        string capture = Profiler.TracedTarget.TempCapture("arrow.memnb");
        Start("native-allocators", capture);
        var loaded = MemNotebook.Capture.Load(capture);
        var column = loaded.Allocations["allocator"];
        var names = new HashSet<string>();
        for (long i = 0; i < column.Length; i++) names.Add((string)column[i]!);
        foreach (var name in CaptureFormat.AllAllocatorNames)
            Assert.Contains(name, names);
    }
}
