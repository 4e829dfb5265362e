using System.Globalization;

namespace MemNotebook.Recorder.Analysis;

public static class TimeUnits
{
    /// <summary>
    /// A time since the start of a capture, in nanoseconds, as people read it: "812 ns", "12.3 µs", "4.5 ms",
    /// "26.30 s" (the flame-graph page's chart writes times the same way).
    /// </summary>
    public static string Format(long ns)
    {
        var c = CultureInfo.InvariantCulture;
        var magnitude = Math.Abs((double)ns); // long.MinValue has no positive long
        if (magnitude < 1_000)
            return ns.ToString(c) + " ns";
        if (magnitude < 1_000_000)
            return (ns / 1e3).ToString("0.0", c) + " µs";
        if (magnitude < 1_000_000_000)
            return (ns / 1e6).ToString("0.0", c) + " ms";
        return (ns / 1e9).ToString("0.00", c) + " s";
    }
}
