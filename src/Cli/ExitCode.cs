namespace MemNotebook.Cli;

/// <summary>memnb's own exit codes; <c>run</c> passes the traced program's code through instead.</summary>
public enum ExitCode
{
    Ok = 0,
    Usage = 1,
    BadCapture = 2,
    IoError = 3,
    TracerMissing = 4,
    /// <summary>memnb attach: no such process, not .NET, another user's, a profiler there already, or the runtime refused.</summary>
    AttachFailed = 5,
}

/// <summary>
/// The errors of reading a capture, reported alike by every verb that reads one: a file that is not a capture (or holds
/// more allocations than allowed) is <see cref="ExitCode.BadCapture"/> with its message, a bad
/// <c>MEMNB_MAX_ALLOCATIONS</c> is <see cref="ExitCode.Usage"/>, a file that cannot be read or written is
/// <see cref="ExitCode.IoError"/> ("cannot read PATH: …" — the verb says which file and which access).
/// </summary>
internal static class CaptureErrors
{
    public static bool Handles(Exception ex) =>
        ex is Recorder.Format.CaptureFormatException or InvalidDataException or Recorder.Format.AllocationLimitException
            or IOException or UnauthorizedAccessException
        || (ex is ArgumentException argument && argument.ParamName == Recorder.Format.AllocationLimit.Variable);

    /// <summary>Writes the error and returns the exit code; <paramref name="cannot"/> names the failed access, e.g. "read x.memnb".</summary>
    public static int Report(Exception ex, TextWriter error, string cannot)
    {
        if (ex is Recorder.Format.CaptureFormatException or InvalidDataException or Recorder.Format.AllocationLimitException)
        {
            error.WriteLine($"memnb: {ex.Message}");
            return (int)ExitCode.BadCapture;
        }
        if (ex is ArgumentException)
        {
            error.WriteLine($"memnb: {ex.Message}");
            return (int)ExitCode.Usage;
        }
        error.WriteLine($"memnb: cannot {cannot}: {ex.Message}");
        return (int)ExitCode.IoError;
    }
}
