using MemNotebook.Recorder.Format;
using MemNotebook.Recorder.Tests.Capture;

namespace MemNotebook.Recorder.Tests.Native;

/// <summary>
/// A native capture whose native high-water mark is known by hand (1 tick = 1 ns, time 0 at tick 10).
/// Native blocks, in time order across the two threads (stream 2 and 3):
/// <code>
/// t (ns)  event                                   native bytes alive
///   10    A  malloc   1,000        (stream 2)       1,000
///   15    B  mmap     8,192        (stream 3)       9,192
///   20    C  calloc   3,153        (stream 2)      12,345  ← the peak: A, B and C alive
///   25    free A                   (stream 3)      11,345
///   26    free of an unknown block (stream 3)      11,345  (matches nothing)
///   30    D  malloc     200        (stream 2)      11,545
///   35    munmap B                 (stream 2)       3,353
///   40    realloc C → E 5,000      (stream 3)       5,200  (C released first, then E)
///   45    F  malloc     700        (stream 2)       5,900
///   50    free D                   (stream 2)       5,700
/// </code>
/// Stream 3's chunk is written first, so a reader meets B and E (13,192 bytes) before A, C and the releases of
/// stream 2: only the time order gives 12,345. One managed object of 24 bytes (stream 2, t = 1) stays alive;
/// the one GC starts at 60 ns with those 24 bytes, so the managed peak is 24 bytes at 60 ns. Leaked: the
/// object, E and F (5,724 bytes).
/// </summary>
internal static class NativePeakCapture
{
    public const long NativePeakBytes = 12_345;
    public const long NativePeakTimeNs = 20;
    public const long ManagedPeakBytes = 24;

    public static TestCaptureWriter Create(bool withEnd = true)
    {
        var w = new TestCaptureWriter(flags: CaptureFormat.FlagNative);
        w.Chunk(0).Clock(10, 100).Type(0, 1, "System.Object")
            .Thread(2, 99, 1).Thread(3, 98, 0).Write();
        w.Chunk(3)
            .NativeAlloc(25, 9, 8192, 0, 0x10_0000)      // B
            .NativeFree(35, 1, 0xA000)                   // A, allocated by stream 2 (read later)
            .NativeFree(36, 1, 0xDEAD)                   // nothing recorded there
            .NativeFree(50, 1, 0xB000)                   // realloc of C: its release ...
            .NativeAlloc(50, 3, 5000, 0, 0xE000)         // ... and E
            .Write();
        w.Chunk(2)
            .Alloc(11, 0, 24, 0, 0x1000)                 // the managed object
            .NativeAlloc(20, 1, 1000, 0, 0xA000)         // A
            .NativeAlloc(30, 2, 3153, 0, 0xB000)         // C
            .NativeAlloc(40, 1, 200, 0, 0xC000)          // D
            .NativeFree(45, 2, 0x10_0000, 8192)          // munmap B
            .NativeAlloc(55, 1, 700, 0, 0xF000)          // F
            .NativeFree(60, 1, 0xC000)                   // D
            .Write();
        w.Chunk(1).GcStart(70, 0b1, 0, 1, 24).GcEnd(75, 1).Write();
        var last = w.Chunk(0).Clock(78, 168); // with the first: 1 tick = 1 ns
        if (withEnd)
            last.End(80, 1, 0, 24);
        last.Write();
        return w;
    }
}
