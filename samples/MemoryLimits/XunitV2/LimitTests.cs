using System.Runtime.CompilerServices;
using MemNotebook.Testing;

namespace LimitSamples;

// Tests whose names end in _fails exceed their limit on purpose: they show what a failing limit says.
public class LimitTests
{
    private static readonly List<byte[]> Cache = [];

    [Fact]
    [LimitAllocatedBytes("5 MB")]
    public void Allocates_4_MB_under_a_5_MB_limit() => Fill(1000);

    [Fact]
    [LimitAllocatedBytes("1 MB")]
    public void Allocates_4_MB_under_a_1_MB_limit_fails() => Fill(1000);

    [Fact]
    [LimitPeakBytes("1 MB")]
    public void Holds_4_MB_at_once_under_a_1_MB_peak_fails()
    {
        var held = new byte[1000][];
        for (var i = 0; i < held.Length; i++)
            held[i] = new byte[4096];
        GC.KeepAlive(held);
    }

    [Fact]
    [LimitLeaks("1 KB")]
    public void Leaks_ten_blocks_under_a_1_KB_leak_limit_fails() => AddToCache(10);

    [Fact]
    [LimitLeaks("0 B")]
    public void Leaves_nothing_behind()
    {
        // Numbers from 1,000 on: the runtime keeps the string of each number below 300 it formats in a cache of its
        // own for the rest of the process, which would count against a 0 B leak limit (they stay reachable).
        var temporary = new List<string>();
        for (var i = 1000; i < 1100; i++)
            temporary.Add(i.ToString());
        GC.KeepAlive(temporary);
    }

    [Fact]
    [LimitAllocatedBytes("1 KB", Type = "System.String")]
    public void Counts_only_strings_when_filtered_by_type() => Fill(1000);

    [Fact]
    [LimitAllocatedBytes("24 MiBs")]
    public void Has_a_limit_that_does_not_parse_fails() { }

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
