using System.Runtime.CompilerServices;

namespace MemNotebook.Testing;

// Objects allocated only to mark, in a thread's own stream of records, where that thread entered and left a
// measured test's execution context, and where the test ended. Their allocations are ordered exactly with the
// thread's others (one stream per thread), so no clock has to agree with another. Never counted themselves.

/// <summary>This thread now runs in the measured test's execution context.</summary>
internal sealed class ScopeEntered;

/// <summary>This thread no longer runs in the measured test's execution context.</summary>
internal sealed class ScopeLeft;

/// <summary>The measured test ended here: nothing later counts.</summary>
internal sealed class ScopeClosed;

/// <summary>
/// Which execution context belongs to the measured test: an AsyncLocal holding the run flows wherever the test's
/// context flows (its awaits, Task.Run, threads and timers it starts), and the runtime calls the change handler on
/// every thread as that context comes and goes, where a marker is allocated.
/// </summary>
internal static class ScopeContext
{
    private static readonly AsyncLocal<LimitRun?> current = new(OnChanged);
    private static volatile LimitRun? active;

    // The markers escape into this field, so the JIT cannot remove their allocations.
    private static object? lastMarker;

    public static LimitRun? Current => current.Value;
    public static LimitRun? Active => active;

    public static void Enter(LimitRun run)
    {
        active = run;
        current.Value = run; // OnChanged allocates ScopeEntered on this thread
    }

    /// <summary>Marks the end on this thread, stops marking anywhere, and takes the run out of this flow's context.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void Close(LimitRun run)
    {
        lastMarker = new ScopeClosed();
        active = null;
        if (ReferenceEquals(current.Value, run))
            current.Value = null;
    }

    // Runs on context switches of every thread while any context holds a run: nothing here may throw or block.
    private static void OnChanged(AsyncLocalValueChangedArgs<LimitRun?> change)
    {
        var run = active;
        if (run is null)
            return;
        var was = ReferenceEquals(change.PreviousValue, run);
        var now = ReferenceEquals(change.CurrentValue, run);
        if (was == now)
            return;
        lastMarker = now ? new ScopeEntered() : new ScopeLeft();
    }
}
