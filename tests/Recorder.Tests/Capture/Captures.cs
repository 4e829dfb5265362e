namespace MemNotebook.Recorder.Tests.Capture;

/// <summary>Small captures shared by reader, stats and CLI tests.</summary>
internal static class Captures
{
    /// <summary>
    /// Every record kind, stored and zstd chunks: meta (clock, types, stacks, frames, threads), a zstd
    /// thread chunk, a GC chunk with a free, a second thread chunk, a final meta chunk with END.
    /// </summary>
    public static TestCaptureWriter Small()
    {
        var w = new TestCaptureWriter();
        w.Chunk(0)
            .Clock(1000, 5_000_000)
            .Type(0, 0x7f00_1000, "System.String")
            .Type(1, 0x7f00_2000, "System.Byte[]", flags: 1)
            .StackNode(1, 0, 0x1000)
            .StackNode(2, 1, 0x2000)
            .Frame(0x1000, 0, "MyApp.Program.Main", "MyApp.dll", 0x10)
            .Frame(0x2000, 1, "memcpy", "libc.so.6", 0x20)
            .Thread(2, 777, 1)
            .ThreadName(777, "Main")
            .Write();
        w.Chunk(2)
            .Alloc(1100, 0, 32, 1, 0x10_0000)
            .Alloc(1150, 1, 1024, 2, 0x10_0020)
            .Alloc(1200, 0, 48, 2, 0x20_0000)
            .Write(zstd: true);
        w.Chunk(1)
            .Suspend(1300)
            .GcStart(1310, 0b1, 1, 1, 1104)
            .GcEnd(1390, 1, 100, 200, 300, 400, 500)
            .Free(2, 0, 2)
            .Resume(1400)
            .Write();
        w.Chunk(2)
            .Alloc(1500, 1, 16, 1, 0x30_0000)
            .Write();
        w.Chunk(0)
            .Snapshot(1600, 5_009_600, 8_000_000, 100, 200, 300, 400, 500, 1040)
            .Clock(2000, 5_016_000)
            .End(2000, 4, 2, 1040, 0)
            .Write(zstd: true);
        return w;
    }
}

internal static class StatsCapture
{
    /// <summary>
    /// The call tree of the stats workloads (this one and the aggregated one): stack nodes 1–8 over
    /// functions behind allocation machinery, a native frame, a runtime stub, a managed frame without a
    /// name and an ip without a FRAME record.
    /// </summary>
    public static TestCaptureWriter.ChunkBuilder StatsStacks(this TestCaptureWriter.ChunkBuilder meta) => meta
            .StackNode(1, 0, 0x100) // Main
            .StackNode(2, 1, 0x200) // FastAllocateString <- Main
            .StackNode(3, 2, 0x300) // native <- FastAllocateString <- Main
            .StackNode(4, 1, 0x400) // lambda <- Main
            .StackNode(5, 4, 0x500) // GC.AllocateUninitializedArray[T] <- lambda
            .StackNode(6, 5, 0x700) // runtime stub <- ...
            .StackNode(7, 0, 0x600) // managed frame without a name
            .StackNode(8, 0, 0x800) // ip without a FRAME record
            .Frame(0x100, 0, "MyApp.Program.Main", "MyApp.dll")
            .Frame(0x200, 0, "System.String.FastAllocateString", "System.Private.CoreLib.dll")
            .Frame(0x300, 1, "AllocateObject", "libcoreclr.so")
            .Frame(0x400, 0, "MyApp.Program+<>c.<Main>b__0_0", "MyApp.dll")
            .Frame(0x500, 0, "System.GC.AllocateUninitializedArray[System.Byte]", "System.Private.CoreLib.dll")
            .Frame(0x600, 0, "", "")
            .Frame(0x700, 2, "JIT_NewArr1", "");

    /// <summary>
    /// Known numbers (1 tick = 10 ns): 7 allocations, 5224 bytes; 4 freed (5130 bytes); 3 leaked (94
    /// bytes); peak 5204 (GC 1's live bytes); two GCs; functions behind machinery and native frames.
    /// </summary>
    public static TestCaptureWriter Create(bool withEnd = true)
    {
        var w = new TestCaptureWriter();
        w.Chunk(0)
            .Clock(1000, 1_000_000)
            .Type(0, 0x10, "System.String")
            .Type(1, 0x20, "System.Byte[]", 1)
            .Type(2, 0x30, "<script>alert(1)</script>")
            .StatsStacks()
            .Thread(2, 1001, 1)
            .Thread(3, 1002, 0)
            .ThreadName(1001, "Main thread")
            .Write();
        w.Chunk(2)
            .Alloc(1100, 0, 100, 3, 0x1000)
            .Alloc(1110, 0, 50, 2, 0x1100)
            .Alloc(1120, 1, 1000, 6, 0x2000)
            .Alloc(1130, 2, 24, 7, 0x3000)
            .Write();
        w.Chunk(3)
            .Alloc(1140, 1, 4000, 5, 0x9000)
            .Alloc(1150, 0, 30, 8, 0xA000)
            .Alloc(1160, 0, 20, 0, 0xB000)
            .Write(zstd: true);
        w.Chunk(1)
            .Suspend(1200)
            .GcStart(1210, 0b11, 0, 1, 5204)
            .GcEnd(1290, 1, 10, 20, 30, 40, 50)
            .Free(2, 0, 2)
            .Free(3, 1)
            .Resume(1300)
            .Suspend(1400)
            .GcStart(1410, 0b111, 1, 2, 4094)
            .GcEnd(1490, 2, 1, 2, 3, 4, 5)
            .Free(3, 0)
            .Resume(1500)
            .Write();
        var last = w.Chunk(0).Snapshot(50_000, 1_490_000, 9_000_000, 1, 2, 3, 4, 5, 94).Clock(101_000, 2_000_000);
        if (withEnd)
            last.End(101_000, 7, 4, 94, 0);
        last.Write();
        return w;
    }
}
