using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using MemNotebook.Recorder.Tracing;

namespace MemNotebook.TestTarget;

/// <summary>
/// Native allocation scenarios: libmemnb_testnative.so (native/tests/nativelib, path in
/// MEMNB_TESTNATIVE_PATH) called through function pointers while recording with the "native" option.
/// </summary>
public static unsafe class NativeScenarios
{
    static string LibraryPath => Environment.GetEnvironmentVariable("MEMNB_TESTNATIVE_PATH")
        ?? throw new InvalidOperationException("MEMNB_TESTNATIVE_PATH is not set");

    static TrackerOptions Native => new() { CollectBeforeStop = false, Overwrite = true, Native = true };

    static nint library;

    static nint Export(string name) => NativeLibrary.GetExport(library, name);

    // Every allocator once, a C call chain under named C# methods, C threads, a plugin dlopen-ed by
    // C while recording, and the runtime's own native allocation APIs.
    public static void Allocators(string capture, Dictionary<string, object?> facts)
    {
        library = NativeLibrary.Load(LibraryPath);
        var leaf = (delegate* unmanaged<int>)Export("memnb_test_leaf_allocators");
        var threads = (delegate* unmanaged<int, int, int>)Export("memnb_test_threads");
        var plugin = (delegate* unmanaged<int, int>)Export("memnb_test_dlopen_plugin");
        var tracker = Tracker.Start(capture, Native);
        facts["leaf"] = leaf();
        ManagedOuter();
        RepeatedCaller(100);
        InlinedCaller();
        facts["threads"] = threads(4, 1000);
        facts["plugin"] = plugin(50);
        nint hglobal = Marshal.AllocHGlobal(7777);
        Marshal.FreeHGlobal(hglobal);
        void* memory = NativeMemory.Alloc(5555);
        NativeMemory.Free(memory);
        void* aligned = NativeMemory.AlignedAlloc(4444, 64);
        NativeMemory.AlignedFree(aligned);
        tracker.Stop();
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void ManagedOuter() => ManagedCaller();

    // C: memnb_test_chain_outer -> memnb_test_chain_middle -> memnb_test_chain_leaf -> malloc(1234).
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void ManagedCaller()
    {
        var outer = (delegate* unmanaged<nuint, void*>)Export("memnb_test_chain_outer");
        var free = (delegate* unmanaged<void*, void>)Export("memnb_test_free");
        free(outer(1233));
    }

    // C: memnb_test_inlined_outer -> inlined_alloc (always inlined) -> malloc(3333).
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void InlinedCaller()
    {
        var outer = (delegate* unmanaged<nuint, void*>)Export("memnb_test_inlined_outer");
        var free = (delegate* unmanaged<void*, void>)Export("memnb_test_free");
        free(outer(3331));
    }

    // count × malloc(2222) through the C chain from one C# call site: one stack for all.
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void RepeatedCaller(int count)
    {
        var outer = (delegate* unmanaged<nuint, void*>)Export("memnb_test_chain_outer");
        var free = (delegate* unmanaged<void*, void>)Export("memnb_test_free");
        for (int i = 0; i < count; i++) free(outer(2221));
    }

    // The library is loaded (NativeLibrary.Load: the runtime's dlopen) after recording started.
    public static void LateLoad(string capture, Dictionary<string, object?> facts)
    {
        var tracker = Tracker.Start(capture, Native);
        library = NativeLibrary.Load(LibraryPath);
        var leak = (delegate* unmanaged<int, void>)Export("memnb_test_leak");
        leak(25);
        tracker.Stop();
        facts["loaded"] = true;
    }

    // A native block of 3,000,000 bytes kept alive across managed allocations and a GC, freed before the end: the
    // native peak holds at least its bytes, the managed peak none of them.
    public static void Peak(string capture, Dictionary<string, object?> facts)
    {
        var tracker = Tracker.Start(capture, Native);
        void* block = NativeMemory.Alloc(3_000_000);
        var kept = new List<byte[]>();
        for (var i = 0; i < 100; i++)
            kept.Add(new byte[1000]);
        GC.Collect();
        NativeMemory.Free(block);
        GC.KeepAlive(kept);
        tracker.Stop();
        facts["block"] = 3_000_000;
    }

    // Started by `memnb run --native`: the whole process is recorded, native allocations too.
    public static void WholeProcess(Dictionary<string, object?> facts)
    {
        library = NativeLibrary.Load(LibraryPath);
        var leak = (delegate* unmanaged<int, void>)Export("memnb_test_leak");
        leak(25);
        facts["leaked"] = 25;
    }

    // Started without the tracer as profiler: the packaged tracer is loaded as a plain library
    // and records native allocations only.
    public static void WithoutProfiler(string capture, Dictionary<string, object?> facts)
    {
        library = NativeLibrary.Load(LibraryPath);
        facts["available"] = Tracker.IsAvailable;
        var tracker = Tracker.Start(capture, Native);
        ManagedOuter();
        tracker.Stop();
        try
        {
            Tracker.Start(capture, Native with { Native = false }).Stop();
            facts["managed_refused"] = false;
        }
        catch (TracerException)
        {
            facts["managed_refused"] = true;
        }
    }

    // 100 recordings in a row, one C allocation of 78 bytes in each: CAPTURE.0 … CAPTURE.99.
    public static void Cycles(string capture, Dictionary<string, object?> facts)
    {
        library = NativeLibrary.Load(LibraryPath);
        var outer = (delegate* unmanaged<nuint, void*>)Export("memnb_test_chain_outer");
        var free = (delegate* unmanaged<void*, void>)Export("memnb_test_free");
        for (int i = 0; i < 100; i++)
        {
            var tracker = Tracker.Start($"{capture}.{i}", Native);
            free(outer(77));
            tracker.Stop();
        }
        // After the last stop the hooks are gone: this one is not recorded anywhere, and must not crash.
        free(outer(77));
        facts["cycles"] = 100;
    }

    // The runtime allocates natively during GCs, finalization and thread exit while hooks are in.
    public static void GcAndThreadExit(string capture, Dictionary<string, object?> facts)
    {
        var tracker = Tracker.Start(capture, Native);
        var keep = new List<object>();
        for (int round = 0; round < 20; round++)
        {
            var workers = Enumerable.Range(0, 4).Select(_ => new Thread(() =>
            {
                var local = new List<byte[]>();
                for (int i = 0; i < 2000; i++) local.Add(new byte[100 + i % 300]);
                GC.KeepAlive(local);
            })).ToList();
            workers.ForEach(t => t.Start());
            GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
            workers.ForEach(t => t.Join());
            keep.Add(new object());
            GC.Collect();
            GC.WaitForPendingFinalizers();
        }
        tracker.Stop();
        facts["rounds"] = 20;
        GC.KeepAlive(keep);
    }
}
