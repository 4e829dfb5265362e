using System.Runtime.CompilerServices;

namespace MemNotebook.Testing.Tests;

/// <summary>Allocations of known sizes: a byte[4096] takes 4,120 bytes in the GC heap (24 of header and length).</summary>
public static class Workloads
{
    public const int ArrayBytes = 4096 + 24;

    /// <summary>Where the leaking workloads keep their objects alive.</summary>
    public static readonly List<object> Kept = [];

    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void FillArrays(byte[][] into)
    {
        for (var i = 0; i < into.Length; i++)
            into[i] = new byte[4096];
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void LeakTenBlocks()
    {
        for (var i = 0; i < 10; i++)
            Kept.Add(new byte[1000]);
    }

    /// <summary>Allocates after its first await, so its continuation runs without the caller's frames on the stack.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static async Task<byte[]> AllocateAfterYieldAsync(int length)
    {
        await Task.Yield();
        return new byte[length];
    }
}

/// <summary>A worker of another class than the test's, started on a thread of its own.</summary>
public sealed class ThreadWorker
{
    public byte[]? Made;

    [MethodImpl(MethodImplOptions.NoInlining)]
    public void Run() => Made = new byte[20_000];
}
