using System.Reflection;

namespace MemNotebook.Testing.Tests;

/// <summary>The xunit v2 attributes: real tests whose limits are exact to the byte (any byte of the runner counted fails them), and the failure path driven as xunit drives it.</summary>
public sealed class XunitAttributeTests
{
    private byte[][]? kept;

    [Fact]
    [LimitAllocatedBytes("41304 B")]
    [LimitPeakBytes("41304 B")]
    [LimitLeaks("41304 B")]
    public void Limits_exactly_at_the_tests_own_bytes_pass()
    {
        // 10 × 4,120 bytes and the array of 10 references (104 bytes): nothing of xunit's counts.
        kept = new byte[10][];
        Workloads.FillArrays(kept);
    }

    [Fact]
    [LimitAllocatedBytes("4120 B", Type = "System.Byte[]", Frame = "MemNotebook.Testing.Tests.XunitAttributeTests.MakeOne")]
    public void Filters_count_only_the_objects_they_name()
    {
        kept = new byte[10][];
        Workloads.FillArrays(kept);
        kept[0] = MakeOne();
    }

    private static byte[] MakeOne() => new byte[4096];

    [LimitAllocatedBytes("1 MB")]
    [LimitLeaks("1 KB")]
    internal static void LeaksTen() => Workloads.LeakTenBlocks();

    [LimitAllocatedBytes("24 MiBs")]
    internal static void BadSize() { }

    [Fact]
    public void A_leaking_method_fails_after_it_returns_with_the_leak_and_its_function()
    {
        Workloads.Kept.Clear();
        Workloads.Kept.Capacity = 100; // no growth of the list inside the test: its leaks are the ten blocks alone
        var method = typeof(XunitAttributeTests).GetMethod(nameof(LeaksTen), BindingFlags.NonPublic | BindingFlags.Static)!;
        var attributes = method.GetCustomAttributes<MemoryLimitAttribute>().ToArray();
        // Made before the test starts: a delegate made inside it would be the test's, and alive at its end.
        Action afterFirst = () => attributes[0].After(method);
        foreach (var a in attributes)
            a.Before(method);
        LeaksTen();
        // xunit calls After in the reverse order; the first attribute's After checks every limit of the test.
        attributes[1].After(method);
        // Caught without Assert.Throws: the measured window ends inside this call, and Assert.Throws allocates before
        // it calls (the exception type's RuntimeType the first time, a string): in the test's context, so the test's.
        MemoryLimitExceededException? caught = null;
        try
        {
            afterFirst();
        }
        catch (MemoryLimitExceededException exceeded)
        {
            caught = exceeded;
        }
        var e = Assert.IsType<MemoryLimitExceededException>(caught);
        Assert.StartsWith($"{typeof(XunitAttributeTests).FullName}.LeaksTen: [LimitLeaks(\"1 KB\")] exceeded: ", e.Message);
        Assert.Contains("allocated here:\n        MemNotebook.Testing.Tests.Workloads.LeakTenBlocks", e.Message);
        Assert.False(e.Measurement.Results[0].Exceeded);
        Assert.Equal((10L * 1024, 10L), (e.Measurement.Results[1].Measured, e.Measurement.Results[1].Count));
        Assert.Equal(10L * 1024, e.Measurement.Results[0].Measured);
        Workloads.Kept.Clear();
    }

    [Fact]
    public void A_size_that_does_not_parse_fails_naming_the_test_and_the_attribute()
    {
        var method = typeof(XunitAttributeTests).GetMethod(nameof(BadSize), BindingFlags.NonPublic | BindingFlags.Static)!;
        var e = Assert.Throws<MemoryLimitException>(() => method.GetCustomAttribute<MemoryLimitAttribute>()!.Before(method));
        Assert.Equal($"{typeof(XunitAttributeTests).FullName}.BadSize: [LimitAllocatedBytes(\"24 MiBs\")]: \"24 MiBs\": unknown unit \"MiBs\": expected B, KB, MB, GB or TB (or KiB, MiB, GiB, TiB), e.g. \"24 MB\"", e.Message);
    }
}
