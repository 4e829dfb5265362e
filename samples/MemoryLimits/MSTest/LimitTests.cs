using System.Runtime.CompilerServices;
using MemNotebook.Testing;
using Microsoft.VisualStudio.TestTools.UnitTesting;

[assembly: DoNotParallelize]

namespace LimitSamples;

// Tests whose names end in _fails exceed their limit on purpose: they show what a failing limit says.
[TestClass]
public class LimitTests
{
    private static readonly List<byte[]> Cache = new(100);

    [TestMethod]
    public void Allocates_4_MB_under_a_5_MB_limit()
    {
        var measured = MemoryLimits.Check(() => Fill(1000), allocatedBytes: "5 MB");
        Assert.AreEqual(4_120_000L, measured.AllocatedBytes);
        Assert.AreEqual(1_000L, measured.AllocatedCount);
    }

    [TestMethod]
    public void Allocates_4_MB_under_a_1_MB_limit_fails()
    {
        using var limit = MemoryLimits.Start(allocatedBytes: "1 MB");
        Fill(1000);
    }

    [TestMethod]
    public Task Leaks_ten_blocks_after_an_await_under_a_1_KB_leak_limit_fails() => MemoryLimits.CheckAsync(async () =>
    {
        await Task.Yield();
        AddToCache(10);
    }, leaks: "1 KB");

    [TestMethod]
    public void Has_a_limit_that_does_not_parse_fails() => MemoryLimits.Check(() => Fill(1), allocatedBytes: "24 MiBs");

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
