using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Text.Json;
using MemNotebook.Recorder.Tracing;

namespace MemNotebook.TestTarget;

public sealed class Payload
{
    public long Value;
}

public sealed class Marker
{
    public int Id;
}

public sealed class StackProbe
{
    public int Id;
}

public sealed class Survivor
{
    public long A, B, C;
}

public sealed record Order(int Id, string Customer, int Amount);

public static class Scenarios
{
    static readonly Dictionary<string, object?> Facts = new();

    public static int Main(string[] args)
    {
        if (args.Length == 0)
        {
            Console.Error.WriteLine("usage: MemNotebook.TestTarget SCENARIO [CAPTURE]");
            return 2;
        }
        string scenario = args[0];
        string? capture = args.Length > 1 ? args[1] : null;
        switch (scenario)
        {
            case "bytes": Bytes(capture!, aggregate: args.Length > 2 && args[2] == "aggregate"); break;
            case "compact": Compact(capture!); break;
            case "threads": Threads(capture!); break;
            case "region": Region(capture!); break;
            case "gc-modes": GcModes(capture!); break;
            case "heap-walk": HeapWalk(capture!); break;
            case "startup-switch": StartupSwitch(); break;
            case "exit-after-gcs": ExitAfterGcs(int.Parse(args[1])); break;
            case "deep-stack": DeepStack(capture!); break;
            case "osr-loop": OsrLoop(capture!); break;
            case "stack-tree": StackTree(capture!, int.Parse(args[2])); break;
            case "changing-callers": ChangingCallers(capture!); break;
            case "busy-threads": BusyThreads(capture!); break;
            case "sizes": Sizes(capture!); break;
            case "timeline": Timeline(capture!); break;
            case "stack": Stack(capture!); break;
            case "prolog-call": PrologCall(capture!); break;
            case "frameless-library-call": FramelessLibraryCall(capture!); break;
            case "frameless-jit-call": FramelessJitCall(capture!); break;
            case "linq": Linq(capture!); break;
            case "script": ScriptCells.Run(capture!, Facts); break;
            case "script-cells": ScriptCells.RunSeveral(capture!, Facts); break;
            case "status": Facts["available"] = Tracker.IsAvailable; break;
            case "spawn-child": SpawnChild(); break;
            case "child-env": ChildEnv(); break;
            case "whole-process": WholeProcess(); break;
            case "loop-tier": LoopTier(); break;
            case "crash": Crash(); break;
            case "native-abort": NativeAbort(); break;
            case "native-allocators": NativeScenarios.Allocators(capture!, Facts); break;
            case "native-late-load": NativeScenarios.LateLoad(capture!, Facts); break;
            case "native-cycles": NativeScenarios.Cycles(capture!, Facts); break;
            case "native-gc": NativeScenarios.GcAndThreadExit(capture!, Facts); break;
            case "native-whole-process": NativeScenarios.WholeProcess(Facts); break;
            case "named-threads": NamedThreads(); break;
            case "native-without-profiler": NativeScenarios.WithoutProfiler(capture!, Facts); break;
            case "native-peak": NativeScenarios.Peak(capture!, Facts); break;
            case "attach-target": return AttachTarget.Run();
            case "exit-code": return 7;
            case "live-markers": return LiveMarkers();
            case "environment-exit": EnvironmentExit(); break;
            default:
                Console.Error.WriteLine($"unknown scenario {scenario}");
                return 2;
        }
        Console.WriteLine(JsonSerializer.Serialize(Facts));
        return 0;
    }

    static TrackerOptions Exact => new() { CollectBeforeStop = false, Overwrite = true };

    // 1,000 byte[4096]: rooted through one GC, then dropped and collected.
    static void Bytes(string capture, bool aggregate)
    {
        var roots = new byte[1000][];
        var tracker = Tracker.Start(capture, Exact with { Aggregate = aggregate });
        long allocated = FillBytes(roots);
        GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
        int alive = CountAlive(roots);
        Array.Clear(roots);
        GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
        tracker.Stop();
        Facts["allocated_bytes"] = allocated;
        Facts["alive_after_first_gc"] = alive;
    }

