using MemNotebook.Recorder.Analysis;
using MemNotebook.Recorder.Format;
using MemNotebook.Recorder.Symbols;
using MemNotebook.Recorder.Tests.Capture;
using Xunit;

namespace MemNotebook.Recorder.Tests.Native;

// NATIVE_ALLOC, NATIVE_FREE and MODULE as docs/capture-format.md describes them, read from
// hand-written captures (header flag bit 1).
public class NativeReaderTests
{
    const ushort NativeFlag = CaptureFormat.FlagNative;

    static TestCaptureWriter Base(ushort flags = NativeFlag)
    {
        var w = new TestCaptureWriter(flags: flags);
        w.Chunk(0).Clock(10, 100).Type(0, 1, "System.Object").StackNode(1, 0, 0x10).StackNode(2, 1, 0x20)
            .Thread(2, 99, 1).Thread(3, 98, 0).Module(0x7000_0000, 0x10000, "/lib/libx.so", "abcd").Write();
        return w;
    }

    static CaptureFormatException Reject(TestCaptureWriter w) =>
        Assert.Throws<CaptureFormatException>(() => RecordLog.Read(w.ToArray()));

    [Fact]
    public void Native_records_are_read_as_allocations_with_their_allocator_and_frees_matched_by_address()
    {
        var w = Base();
        w.Chunk(2).Alloc(20, 0, 24, 2, 0x1000).NativeAlloc(21, 1, 100, 1, 0x5000).NativeAlloc(22, 2, 91, 2, 0x6000)
            .NativeFree(23, 1, 0x5000).Write();
        w.Chunk(3).NativeFree(24, 1, 0x6000).NativeFree(25, 1, 0x9999).Write();
        var log = RecordLog.Read(w.ToArray());
        var lines = log.Lines;
        Assert.Contains("AllocationRecord { ThreadStream = 2, Sequence = 1, Ticks = 21, TypeIndex = -1, Size = 100, StackId = 1, Address = 20480 }", lines);
        Assert.Contains("AllocationRecord { ThreadStream = 2, Sequence = 2, Ticks = 22, TypeIndex = -2, Size = 91, StackId = 2, Address = 24576 }", lines);
        Assert.Contains("FreeRecord { ThreadStream = 2, Sequence = 1, Ticks = 23, GcIndex = -1 }", lines);
        // Freed from another thread; a free of a block allocated before recording matches nothing.
        Assert.Contains("FreeRecord { ThreadStream = 2, Sequence = 2, Ticks = 24, GcIndex = -1 }", lines);
        Assert.Equal(2, lines.Count(l => l.StartsWith("FreeRecord", StringComparison.Ordinal)));
        Assert.Contains("ModuleRecord { Path = /lib/libx.so, Base = 1879048192, Size = 65536, BuildId = abcd }", lines);
        Assert.Equal("[calloc]", log.Result!.Tables.TypeName(-2));
        Assert.Equal(new[] { 1, 2 }, log.Result.Tables.NativeStacks.Order());
    }

    [Fact]
    public void A_free_read_before_the_allocation_it_releases_waits_for_it_by_time()
    {
        // Thread 3 freed the block (t=30) that thread 2 allocated (t=25); thread 2's chunk comes later,
        // and thread 2 got the same address again at t=40.
        var w = Base();
        w.Chunk(3).NativeFree(30, 1, 0x5000).Write();
        w.Chunk(2).NativeAlloc(25, 1, 64, 0, 0x5000).NativeAlloc(40, 1, 64, 0, 0x5000).Write();
        w.Chunk(3).NativeFree(50, 1, 0x5000).Write();
        var frees = RecordLog.Read(w.ToArray()).Lines.Where(l => l.StartsWith("FreeRecord", StringComparison.Ordinal)).ToList();
        Assert.Equal(new[]
        {
            "FreeRecord { ThreadStream = 2, Sequence = 0, Ticks = 30, GcIndex = -1 }",
            "FreeRecord { ThreadStream = 2, Sequence = 1, Ticks = 50, GcIndex = -1 }",
        }, frees);
    }

    [Fact]
    public void A_free_releases_the_latest_block_at_its_address_when_an_earlier_release_was_not_seen()
    {
        // The block of t=20 was released inside libc (not through a hooked slot): two live blocks
        // at one address; the free of t=40 releases the one of t=30, the next free the older one.
        var w = Base();
        w.Chunk(2).NativeAlloc(20, 1, 64, 0, 0x5000).NativeAlloc(30, 1, 64, 0, 0x5000).NativeFree(40, 1, 0x5000)
            .NativeFree(50, 1, 0x5000).Write();
        var frees = RecordLog.Read(w.ToArray()).Lines.Where(l => l.StartsWith("FreeRecord", StringComparison.Ordinal)).ToList();
        Assert.Equal(new[]
        {
            "FreeRecord { ThreadStream = 2, Sequence = 1, Ticks = 40, GcIndex = -1 }",
            "FreeRecord { ThreadStream = 2, Sequence = 0, Ticks = 50, GcIndex = -1 }",
        }, frees);
    }

