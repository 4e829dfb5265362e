using System.CommandLine;
using System.Globalization;
using System.Runtime.InteropServices;
using MemNotebook.Recorder.Attaching;

namespace MemNotebook.Cli;

/// <summary><c>memnb attach PID [-o FILE] [--force] [--duration 30s] [--native] [--live]</c></summary>
internal static class AttachCommand
{
    public static Command Create(TextWriter output, TextWriter error)
    {
        var pid = new Argument<int>("PID")
        {
            Description = "The .NET process to record (memnb ps lists them)",
            CustomParser = result =>
            {
                var text = result.Tokens.Count == 0 ? "" : result.Tokens[0].Value;
                if (int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var value) && value > 0)
                    return value;
                result.AddError(MemnbCommandLine.LooksLikeOption(text) ? $"unknown option '{text}'" : $"PID must be a process id (a whole number above 0), not '{text}'");
                return 0;
            },
        };
        var outputFile = new Option<string?>("--output", "-o") { Description = "The capture to write (default memnb-<name>-<pid>.memnb)" };
        var force = new Option<bool>("--force") { Description = "Overwrite an existing capture" };
        var duration = new Option<TimeSpan?>("--duration")
        {
            Description = "Stop after this long (30s, 2m, 500ms, 1h; a bare number is seconds); default: until Ctrl-C or the process exits",
            HelpName = "TIME",
            CustomParser = result =>
            {
                var text = result.Tokens.Count == 0 ? "" : result.Tokens[^1].Value;
                if (ParseDuration(text) is TimeSpan span)
                    return span;
                result.AddError($"--duration takes a time such as 30s, 2m, 500ms or 1h, not '{text}'");
                return null;
            },
        };
        var native = new Option<bool>("--native")
        {
            Description = "Record native allocations too, exactly (malloc, calloc, realloc, mmap, ...; hooks removed when recording stops)",
        };
        var live = new Option<bool>("--live")
        {
            Description = "Show the recording live in the terminal (one summary line a second when output is not a terminal)",
        };
        var command = new Command("attach", "Record a running .NET process (the runtime's allocation samples; LOH objects and, with --native, native allocations exactly)")
        {
            pid, outputFile, force, duration, native, live,
        };
        command.SetAction(parse => Execute(new AttachOptions
        {
            ProcessId = parse.GetValue(pid),
            OutputPath = parse.GetValue(outputFile),
            Force = parse.GetValue(force),
            Native = parse.GetValue(native),
        }, parse.GetValue(duration), parse.GetValue(live), output, error));
        return command;
    }

    /// <summary>"30s", "2m", "500ms", "1h", "1.5s" or a bare number of seconds; null when it is none of them or not above 0.</summary>
    internal static TimeSpan? ParseDuration(string text)
    {
        (string Suffix, double Seconds)[] units = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600)];
        var unit = units.Where(u => text.EndsWith(u.Suffix, StringComparison.Ordinal)).OrderByDescending(u => u.Suffix.Length).FirstOrDefault();
        var number = unit.Suffix is null ? text : text[..^unit.Suffix.Length];
        if (!double.TryParse(number, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var value) || value <= 0 || value > 1e7)
            return null;
        return TimeSpan.FromSeconds(value * (unit.Suffix is null ? 1 : unit.Seconds));
    }

    private static int Execute(AttachOptions options, TimeSpan? duration, bool live, TextWriter output, TextWriter error)
    {
        using var interrupted = new CancellationTokenSource();
        // Ctrl-C stops the recording (the target is never signalled); the tracer stops by itself should memnb die.
        using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, context =>
        {
            context.Cancel = true;
            interrupted.Cancel();
        });
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, context =>
        {
            context.Cancel = true;
            interrupted.Cancel();
        });
        AttachSession session;
        try
        {
            session = AttachSession.Start(options);
        }
        catch (AttachException ex)
        {
            error.WriteLine($"memnb: {ex.Message}");
            return (int)(ex.Failure switch
            {
                AttachFailure.Usage => ExitCode.Usage,
                AttachFailure.TracerMissing => ExitCode.TracerMissing,
                AttachFailure.Output => ExitCode.IoError,
                _ => ExitCode.AttachFailed,
            });
        }
        using (session)
        {
            var name = DisplayName(session.OutputPath);
            error.WriteLine($"memnb: recording process {session.ProcessId} ({session.ProcessName}) into {name} " +
                $"({(session.Reused ? "its idle tracer reused" : "attached")} in {session.StartTime.TotalMilliseconds:N0} ms; {(duration is { } d ? $"for {Describe(d)}, " : "")}Ctrl-C stops)");
            bool alive;
            if (live)
            {
                // The view reads keys, so it draws only when the terminal is also its input.
                var terminal = Console.IsInputRedirected ? null : Terminal.On(output);
                alive = LiveView.Run(LiveTarget.Of(session), duration, interrupted.Token, terminal, output);
            }
            else
            {
                alive = session.WaitWhileRecording(duration, interrupted.Token);
            }
            if (interrupted.IsCancellationRequested && alive)
                error.WriteLine($"memnb: interrupted: stopping the recording; process {session.ProcessId} keeps running");
            var result = session.Stop();
            Report(session, result, name, options.Native, error);
            return result.Capture.CaptureAllocations is null ? (int)ExitCode.BadCapture : (int)ExitCode.Ok;
        }
    }

    private static string Describe(TimeSpan span) =>
        span.TotalSeconds >= 1 ? $"{span.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture)} s" : $"{span.TotalMilliseconds:0} ms";

    private static string DisplayName(string path)
    {
        var relative = Path.GetRelativePath(Environment.CurrentDirectory, path);
        return relative.StartsWith("..", StringComparison.Ordinal) ? path : relative;
    }

    private static void Report(AttachSession session, AttachResult result, string name, bool native, TextWriter error)
    {
        var pid = session.ProcessId;
        switch (result.Outcome)
        {
            case DetachOutcome.Detached:
                error.WriteLine($"memnb: detached from process {pid}: hooks removed and the tracer unloaded");
                break;
            case DetachOutcome.Idle:
                error.WriteLine($"memnb: stopped recording process {pid} (hooks removed); the tracer stays loaded there, idle: {result.Detail}");
                break;
            case DetachOutcome.TargetExited:
                error.WriteLine($"memnb: process {pid} exited while recording; the capture holds what it wrote until then");
                break;
            case DetachOutcome.NoAnswer:
                error.WriteLine($"memnb: warning: the tracer in process {pid} did not confirm that it stopped (state: {result.Detail ?? "none"})");
                break;
        }
        var capture = result.Capture;
        string Count(long n) => n.ToString("N0", CultureInfo.InvariantCulture);
        if (!capture.CaptureExists)
            error.WriteLine($"memnb: no capture was written to {name}");
        else if (capture.CaptureAllocations is null)
            error.WriteLine($"memnb: warning: the capture {name} is unreadable: {capture.CaptureProblem}");
        else
        {
            var state = capture.CaptureTruncated ? $"a truncated capture ({capture.CaptureProblem}) " : !capture.CaptureComplete ? "an incomplete capture (no END record) " : "";
            error.WriteLine($"memnb: wrote {state}{name} ({Count(capture.CaptureAllocations.Value)} allocation records: the runtime's allocation samples, " +
                "so managed bytes and counts are estimates (memnb stats shows them as such); large objects " +
                (native ? "and native allocations are exact)" : "are exact)"));
        }
    }
}
