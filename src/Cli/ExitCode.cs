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
