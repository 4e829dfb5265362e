namespace MemNotebook.Testing;

/// <summary>One limit against what was measured for it.</summary>
/// <param name="Measured">The bytes the limit bounds, counting only what its filters let through.</param>
/// <param name="Count">The objects those bytes are.</param>
public sealed record LimitResult(MemoryLimit Limit, long LimitBytes, long Measured, long Count)
{
    public bool Exceeded => Measured > LimitBytes;
}

/// <summary>What one test allocated, as the tracer recorded it: only the test's own allocations (see docs/testing.md).</summary>
public sealed record MemoryMeasurement
{
    public required string TestName { get; init; }

    /// <summary>Bytes of every object the test allocated (the runtime's object sizes).</summary>
    public required long AllocatedBytes { get; init; }

    public required long AllocatedCount { get; init; }

    /// <summary>The most bytes of the test's objects the heap held at once (at a GC start, or at the end).</summary>
    public required long PeakBytes { get; init; }

    /// <summary>Bytes of the test's objects still reachable after the test and a full GC.</summary>
    public required long LeakedBytes { get; init; }

    public required long LeakedCount { get; init; }

    /// <summary>Each limit of the test with its own figure.</summary>
    public required IReadOnlyList<LimitResult> Results { get; init; }

    /// <summary>The capture, kept when MEMNB_TEST_CAPTURES names a folder; null when it was deleted.</summary>
    public string? CapturePath { get; init; }

    /// <summary>The failure message when a limit is exceeded, else null.</summary>
    public string? Failure { get; init; }
}

/// <summary>A limit was exceeded; the message lists the stacks that allocated the most.</summary>
public sealed class MemoryLimitExceededException(MemoryMeasurement measurement)
    : Exception(measurement.Failure)
{
    public MemoryMeasurement Measurement { get; } = measurement;
}

/// <summary>A limit that cannot be applied: a size that does not parse, a negative one, a nested limit, a tracer that failed.</summary>
public sealed class MemoryLimitException(string message, Exception? inner = null) : Exception(message, inner);
