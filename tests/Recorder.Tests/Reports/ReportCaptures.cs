using MemNotebook.Recorder.Tests.Capture;

namespace MemNotebook.Recorder.Tests.Reports;

/// <summary>Captures with hand-computed report numbers (1 tick = 1 ns).</summary>
internal static class ReportCaptures
{
    /// <summary>A method of a type named like markup, with a comment opener and line separators in it.</summary>
    public const string MarkupMethod = "</script><script>alert(1)</script>.Run<!--\u2028\u2029-->";

    public const string MarkupType = "</script><script>alert(1)</script>";

    public const string Lambda = "App.Program+<>c.<Main>b__0_0";

    /// <summary>How reports show <see cref="Lambda"/>.</summary>
    public const string LambdaShown = "lambda in App.Program.Main";

    /// <summary>
    /// Stacks (innermost first): 1 Main; 2 Lambda ← Main; 3 Load ← Lambda ← Main; 4 Parse ← Main;
    /// 5 native_helper (native) ← Parse ← Main; 6 Load ← native_helper ← Parse ← Main; 7 MarkupMethod ← Lambda ← Main.
    /// Thread 100 "main": Big 1000 (stack 3, leaked) t=10, Markup 64 (7, leaked) t=20, String 24 (1) t=30.
    /// Thread 101: Big 2000 (6) t=15, String 40 (4) t=25, Markup 8 (no stack, leaked) t=35.
    /// GC 1 starts at 100 with 3136 live (the peak: those six) and frees String 24 and String 40;
    /// String 16 (1, leaked) on thread 100 at t=150; GC 2 starts at 200 with 3088 live and frees Big 2000.
    /// All: 7 allocations, 3152 bytes. Leaks: 4, 1088 bytes. Temporary(1): String 24; Temporary(2): + String 40.
    /// </summary>
    /// <param name="snapshots">With two memory snapshots (tracked live bytes 3136 at t=50, 3088 at t=500).</param>
    public static TestCaptureWriter Create(bool snapshots = false)
    {
        var w = new TestCaptureWriter();
        w.Chunk(0).Clock(0, 0)
            .Type(0, 1, "App.Big").Type(1, 2, MarkupType).Type(2, 3, "System.String")
            .StackNode(1, 0, 0x10).StackNode(2, 1, 0x20).StackNode(3, 2, 0x30).StackNode(4, 1, 0x50)
            .StackNode(5, 4, 0x40).StackNode(6, 5, 0x30).StackNode(7, 2, 0x60)
            .Frame(0x10, 0, "App.Main", "App.dll").Frame(0x20, 0, Lambda, "App.dll").Frame(0x30, 0, "App.Load", "App.dll")
            .Frame(0x40, 1, "native_helper", "libhelper.so").Frame(0x50, 0, "App.Parse", "App.dll")
            .Frame(0x60, 0, MarkupMethod, "Emitted")
            .Thread(2, 100, 1).Thread(3, 101, 2).ThreadName(100, "main")
            .Write();
        w.Chunk(2).Alloc(10, 0, 1000, 3, 0x1000).Alloc(20, 1, 64, 7, 0x2000).Alloc(30, 2, 24, 1, 0x3000).Write();
        w.Chunk(3).Alloc(15, 0, 2000, 6, 0x4000).Alloc(25, 2, 40, 4, 0x5000).Alloc(35, 1, 8, 0, 0x6000).Write();
        w.Chunk(1).GcStart(100, 1, 0, 1, 3136).GcEnd(110, 1).Free(2, 2).Free(3, 1).Write();
        w.Chunk(2).Alloc(150, 2, 16, 1, 0x7000).Write();
        w.Chunk(1).GcStart(200, 4, 0, 2, 3088).GcEnd(210, 2).Free(3, 0).Write();
        if (snapshots)
            w.Chunk(0).Snapshot(50, 50, 1 << 20, 0, 0, 3136, 0, 0, 3136).Snapshot(500, 500, 1 << 20, 0, 0, 3088, 0, 0, 3088).Write();
        w.Chunk(0).Clock(1000, 1000).End(1000, 7, 3, 1088).Write();
        return w;
    }
}
