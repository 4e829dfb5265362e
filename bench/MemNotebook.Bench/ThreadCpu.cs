using System.Runtime.InteropServices;

namespace MemNotebook.Bench;

/// <summary>
/// The calling thread's CPU time (CLOCK_THREAD_CPUTIME_ID): its own work and the GCs it ran, not the time it waited for a
/// core another process held, so it stays meaningful on a loaded machine where wall time does not.
/// </summary>
internal static class ThreadCpu
{
    [StructLayout(LayoutKind.Sequential)]
    private struct Timespec
    {
        public long Seconds, Nanoseconds;
    }

    [DllImport("libc")]
    private static extern int clock_gettime(int clock, out Timespec time);

    private const int ClockThreadCpuTimeId = 3;

    /// <summary>Nanoseconds of CPU the calling thread has used; 0 when the clock cannot be read.</summary>
    public static long Nanoseconds() =>
        clock_gettime(ClockThreadCpuTimeId, out var t) == 0 ? t.Seconds * 1_000_000_000 + t.Nanoseconds : 0;
}
