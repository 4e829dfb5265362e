using System.Runtime.CompilerServices;
using MemNotebook.Testing;

namespace LimitSamples;

// Tests whose names end in _fails exceed their limit on purpose: they show what a failing limit says.
public class LimitTests
{
    private static readonly List<byte[]> Cache = new(100);

    [Fact]
    [LimitAllocatedBytes("5 MB")]
    public void Allocates_4_MB_under_a_5_MB_limit() => Fill(1000);

    [Fact]
    [LimitAllocatedBytes("1 MB")]
    public void Allocates_4_MB_under_a_1_MB_limit_fails() => Fill(1000);

    [Fact]
    [LimitLeaks("1 KB")]
    public async Task Leaks_ten_blocks_after_an_await_under_a_1_KB_leak_limit_fails()
    {
        await Task.Yield();
        AddToCache(10);
    }

    [Fact]
    [LimitPeakBytes("-1 MB")]
    public void Has_a_negative_limit_fails() { }

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
