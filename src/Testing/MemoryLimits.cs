using System.Runtime.CompilerServices;
using MemNotebook.Recorder.Tracing;

namespace MemNotebook.Testing;

/// <summary>
/// Memory limits for any test framework (NUnit, MSTest, xunit, or a plain program), measured exactly by the
/// MemNotebook tracer:
/// <code>
/// using var limit = MemoryLimits.Start(allocatedBytes: "24 MB", leaks: "1 KB");
/// // the test; the limits are checked when the scope ends
/// </code>
/// or <c>MemoryLimits.Check(() => ..., peakBytes: "8 MB")</c>. Only the test's own allocations count: those made in
/// its execution context (its frames, its awaits' continuations, the tasks and threads it starts), not another
/// test's running at the same time. Measured tests take turns: the tracer records one region at a time.
/// </summary>
public static class MemoryLimits
{
    /// <summary>True when this process runs under the tracer in exact mode, so limits can be measured.</summary>
    public static bool IsExact => Tracker.IsAvailable;

    /// <summary>
    /// Starts measuring the calling test; disposing the scope checks the limits and throws
    /// <see cref="MemoryLimitExceededException"/> when one is exceeded. Sizes as "24 MB", "512 KB", "100 B";
    /// <paramref name="type"/> and <paramref name="frame"/> narrow every limit given here to objects of that type or
    /// allocated with that function (or a member of that type or namespace) on the stack.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static MemoryLimitScope Start(string? allocatedBytes = null, string? peakBytes = null, string? leaks = null,
        string? type = null, string? frame = null)
    {
        var (name, testClass) = TestIdentity.Caller();
        return Start(new MemoryLimitRequest(name, Limits(allocatedBytes, peakBytes, leaks, type, frame, "MemoryLimits.Start")) { TestClass = testClass });
    }

    /// <summary>Starts measuring with limits and a test name of the caller's choosing.</summary>
    public static MemoryLimitScope Start(MemoryLimitRequest request) => new(LimitRun.Begin(request));

    /// <summary>Runs <paramref name="test"/> measured, and throws <see cref="MemoryLimitExceededException"/> when a limit is exceeded.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static MemoryMeasurement Check(Action test, string? allocatedBytes = null, string? peakBytes = null, string? leaks = null,
        string? type = null, string? frame = null)
    {
        ArgumentNullException.ThrowIfNull(test);
        var request = RequestFor(test, Limits(allocatedBytes, peakBytes, leaks, type, frame, "MemoryLimits.Check"));
        var scope = Start(request);
        try
        {
            test();
        }
        catch
        {
            scope.StopWithoutCheck();
            throw;
        }
        return scope.Stop();
    }

    /// <summary>Runs the asynchronous <paramref name="test"/> measured, its continuations included.</summary>
    public static async Task<MemoryMeasurement> CheckAsync(Func<Task> test, string? allocatedBytes = null, string? peakBytes = null,
        string? leaks = null, string? type = null, string? frame = null)
    {
        ArgumentNullException.ThrowIfNull(test);
        var request = RequestFor(test, Limits(allocatedBytes, peakBytes, leaks, type, frame, "MemoryLimits.CheckAsync"));
        var scope = Start(request);
        try
        {
            await test().ConfigureAwait(false);
        }
        catch
        {
            scope.StopWithoutCheck();
            throw;
        }
        return scope.Stop();
    }

    private static MemoryLimitRequest RequestFor(Delegate test, IReadOnlyList<MemoryLimit> limits)
    {
        var testClass = TestIdentity.UserType(test.Method.DeclaringType);
        var (caller, callerClass) = TestIdentity.Caller();
        return new MemoryLimitRequest(caller, limits) { TestClass = testClass ?? callerClass };
    }

    private static List<MemoryLimit> Limits(string? allocatedBytes, string? peakBytes, string? leaks, string? type, string? frame, string api)
    {
        var limits = new List<MemoryLimit>();
        void Add(MemoryLimitKind kind, string parameter, string? size)
        {
            if (size is null)
                return;
            var filters = (type is null ? "" : $", type: \"{type}\"") + (frame is null ? "" : $", frame: \"{frame}\"");
            limits.Add(new MemoryLimit(kind, size) { Type = type, Frame = frame, Source = $"{api}({parameter}: \"{size}\"{filters})" });
        }
        Add(MemoryLimitKind.AllocatedBytes, "allocatedBytes", allocatedBytes);
        Add(MemoryLimitKind.PeakBytes, "peakBytes", peakBytes);
        Add(MemoryLimitKind.Leaks, "leaks", leaks);
        return limits;
    }
}

/// <summary>A test being measured; <see cref="Dispose"/> (or <see cref="Stop"/>) checks its limits.</summary>
public sealed class MemoryLimitScope : IDisposable
{
    private readonly LimitRun run;
    private MemoryMeasurement? measurement;

    internal MemoryLimitScope(LimitRun run) => this.run = run;

    /// <summary>What was measured, once the scope has stopped.</summary>
    public MemoryMeasurement? Measurement => measurement;

    /// <summary>Stops measuring; throws <see cref="MemoryLimitExceededException"/> when a limit was exceeded.</summary>
    public MemoryMeasurement Stop()
    {
        if (measurement is not null)
            return measurement;
        measurement = run.End();
        if (measurement.Failure is not null)
            throw new MemoryLimitExceededException(measurement);
        return measurement;
    }

    /// <summary>Stops measuring without judging: the test failed already, and its own exception is the one to report.</summary>
    internal void StopWithoutCheck()
    {
        if (measurement is null)
            measurement = run.End();
    }

    public void Dispose() => Stop();
}