    [Fact]
    public void A_free_in_the_same_tick_as_its_allocation_releases_it_in_its_own_stream_only()
    {
        // The tracer never lets a stream's time go back (its thread moved to a core whose counter is behind), so
        // an allocation and its free in one stream can share a tick: read in that order there, the free follows it.
        // Across streams the same tick says nothing of the order: thread 3's free at t=30 is not taken to release
        // thread 2's block of t=30, which thread 2 frees itself at t=30 too; so is its mmap at t=40, unmapped at 40.
        var w = Base();
        w.Chunk(2).NativeAlloc(20, 1, 64, 0, 0x5000).NativeFree(20, 1, 0x5000).NativeAlloc(30, 1, 64, 0, 0x6000).Write();
        w.Chunk(3).NativeFree(30, 1, 0x6000).Write();
        w.Chunk(2).NativeFree(30, 1, 0x6000).NativeAlloc(40, 9, 4096, 0, 0x10000).NativeFree(40, 2, 0x10000, 4096).Write();
        var frees = RecordLog.Read(w.ToArray()).Lines.Where(l => l.StartsWith("FreeRecord", StringComparison.Ordinal)).ToList();
        Assert.Equal(new[]
        {
            "FreeRecord { ThreadStream = 2, Sequence = 0, Ticks = 20, GcIndex = -1 }",
            "FreeRecord { ThreadStream = 2, Sequence = 1, Ticks = 30, GcIndex = -1 }",
            "FreeRecord { ThreadStream = 2, Sequence = 2, Ticks = 40, GcIndex = -1 }",
        }, frees);
    }

    [Fact]
    public void An_mmap_region_is_freed_when_partial_unmaps_have_covered_all_of_it()
    {
        var w = Base();
        w.Chunk(2).NativeAlloc(20, 9, 3 * 4096, 0, 0x10000).NativeFree(21, 2, 0x11000, 4096).NativeFree(22, 2, 0x10000, 4096).Write();
        var data = SymbolizedCapture.Load(new MemoryStream(w.ToArray()), "t.memnb");
        Assert.False(data.Allocations.IsFreed(0));
        w.Chunk(2).NativeFree(23, 2, 0x12000, 4096).Write();
        data = SymbolizedCapture.Load(new MemoryStream(w.ToArray()), "t.memnb");
        Assert.True(data.Allocations.IsFreed(0));
        Assert.Equal(3 * 4096, data.Allocations.Size.Span[0]);
    }

    [Fact]
    public void Stats_charge_native_allocations_to_the_innermost_named_c_function_and_count_by_allocator()
    {
        var w = Base();
        w.Chunk(0).Frame(0x10, 0, "App.Main", "App.dll").Frame(0x20, 1, "c_leaf", "libx.so").Write();
        w.Chunk(2).Alloc(20, 0, 24, 1, 0x1000).NativeAlloc(21, 1, 100, 2, 0x5000).NativeAlloc(22, 9, 8192, 2, 0x8000)
            .NativeFree(23, 1, 0x5000).Write();
        w.Chunk(0).End(30, 1, 0, 24).Write();
        var collector = new StatsCollector();
        CaptureReader.Read(new MemoryStream(w.ToArray()), "t.memnb", collector);
        var stats = collector.Result;
        Assert.Equal(new[]
        {
            new AllocatorStats("mmap", 1, 8192),
            new AllocatorStats("malloc", 1, 100),
            new AllocatorStats("managed", 1, 24),
        }, stats.ByAllocator);
        Assert.Equal("c_leaf", stats.TopFunctions[0].Function);
        Assert.Equal(8292, stats.TopFunctions[0].Bytes);
        Assert.Equal("App.Main", stats.TopFunctions[1].Function);
        var top = stats.TopStacks[0];
        Assert.Equal(new[] { "c_leaf", "App.Main" }, top.Frames);
        Assert.Equal(2, top.Count);
        Assert.Equal(8292, top.Bytes);
        var text = StatsText.ToText(stats);
        Assert.Contains("Allocators\n    bytes  count  allocator\n  8.0 KiB      1  mmap\n    100 B      1  malloc\n     24 B      1  managed\n", text);
        var json = StatsJson.ToJson(stats);
        Assert.Contains("\"by_allocator\"", json);
        Assert.Contains("\"top_stacks\"", json);
    }