    // 30 MiB kept over ~300 ms: the memory snapshots (every 10 ms) follow it.
    static void Timeline(string capture)
    {
        var keep = new List<byte[]>();
        var tracker = Tracker.Start(capture, Exact);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        for (int i = 0; i < 30; i++)
        {
            keep.Add(new byte[1 << 20]);
            Thread.Sleep(10);
        }
        Facts["elapsed_ms"] = clock.ElapsedMilliseconds;
        tracker.Stop();
        GC.KeepAlive(keep);
    }

    // Many more objects than the tracer compares with the runtime's own size, of every
    // shape: arrays of several element sizes and lengths, strings, plain objects.
    static void Sizes(string capture)
    {
        var keep = new object[20_000];
        // Warm up first: the first calls resolve lazily and may create frozen string
        // literals, which the runtime's byte count leaves out.
        FillShapes(new object[100]);
        var tracker = Tracker.Start(capture, Exact);
        long allocated = FillShapes(keep);
        tracker.Stop();
        Facts["allocated_bytes"] = allocated;
        Facts["reads_sizes_directly"] = Tracker.ReadsSizesDirectly;
        // new string('x', 0) is string.Empty: no allocation.
        Facts["objects"] = keep.Count(o => !ReferenceEquals(o, string.Empty));
        GC.KeepAlive(keep);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    static long FillShapes(object[] keep)
    {
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < keep.Length; i++)
        {
            keep[i] = (i % 5) switch
            {
                0 => new byte[i % 977],
                1 => new long[i % 131],
                2 => new string('x', i % 313),
                3 => new Marker { Id = i },
                _ => new Survivor[i % 17],
            };
        }
        return GC.GetAllocatedBytesForCurrentThread() - before;
    }

    // Separate methods, so no stack slot of the caller keeps an array reachable.
    [MethodImpl(MethodImplOptions.NoInlining)]
    static long FillBytes(byte[][] roots)
    {
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < roots.Length; i++) roots[i] = new byte[4096];
        return GC.GetAllocatedBytesForCurrentThread() - before;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    static int CountAlive(byte[][] roots)
    {
        int alive = 0;
        foreach (var r in roots) if (r is not null) alive++;
        return alive;
    }

    // Survivors of compacting GCs move; they stay tracked and die when dropped.
    static void Compact(string capture)
    {
        var keep = new Survivor[5000];
        var tracker = Tracker.Start(capture, Exact);
        FillSurvivors(keep);
        GC.Collect(0, GCCollectionMode.Forced, blocking: true, compacting: true);
        GC.Collect(1, GCCollectionMode.Forced, blocking: true, compacting: true);
        GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
        long sum = SumSurvivors(keep);
        Array.Clear(keep, 0, 2500);
        GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
        tracker.Stop();
        GC.KeepAlive(keep);
        Facts["sum"] = sum;
    }

