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
