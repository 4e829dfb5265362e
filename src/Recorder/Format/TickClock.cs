namespace MemNotebook.Recorder.Format;

/// <summary>
/// Converts ticks (TSC &gt;&gt; shift) to nanoseconds since the first CLOCK: a straight line through the
/// first and last (ticks, CLOCK_MONOTONIC ns) pair of the capture (CLOCK and SNAPSHOT records).
/// With fewer than two distinct pairs the rate is unknown: we then assume a 1 GHz counter, i.e.
/// one tick = 2^tsc_shift ns (16 ns), and set <see cref="IsEstimated"/>. Without any pair the origin is
/// the earliest timestamp in the capture.
/// </summary>
public sealed class TickClock
{
    public TickClock(long originTicks, double nanosecondsPerTick, bool isEstimated)
    {
        OriginTicks = originTicks;
        NanosecondsPerTick = nanosecondsPerTick;
        IsEstimated = isEstimated;
    }

    public long OriginTicks { get; }
    public double NanosecondsPerTick { get; }

    /// <summary>True when the rate is assumed, not measured (fewer than two clock pairs).</summary>
    public bool IsEstimated { get; }

    /// <summary>Nanoseconds since the start (negative for ticks before the first CLOCK).</summary>
    // Per allocation of a pass: inlined into the passes' loops (which are optimized up front).
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    public long ToNanoseconds(long ticks) => (long)Math.Round((ticks - OriginTicks) * NanosecondsPerTick);

    public static TickClock FromPairs(ClockRecord? first, ClockRecord? last, long earliestTicks, byte tscShift = 4)
    {
        var assumed = Math.Pow(2, tscShift);
        if (first is not ClockRecord a)
            return new TickClock(earliestTicks, assumed, isEstimated: true);
        if (last is not ClockRecord b || b.Ticks <= a.Ticks || b.MonotonicNs < a.MonotonicNs)
            return new TickClock(a.Ticks, Math.Pow(2, a.TscShift), isEstimated: true);
        return new TickClock(a.Ticks, (double)(b.MonotonicNs - a.MonotonicNs) / (b.Ticks - a.Ticks), isEstimated: false);
    }
}
