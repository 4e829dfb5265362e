using System.Runtime.CompilerServices;
using MemNotebook.Testing;
using NUnit.Framework;

namespace LimitSamples;

// Tests whose names end in _fails exceed their limit on purpose: they show what a failing limit says.
public class LimitTests
{
    private static readonly List<byte[]> Cache = new(100);

    [Test]
    public void Allocates_4_MB_under_a_5_MB_limit()
    {
        using var limit = MemoryLimits.Start(allocatedBytes: "5 MB");
        Fill(1000);
    }

    [Test]
    public void Allocates_4_MB_under_a_1_MB_limit_fails() => MemoryLimits.Check(() => Fill(1000), allocatedBytes: "1 MB");

    [Test]
    public async Task Leaks_ten_blocks_after_an_await_under_a_1_KB_leak_limit_fails()
    {
        using var limit = MemoryLimits.Start(leaks: "1 KB");
        await Task.Yield();
        AddToCache(10);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void Fill(int count)
    {
        for (var i = 0; i < count; i++)
            GC.KeepAlive(new byte[4096]);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void AddToCache(int count)
    {
        for (var i = 0; i < count; i++)
            Cache.Add(new byte[1000]);
    }
}