    // In their own frames, so no register or stack slot of Compact keeps a Survivor alive.
    [MethodImpl(MethodImplOptions.NoInlining)]
    static void FillSurvivors(Survivor[] keep)
    {
        for (int i = 0; i < 10000; i++)
        {
            var s = new Survivor { A = i };
            if (i % 2 == 0) keep[i / 2] = s;
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    static long SumSurvivors(Survivor[] keep)
    {
        long sum = 0;
        foreach (var s in keep) sum += s.A;
        return sum;
    }

    static void Threads(string capture)
    {
        const int threadCount = 16, perThread = 100_000;
        var threads = new Thread[threadCount];
        using var ready = new Barrier(threadCount + 1);
        for (int t = 0; t < threadCount; t++)
        {
            threads[t] = new Thread(() =>
            {
                ready.SignalAndWait();
                ready.SignalAndWait();
                for (int i = 0; i < perThread; i++) Sink = new Payload { Value = i };
            }) { Name = $"worker-{t}" };
            threads[t].Start();
        }
        ready.SignalAndWait();
        var tracker = Tracker.Start(capture, Exact);
        ready.SignalAndWait();
        foreach (var th in threads) th.Join();
        tracker.Stop();
        Facts["threads"] = threadCount;
    }

    public static object? Sink;

    // Recorded as a whole process (memnb run, with or without --native): a named main thread and three named
    // workers, each allocating managed objects and a native block.
    static unsafe void NamedThreads()
    {
        Thread.CurrentThread.Name = "named-main";
        var workers = Enumerable.Range(0, 3).Select(i => new Thread(() =>
        {
            for (int n = 0; n < 1000; n++) Sink = new Payload { Value = n };
            System.Runtime.InteropServices.NativeMemory.Free(System.Runtime.InteropServices.NativeMemory.Alloc(4321));
        }) { Name = $"named-worker-{i}" }).ToList();
        workers.ForEach(t => t.Start());
        workers.ForEach(t => t.Join());
        Facts["workers"] = workers.Count;
    }

    // Only the 10 Markers inside the region are recorded.
    static void Region(string capture)
    {
        for (int i = 0; i < 100; i++) Sink = new Payload { Value = i };
        var markers = new Marker[10];
        var tracker = Tracker.Start(capture, Exact);
        for (int i = 0; i < markers.Length; i++) markers[i] = new Marker { Id = i };
        tracker.Stop();
        for (int i = 0; i < 100; i++) Sink = new Payload { Value = i };
        GC.KeepAlive(markers);
    }

    // Loaded without recording, then a region: no GC runs in the background (a background
    // GC reports no survivors), and the region sees its dead objects freed.
    static void GcModes(string capture)
    {
        var keep = new List<object>();
        for (int round = 0; round < 20; round++)
        {
            for (int i = 0; i < 100_000; i++) keep.Add(new byte[100]);
            if (round % 5 == 4) keep.Clear();
            GC.Collect(2, GCCollectionMode.Default, blocking: false);
        }
        Facts["background_gcs"] = GC.GetGCMemoryInfo(GCKind.Background).Index;
        var tracker = Tracker.Start(capture, Exact);
        AllocateUnreachable(1000);
        GC.Collect();
        tracker.Stop();
        GC.KeepAlive(keep);
    }

    // 200,000 objects alive in gen2, then ten gen0 GCs while recording, each with 100 dead arrays and
    // one that survives (TenGcsWithASurvivorEach).
    static void HeapWalk(string capture)
    {
        var keep = new object[200_000];
        for (int i = 0; i < keep.Length; i++) keep[i] = new byte[24];
        GC.Collect();
        GC.Collect();
        var tracker = Tracker.Start(capture, Exact);
        var kept = TenGcsWithASurvivorEach(() => AllocateUnreachable(100), _ => new byte[4096]);
        tracker.Stop();
        GC.KeepAlive(keep);
        GC.KeepAlive(kept);
    }

    // Ten gen0 GCs, each after `unreachable` and with one object of `survivor` kept through it, and what the runtime
    // showed the tracer of them: objects of a post-GC heap walk (memnb_heap_walk_objects) and survivor events
    // (memnb_survivor_counters: moved-range events, surviving-range events, ranges, unparsed events).
    static unsafe T[] TenGcsWithASurvivorEach<T>(Action unreachable, Func<int, T> survivor)
    {
        var walked = (delegate* unmanaged<ulong>)TracerExport("memnb_heap_walk_objects");
        var survivors = (delegate* unmanaged<ulong*, void>)TracerExport("memnb_survivor_counters");
        var before = stackalloc ulong[4];
        var after = stackalloc ulong[4];
        ulong walkedBefore = walked();
        survivors(before);
        int gcs = GC.CollectionCount(0);
        var kept = new T[10];
        for (int i = 0; i < kept.Length; i++)
        {
            unreachable();
            kept[i] = survivor(i);
            GC.Collect(0, GCCollectionMode.Forced, blocking: true);
        }
        Facts["gcs"] = GC.CollectionCount(0) - gcs;
        Facts["walked"] = walked() - walkedBefore;
        survivors(after);
        Facts["survivor_events"] = after[0] - before[0] + after[1] - before[1];
        Facts["unparsed"] = after[3] - before[3];
        return kept;
    }

    // An export of the tracer the runtime loaded as this process's profiler.
    static nint TracerExport(string name) =>
        System.Runtime.InteropServices.NativeLibrary.GetExport(
            System.Runtime.InteropServices.NativeLibrary.Load(Environment.GetEnvironmentVariable("CORECLR_PROFILER_PATH")!), name);

    // Recorded from startup (MEMNB_OUTPUT, as memnb run records): the survivors come from MONITOR_GC's callbacks until
    // the tracer's startup switch has started the survivor session on a thread of its own, after a GC, then from the
    // survivor events (memnb_survivor_events_in_use). Before: rounds of ten Payloads, the first of each kept, and a
    // gen0 GC. After: ten gen0 GCs with 100 unreachable Markers and one kept each, what the heap-walk scenario counts.
    static unsafe void StartupSwitch()
    {
        var inUse = (delegate* unmanaged<int>)TracerExport("memnb_survivor_events_in_use");
        var walked = (delegate* unmanaged<ulong>)TracerExport("memnb_heap_walk_objects");
        var keptPayloads = new List<Payload>();
        int payloads = 0;
        var clock = Stopwatch.StartNew();
        while (inUse() == 0 && clock.ElapsedMilliseconds < 20_000)
        {
            for (int i = 0; i < 10; i++)
            {
                var payload = new Payload { Value = payloads++ };
                if (i == 0) keptPayloads.Add(payload);
            }
            GC.Collect(0, GCCollectionMode.Forced, blocking: true);
            Thread.Sleep(1);
        }
        Facts["switched"] = inUse() == 1;
        Facts["payloads"] = payloads;
        Facts["payloads_kept"] = keptPayloads.Count;
        Facts["walked_before"] = walked();
        var kept = TenGcsWithASurvivorEach(() => AllocateUnreachableMarkers(100), i => new Marker { Id = i });
        GC.KeepAlive(keptPayloads);
        GC.KeepAlive(kept);
    }

    // Recorded from startup: a GC, 25 ms (the writer names the runtime's event source meanwhile), a second GC (the
    // tracer's startup switch begins after it: 7-26 ms on its own thread), then the process ends after `delay` ms,
    // while the switch may still be under way.
    static void ExitAfterGcs(int delay)
    {
        var markers = new Marker[20];
        for (int i = 0; i < markers.Length; i++) markers[i] = new Marker { Id = i };
        GC.Collect();
        Thread.Sleep(25);
        GC.Collect();
        if (delay > 0) Thread.Sleep(delay);
        GC.KeepAlive(markers);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    static void AllocateUnreachableMarkers(int count)
    {
        for (int i = 0; i < count; i++) Sink = new Marker { Id = i };
        Sink = null;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    static void AllocateUnreachable(int count)
    {
        var arrays = new byte[count][];
        for (int i = 0; i < count; i++) arrays[i] = new byte[4096];
    }

    public sealed class OsrProbe
    {
        public int Id;
    }

    static OsrProbe? osrSink;

    // A loop moved to optimized code while it runs (on-stack replacement: the test starts this
    // scenario with it on and its thresholds low). The optimized frame's record holds the caller's
    // frame pointer but, as its return address, the tier-0 code's call to the patchpoint helper:
    // followed as is, the chain lists OsrHot twice and skips OsrOuter.
    static void OsrLoop(string capture)
    {
        var tracker = Tracker.Start(capture, Exact);
        long sum = OsrOuter(20_000);
        tracker.Stop();
        Facts["sum"] = sum;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    static long OsrOuter(int count) => OsrHot(count) + 1;

    [MethodImpl(MethodImplOptions.NoInlining)]
    static long OsrHot(int count)
    {
        long sum = 0;
        for (int i = 0; i < count; i++)
        {
            osrSink = new OsrProbe { Id = i };
            sum += osrSink.Id;
        }
        return sum;
    }

    // 64 recursive frames under the scenario, then one allocation per level on the way back.
    static void DeepStack(string capture)
    {
        var keep = new StackProbe[65];
        var tracker = Tracker.Start(capture, Exact);
        Recurse(64, keep);
        tracker.Stop();
        GC.KeepAlive(keep);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    static void Recurse(int level, StackProbe[] keep)
    {
        if (level > 0) Recurse(level - 1, keep);
        keep[level] = AllocateAtLevel(level);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    static StackProbe AllocateAtLevel(int level) => new StackProbe { Id = level };

    public sealed class CallerProbe
    {
        public int Id;
    }

    // Allocations whose inner frames (Leaf, Mid) repeat at the same stack addresses while a
    // caller further out changes from one allocation to the next: ViaA from two call sites,
    // ViaB, and ViaB under Relay. The tracer's walk reuses what it read of the previous stack
    // only where every frame record is unchanged; each caller must be seen.
    // Under 17 Deepen frames: the walk reuses records only on stacks that deep (frame_walker.h, kDeepRecords).
    static void ChangingCallers(string capture)
    {
        var keep = new CallerProbe[4000];
        var tracker = Tracker.Start(capture, Exact);
        Deepen(16, keep);
        tracker.Stop();
        GC.KeepAlive(keep);
    }

    static int s_levels;

    [MethodImpl(MethodImplOptions.NoInlining)]
    static void Deepen(int level, CallerProbe[] keep)
    {
        if (level > 0)
        {
            Deepen(level - 1, keep);
            s_levels++;  // after the call: not a tail call
        }
        else
        {
            CallMany(keep);
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    static void CallMany(CallerProbe[] keep)
    {
        for (int i = 0; i < keep.Length; i++)
        {
            switch (i % 4)
            {
                case 0: keep[i] = ViaA(i); break;
                case 1: keep[i] = ViaB(i); break;
                case 2: keep[i] = ViaA(i); break;
                default: keep[i] = Relay(i); break;
            }
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    static CallerProbe ViaA(int id) => Mid(id);

    [MethodImpl(MethodImplOptions.NoInlining)]
    static CallerProbe ViaB(int id) => Mid(id);

    [MethodImpl(MethodImplOptions.NoInlining)]
    static CallerProbe Relay(int id) => ViaB(id);

    // Not tail calls: the frames stay on the stack.
    [MethodImpl(MethodImplOptions.NoInlining)]
    static CallerProbe Mid(int id)
    {
        var probe = Leaf(id);
        s_sink = probe;
        return probe;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    static CallerProbe Leaf(int id)
    {
        var probe = new CallerProbe { Id = id };
        s_sink = probe;
        return probe;
    }

    static object? s_sink;

    public sealed class TreeNode
    {
        public TreeNode? Left, Right;
    }

    // A binary tree built recursively: every node's stack is its path from the root, so
    // 2^(depth+1) - 1 allocations with as many distinct stacks.
    static void StackTree(string capture, int depth)
    {
        var tracker = Tracker.Start(capture, Exact);
        var root = Grow(depth);
        tracker.Stop();
        GC.KeepAlive(root);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    static TreeNode Grow(int depth)
    {
        var node = new TreeNode();
        if (depth > 0)
        {
            node.Left = Grow(depth - 1);
            node.Right = Grow(depth - 1);
        }
        return node;
    }

    // Two threads allocating as fast as they can on 2 cores while the writer keeps up.
    static void BusyThreads(string capture)
    {
        const int perThread = 4_000_000;
        var tracker = Tracker.Start(capture, Exact);
        var threads = new[] { new Thread(() => BusyLoop(perThread, 1)), new Thread(() => BusyLoop(perThread, 2)) };
        foreach (var t in threads) t.Start();
        foreach (var t in threads) t.Join();
        tracker.Stop();
        Facts["per_thread"] = perThread;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    static void BusyLoop(int count, int kind)
    {
        object? last = null;
        for (int i = 0; i < count; i++) last = kind == 1 ? new Payload { Value = i } : new Marker { Id = i };
        GC.KeepAlive(last);
    }

    static void Stack(string capture)
    {
        var keep = new StackProbe[100];
        var tracker = Tracker.Start(capture, Exact);
        OuterCaller(keep);
        tracker.Stop();
        GC.KeepAlive(keep);
    }

    // A LINQ pipeline as in an application: Select/ToList whose lambda allocates at two
    // depths (an Order, and its string through the interpolation handler), then
    // Where/GroupBy/Select/OrderByDescending/ToList. Warmed up first so that what is recorded
    // runs optimized code. Inside the recorded run the two lambdas take the runtime's own
    // stack trace once: the frames every allocation made there must show, in order.
    static void Linq(string capture)
    {
        for (int round = 0; round < 60; round++)
        {
            LinqPipeline(500);
            if (round % 10 == 9) Thread.Sleep(200);  // lets the background JIT tier the methods up
        }
        TraceAt = 5_000;
        var tracker = Tracker.Start(capture, Exact);
        int groups = LinqPipeline(20_000);
        tracker.Stop();
        Facts["groups"] = groups;
        Facts["select_trace"] = RuntimeFrames(SelectTrace!);
        Facts["group_trace"] = RuntimeFrames(GroupTrace!);
    }

    static int TraceAt = -1;
    static StackTrace? SelectTrace, GroupTrace;

    [MethodImpl(MethodImplOptions.NoInlining)]
    static int LinqPipeline(int count)
    {
        var random = new Random(42);
        var orders = Enumerable.Range(0, count).Select(i =>
        {
            if (i == TraceAt) SelectTrace = new StackTrace();
            return new Order(i, $"customer-{random.Next(200)}", random.Next(1, 500));
        }).ToList();
        int seen = 0;
        var report = orders.Where(o => o.Amount > 50).GroupBy(o =>
            {
                if (++seen == TraceAt) GroupTrace = new StackTrace();
                return o.Customer;
            })
            .Select(g => new { Customer = g.Key, Total = g.Sum(o => o.Amount) })
            .OrderByDescending(x => x.Total).ToList();
        return report.Count;
    }

    // "Namespace.Type+Nested`1.Method", as the tracer names managed frames, innermost first.
    static string[] RuntimeFrames(StackTrace trace) =>
        trace.GetFrames().Select(f => f.GetMethod()!).Select(m =>
        {
            var type = m.DeclaringType!;
            if (type.IsGenericType) type = type.GetGenericTypeDefinition();
            return type.FullName + "." + m.Name;
        }).ToArray();

    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void OuterCaller(StackProbe[] keep) => AllocateInNamedMethod(keep);

    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void AllocateInNamedMethod(StackProbe[] keep)
    {
        for (int i = 0; i < keep.Length; i++) keep[i] = new StackProbe { Id = i };
    }

    // Optimized code whose first statement allocates: the JIT's IL-to-native map of such code (measured on .NET 10)
    // has no entry for IL offset 0 and counts the first statement's code, its allocations included, in the prolog.
    static void PrologCall(string capture)
    {
        var keep = new object[100];
        var tracker = Tracker.Start(capture, Exact);
        for (int i = 0; i < 50; i++) keep[i] = FirstStatementAllocates(i + 1);
        for (int i = 50; i < 100; i++) keep[i] = FirstStatementAllocatesShared("x");
        tracker.Stop();
        GC.KeepAlive(keep);
        Facts["kept"] = keep.Count(k => k is not null);
    }

    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    static string[] FirstStatementAllocates(int n)
    {
        string[] items = new string[n];
        for (int i = 0; i < n; i++) items[i] = i.ToString();
        return items;
    }

    // Shared generic code: the first statement's type comes from a runtime lookup.
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    static List<T> FirstStatementAllocatesShared<T>(T item) where T : class
    {
        var list = new List<T>(4);
        list.Add(item);
        return list;
    }

    // ReadyToRun code without an RBP frame between an allocation and the user's method: with the runtime's cache of
    // small numbers' strings made before the recording (0.ToString()), each number not cached yet gets its string from
    // System.Private.CoreLib's local function CreateAndCacheString, which pushes no RBP (push r15; push r14; push rbx).
    static void FramelessLibraryCall(string capture)
    {
        Facts["warm"] = 0.ToString();
        var keep = new string[100];
        var tracker = Tracker.Start(capture, Exact);
        NumbersToStrings(keep, 150);
        tracker.Stop();
        Facts["kept"] = keep.Count(k => k is not null);
        Facts["first"] = keep[0];
    }

    // A loop keeps its RBP frame (the code generator omits it only in small methods without loops).
    [MethodImpl(MethodImplOptions.NoInlining)]
    static void NumbersToStrings(string[] into, int from)
    {
        for (int i = 0; i < into.Length; i++) into[i] = (from + i).ToString();
    }

    // JIT-compiled code without an RBP frame: the code generator gives none to optimized methods this small (no loop,
    // fewer than two calls), so two of them lie between each array and the loop that keeps it.
    static void FramelessJitCall(string capture)
    {
        var keep = new object[100];
        var tracker = Tracker.Start(capture, Exact);
        FramelessJitLoop(keep);
        tracker.Stop();
        Facts["kept"] = keep.Count(k => k is not null);
    }

    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    static void FramelessJitLoop(object[] into)
    {
        for (int i = 0; i < into.Length; i++) into[i] = FramelessJitMiddle(i);
    }

    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    static object FramelessJitMiddle(int i) => FramelessJitLeaf(i + 1);

    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    static object FramelessJitLeaf(int n) => new int[n & 15];

    // Started by `memnb run`: the whole process is recorded.
    static void WholeProcess()
    {
        var keep = new List<Marker>();
        for (int i = 0; i < 250; i++) keep.Add(new Marker { Id = i });
        Facts["markers"] = keep.Count;
        Facts["recording"] = Tracker.IsRecording;
    }

    // A method with a loop, called once, then the tier of the code the runtime made for it, as its perf map names it
    // (DOTNET_PerfMapEnabled=3 writes DOTNET_PerfMapJitDumpPath/perf-PID.map, a line per method it compiles, the tier
    // in brackets at the end of the name). The loop is short, so no on-stack replacement replaces it while it runs.
    static void LoopTier()
    {
        Facts["on_stack_replacement"] = Environment.GetEnvironmentVariable("DOTNET_TC_OnStackReplacement");
        Facts["quick_jit_for_loops"] = Environment.GetEnvironmentVariable("DOTNET_TC_QuickJitForLoops");
        Facts["sum"] = SumOfSquares(100);
        var map = Path.Combine(Environment.GetEnvironmentVariable("DOTNET_PerfMapJitDumpPath") ?? "/tmp", $"perf-{Environment.ProcessId}.map");
        Facts["loop_code"] = File.ReadLines(map).Where(l => l.Contains("Scenarios::SumOfSquares(", StringComparison.Ordinal))
            .Select(l => l[l.LastIndexOf('[')..]).ToArray();
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    static long SumOfSquares(int count)
    {
        long sum = 0;
        for (int i = 0; i < count; i++) sum += (long)i * i;
        return sum;
    }

    // memnb run --live: four rounds of 100 markers, 600 ms apart (so a view that reads once a second sees the
    // capture grow), the facts on stdout and exit code 9.
    static int LiveMarkers()
    {
        var keep = new List<Marker>();
        for (int round = 0; round < 4; round++)
        {
            for (int i = 0; i < 100; i++) keep.Add(new Marker { Id = i });
            Thread.Sleep(600);
        }
        Facts["markers"] = keep.Count;
        Console.WriteLine(JsonSerializer.Serialize(Facts));
        return 9;
    }

    static void EnvironmentExit()
    {
        var keep = new Marker[20];
        for (int i = 0; i < keep.Length; i++) keep[i] = new Marker { Id = i };
        Environment.Exit(5);
    }

    static void Crash()
    {
        var keep = new Marker[50];
        for (int i = 0; i < keep.Length; i++) keep[i] = new Marker { Id = i };
        Environment.FailFast("crash scenario");
    }

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "abort")]
    static extern void LibcAbort();

    // A native library aborting the process (an assert in C code).
    static void NativeAbort()
    {
        var keep = new Marker[50];
        for (int i = 0; i < keep.Length; i++) keep[i] = new Marker { Id = i };
        LibcAbort();
    }

    static void SpawnChild()
    {
        var psi = new ProcessStartInfo(Environment.ProcessPath!)
        {
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        foreach (string a in Environment.GetCommandLineArgs().Length > 0 && Environment.ProcessPath!.EndsWith("dotnet")
                     ? new[] { typeof(Scenarios).Assembly.Location, "child-env" }
                     : new[] { "child-env" })
            psi.ArgumentList.Add(a);
        using var child = Process.Start(psi)!;
        string output = child.StandardOutput.ReadToEnd();
        child.WaitForExit();
        Facts["child"] = JsonSerializer.Deserialize<Dictionary<string, JsonElement>>(output);
        Facts["parent_available"] = Tracker.IsAvailable;
    }

    static void ChildEnv()
    {
        Facts["profiling_variable"] = Environment.GetEnvironmentVariable("CORECLR_ENABLE_PROFILING");
        // Every variable that loads or configures the tracer, as this process got them.
        Facts["tracer_variables"] = Environment.GetEnvironmentVariables().Keys.Cast<string>()
            .Where(n => n.StartsWith("CORECLR_", StringComparison.Ordinal) || n.StartsWith("MEMNB_", StringComparison.Ordinal)
                || n.Contains("PROFIL", StringComparison.Ordinal) || n is "DOTNET_STARTUP_HOOKS" or "DOTNET_gcConcurrent" or "DOTNET_TC_OnStackReplacement"
                    or "DOTNET_TC_QuickJitForLoops")
            .Order(StringComparer.Ordinal).ToArray();
        Facts["tracer_mapped"] = File.ReadLines("/proc/self/maps").Any(l => l.EndsWith("/libmemnb_tracer.so"));
    }
}