    [Fact]
    public void Native_records_without_the_header_flag_are_refused()
    {
        var w = new TestCaptureWriter();
        w.Chunk(0).Clock(10, 100).Thread(2, 99, 1).Write();
        w.Chunk(2).NativeAlloc(20, 1, 100, 0, 0x5000).Write();
        Assert.Contains("NATIVE_ALLOC in a capture without native allocations", Reject(w).Problem);

        w = new TestCaptureWriter();
        w.Chunk(0).Module(0x1000, 0x1000, "/lib/x.so").Write();
        Assert.Contains("MODULE in a capture without native allocations", Reject(w).Problem);

        w = new TestCaptureWriter(flags: CaptureFormat.FlagNative | CaptureFormat.FlagAggregated);
        var error = Reject(w);
        Assert.Equal(10, error.Offset);
    }

    [Fact]
    public void Bad_native_records_name_the_chunk_offset_and_the_problem()
    {
        (Action<TestCaptureWriter.ChunkBuilder> Write, string Problem)[] cases =
        [
            (c => c.NativeAlloc(20, 0, 100, 0, 0x5000), "bad allocator: 0"),
            (c => c.NativeAlloc(20, 10, 100, 0, 0x5000), "bad allocator: 10"),
            (c => c.NativeAlloc(20, 1, 1UL << 41, 0, 0x5000), "size out of range"),
            (c => c.NativeAlloc(20, 1, 100, 7, 0x5000), "undefined stack: stack id 7"),
            (c => c.NativeAlloc(20, 9, 0, 0, 0x5000), "bad mmap extent"),
            (c => c.NativeFree(20, 3, 0x5000), "bad release kind: 3"),
            (c => c.NativeFree(20, 1, 0x5000, 8), "bad free"),
            (c => c.NativeFree(20, 2, 0x5000, 0), "bad munmap extent"),
            (c => c.RawRecord(0x02, 0x01), "record runs past the end of its chunk"),
        ];
        foreach (var (write, problem) in cases)
        {
            var w = Base();
            var chunk = w.Chunk(2);
            write(chunk);
            chunk.Write();
            var error = Reject(w);
            Assert.Equal(w.Boundaries[1], error.Offset);
            Assert.Contains(problem, error.Problem);
        }
        var bad = Base();
        bad.Chunk(0).Module(0x1000, 0, "/lib/y.so").Write();
        Assert.Contains("bad module extent", Reject(bad).Problem);
    }

    [Fact]
    public void Native_frames_are_named_from_the_elf_symbol_table_of_their_module()
    {
        var library = NativeTarget.LibraryPath;
        Assert.True(File.Exists(library), library);
        var table = ElfSymbolTable.Load(library);
        Assert.True(table.Count > 5);
        // Unnamed frame at base + (symbol address + 5): resolved through the MODULE record.
        var symbols = ElfSymbolTable.Load(library);
        ulong leafAddress = FindSymbol(library, "memnb_test_chain_leaf");
        var w = Base();
        w.Chunk(0).Module(0x4000_0000, 0x100000, library).StackNode(3, 0, 0x4000_0000 + leafAddress + 5).Frame(0x4000_0000 + leafAddress + 5, 2, "").Write();
        var log = RecordLog.Read(w.ToArray());
        // The reader only reads: the frame stays unnamed until the caller composes it with the symbolizers.
        Assert.Equal(FrameKind.Unknown, log.Result!.Tables.Frame(0x4000_0000 + leafAddress + 5).Kind);
        CaptureSymbols.Resolve(log.Result.Tables);
        var frame = log.Result.Tables.Frame(0x4000_0000 + leafAddress + 5);
        Assert.Equal(FrameKind.Native, frame.Kind);
        Assert.Equal("memnb_test_chain_leaf", frame.Function);
        Assert.Equal("libmemnb_testnative.so", frame.Module);
        Assert.Equal("memnb_test_chain_leaf", symbols.FunctionAt(leafAddress));
        Assert.Same(ElfSymbolTable.Empty, ElfSymbolTable.Parse(new byte[100]));
    }

    static ulong FindSymbol(string library, string name)
    {
        // nm-free: scan candidate addresses through the table itself.
        var table = ElfSymbolTable.Load(library);
        for (ulong a = 0; a < 0x100000; a += 1)
            if (table.FunctionAt(a) == name)
                return a;
        throw new InvalidOperationException($"{name} not in {library}");
    }
}
