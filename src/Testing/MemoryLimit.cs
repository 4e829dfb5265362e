namespace MemNotebook.Testing;

/// <summary>What a limit bounds.</summary>
public enum MemoryLimitKind
{
    /// <summary>Bytes the test allocated in all (every object, dead or alive at its end).</summary>
    AllocatedBytes,

    /// <summary>The most bytes of the test's objects the heap held at once (at a GC start, or at the end).</summary>
    PeakBytes,

    /// <summary>Bytes of the test's objects still reachable after the test and a full GC.</summary>
    Leaks,
}

/// <summary>
/// One limit as written: <c>new MemoryLimit(MemoryLimitKind.AllocatedBytes, "24 MB")</c>, optionally counting
/// only objects of one <see cref="Type"/> or allocated with one function on the stack (<see cref="Frame"/>).
/// The size is parsed when the limit starts (<see cref="MemoryLimits.Start(MemoryLimitRequest)"/>), so a bad one
/// fails the test that carries it, naming the test and <see cref="Source"/>.
/// </summary>
public sealed record MemoryLimit(MemoryLimitKind Kind, string Size)
{
    /// <summary>Only objects of this type count, by its full name as the runtime gives it ("System.Byte[]", "MyApp.Order").</summary>
    public string? Type { get; init; }

    /// <summary>
    /// Only objects allocated with this function on the stack count: a method ("MyApp.Cache.Add"), or a type or
    /// namespace ("MyApp.Cache", "MyApp"), matching its methods and nested types.
    /// </summary>
    public string? Frame { get; init; }

    /// <summary>How the limit was written, for messages, e.g. <c>[LimitAllocatedBytes("24 MB")]</c>; default from the kind.</summary>
    public string? Source { get; init; }

    internal string Describe() => Source ?? Kind switch
    {
        MemoryLimitKind.AllocatedBytes => $"allocatedBytes: \"{Size}\"",
        MemoryLimitKind.PeakBytes => $"peakBytes: \"{Size}\"",
        _ => $"leaks: \"{Size}\"",
    } + (Type is null ? "" : $", type: \"{Type}\"") + (Frame is null ? "" : $", frame: \"{Frame}\"");

    internal bool Counts(string typeName, Func<Func<string, bool>, bool> stackHas) =>
        (Type is null || string.Equals(typeName, Type, StringComparison.Ordinal))
        && (Frame is null || stackHas(FrameMatcher.For(Frame)));
}

/// <summary>The limits of one test, with the test's name for messages and its class for telling its code from the runner's.</summary>
public sealed record MemoryLimitRequest(string TestName, IReadOnlyList<MemoryLimit> Limits)
{
    /// <summary>
    /// The test's class: allocations with one of its frames on the stack (its methods, lambdas, async state
    /// machines, nested types) are the test's even when a test framework's frame is on the same stack.
    /// </summary>
    public Type? TestClass { get; init; }
}

internal static class FrameMatcher
{
    /// <summary>A function named <paramref name="name"/>, or a member of the type or namespace of that name.</summary>
    public static Func<string, bool> For(string name) => function =>
        function.StartsWith(name, StringComparison.Ordinal)
        && (function.Length == name.Length || function[name.Length] is '.' or '+' or '(' or '[' or '<' or '`');
}
