using System.Reflection;
using Xunit.v3;

namespace MemNotebook.Testing;

/// <summary>
/// A memory limit on an xunit v3 test (on a method, or on a class for each of its tests). The first limit attribute
/// of a test starts measuring it with all of them; the limits are checked after the test method returns.
/// </summary>
[AttributeUsage(AttributeTargets.Method | AttributeTargets.Class, AllowMultiple = true)]
public abstract class MemoryLimitAttribute(MemoryLimitKind kind, string size) : BeforeAfterTestAttribute, IMemoryLimitAttribute
{
    public MemoryLimitKind Kind { get; } = kind;
    public string Size { get; } = size;

    /// <summary>Only objects of this type count ("System.Byte[]").</summary>
    public string? Type { get; set; }

    /// <summary>Only objects allocated with this function, or a member of this type or namespace, on the stack count.</summary>
    public string? Frame { get; set; }

    public override void Before(MethodInfo methodUnderTest, IXunitTest test) => XunitLimits.Before(this, methodUnderTest);

    public override void After(MethodInfo methodUnderTest, IXunitTest test) => XunitLimits.After(this);

    public MemoryLimit ToLimit() => XunitLimits.LimitOf(GetType(), Kind, Size, Type, Frame);
}

/// <summary>Fails the test when it allocates more than <c>size</c> bytes in all ("24 MB").</summary>
public sealed class LimitAllocatedBytesAttribute(string size) : MemoryLimitAttribute(MemoryLimitKind.AllocatedBytes, size);

/// <summary>Fails the test when the heap holds more than <c>size</c> bytes of its objects at once ("8 MB").</summary>
public sealed class LimitPeakBytesAttribute(string size) : MemoryLimitAttribute(MemoryLimitKind.PeakBytes, size);

/// <summary>Fails the test when more than <c>size</c> bytes of its objects are still reachable after it and a full GC ("1 KB").</summary>
public sealed class LimitLeaksAttribute(string size) : MemoryLimitAttribute(MemoryLimitKind.Leaks, size);
