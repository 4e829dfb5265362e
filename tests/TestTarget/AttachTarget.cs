using System.Diagnostics;
using System.Runtime.CompilerServices;

namespace MemNotebook.TestTarget;

/// <summary>
/// A process for <c>memnb attach</c>, started without any profiler variables: it prints "ready PID", then runs
/// the commands it reads from stdin, one a line, answering each with one line:
/// "alloc N" allocates N byte[40] (64 bytes each on the GC heap) in <see cref="AllocateSmall"/> ("done N");
/// "large N" allocates N byte[100_000] (100,024 bytes each, LOH) in <see cref="AllocateLarge"/> ("done N");
/// "time N" times N allocations of byte[40] ("ns X.XX": nanoseconds per allocation);
/// "gc N" calls GC.Collect() N times ("collected N");
/// "exit" or the end of stdin ends it.
/// </summary>
public static class AttachTarget
{
    public static volatile object? Sink;

    public static int Run()
    {
        Console.Out.Flush();
        Console.WriteLine($"ready {Environment.ProcessId}");
        string? line;
        while ((line = Console.ReadLine()) is not null)
        {
            var words = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (words.Length == 0)
                continue;
            long n = words.Length > 1 ? long.Parse(words[1]) : 0;
            switch (words[0])
            {
                case "alloc": AllocateSmall(n); Console.WriteLine($"done {n}"); break;
                case "large": AllocateLarge(n); Console.WriteLine($"done {n}"); break;
                case "time": Console.WriteLine($"ns {Time(n):F2}"); break;
                case "gc":
                    for (var i = 0; i < n; i++)
                        GC.Collect();
                    Console.WriteLine($"collected {n}");
                    break;
                case "exit": return 0;
                default: Console.WriteLine($"unknown {words[0]}"); break;
            }
        }
        return 0;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void AllocateSmall(long count)
    {
        for (long i = 0; i < count; i++)
            Sink = new byte[40];
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void AllocateLarge(long count)
    {
        for (long i = 0; i < count; i++)
            Sink = new byte[100_000];
    }

    /// <summary>The best of five runs of <paramref name="count"/> / 5 allocations, in ns per allocation.</summary>
    private static double Time(long count)
    {
        var best = double.MaxValue;
        for (var round = 0; round < 5; round++)
        {
            var watch = Stopwatch.StartNew();
            AllocateSmall(count / 5);
            best = Math.Min(best, watch.Elapsed.TotalNanoseconds / (count / 5));
        }
        return best;
    }
}
