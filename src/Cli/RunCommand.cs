using System.CommandLine;
using MemNotebook.Recorder.Launching;

namespace MemNotebook.Cli;

/// <summary><c>memnb run [-o|--output FILE] [--force] [--aggregate|--native] [--live] [--] COMMAND [ARGS...]</c></summary>
internal static class RunCommand
{
    public static Command Create(TextWriter output, TextWriter error)
    {
        var outputFile = new Option<string?>("--output", "-o") { Description = "The capture to write (default memnb-<program>-<pid>.memnb)" };
        var force = new Option<bool>("--force") { Description = "Overwrite an existing capture" };
        var aggregate = new Option<bool>("--aggregate")
        {
            Description = "Keep totals per stack and type (allocated, alive at the peak, leaked) instead of every allocation",
        };
        var native = new Option<bool>("--native")
        {
            Description = "Record native allocations too (malloc, calloc, realloc, mmap, ...) with merged C and C# stacks",
        };
        var live = new Option<bool>("--live")
        {
            Description = "Show the recording live on stderr while the program runs (a live table on a terminal, else one summary line a second); the program's stdout and stderr stay its own",
        };
        var commandLine = new Argument<string[]>("COMMAND")
        {
            Description = "The program to trace and its arguments (put them after --)",
            Arity = ArgumentArity.ZeroOrMore,
        };
        commandLine.Validators.Add(result =>
        {
            if (result.Tokens.Count > 0 && MemnbCommandLine.LooksLikeOption(result.Tokens[0].Value))
                result.AddError($"unknown option '{result.Tokens[0].Value}'");
        });
        var command = new Command("run", "Run a .NET program with the tracer loaded and write a capture") { outputFile, force, aggregate, native, live, commandLine };
        command.SetAction(parse => Execute(parse.GetValue(commandLine) ?? [], parse.GetValue(outputFile), parse.GetValue(force),
            parse.GetValue(aggregate), parse.GetValue(native), parse.GetValue(live), error));
        return command;
    }

    private static int Execute(string[] commandLine, string? outputPath, bool force, bool aggregate, bool native, bool live, TextWriter error)
    {
        if (commandLine.Length == 0)
        {
            error.WriteLine("memnb: no command given: memnb run [-o FILE] [--force] [--aggregate|--native] [--live] -- COMMAND [ARGS...]");
            return (int)ExitCode.Usage;
        }
        TracedRunResult result;
        try
        {
            var launch = TracedProcess.Prepare(new TracedLaunchOptions
            {
                Command = commandLine[0],
                Arguments = commandLine[1..],
                OutputPath = outputPath,
                Force = force,
                Aggregate = aggregate,
                Native = native,
            });
            if (live)
            {
                using var run = TracedProcess.Start(launch);
                // stderr: the program's stdout stays a clean stream of its own output.
                LiveView.Run(LiveTarget.Of(run), null, CancellationToken.None, Terminal.On(error), error);
                result = run.WaitForExit();
            }
            else
            {
                result = TracedProcess.Run(launch);
            }
        }
        catch (LaunchException ex)
        {
            error.WriteLine($"memnb: {ex.Message}");
            return (int)(ex.Failure switch
            {
                LaunchFailure.MissingCommand or LaunchFailure.OutputExists or LaunchFailure.ConflictingOptions => ExitCode.Usage,
                LaunchFailure.TracerMissing => ExitCode.TracerMissing,
                _ => ExitCode.IoError,
            });
        }
        Report(result, commandLine[0], error);
        return result.ExitCode;
    }

    /// <summary>
    /// Why no capture was written: the tracer creates it when it loads, so the program exited without loading it;
    /// for a program that is not .NET at all that is all there is to say.
    /// </summary>
    private static string NoCapture(string program, string name)
    {
        var kind = DotnetProgram.Classify(program, Environment.CurrentDirectory);
        return kind switch
        {
            ProgramKind.NotDotnet =>
                $"memnb: no capture was written to {name}: {program} is not a .NET program, and no .NET program it started loaded the tracer " +
                "(memnb run traces .NET programs: memnb run -- dotnet app.dll, or an app's own executable)",
            ProgramKind.DotnetHost =>
                $"memnb: warning: no capture was written to {name}: {program} exited without loading the tracer " +
                "(did it start a .NET app? commands such as dotnet --info run no managed code)",
            _ => $"memnb: warning: no capture was written to {name}: {program} exited without loading the tracer " +
                 "(is it a .NET app for this runtime and architecture?)",
        };
    }

    private static void Report(TracedRunResult result, string program, TextWriter error)
    {
        var relative = Path.GetRelativePath(Environment.CurrentDirectory, result.OutputPath);
        var name = relative.StartsWith("..", StringComparison.Ordinal) ? result.OutputPath : relative;
        if (result.Signal is int signal)
            error.WriteLine($"memnb: {program} was killed by signal {signal} (exit code {result.ExitCode})");
        if (!result.CaptureExists)
            error.WriteLine(NoCapture(program, name));
        else if (result.CaptureAllocations is null)
            error.WriteLine($"memnb: warning: the capture {name} is unreadable: {result.CaptureProblem}");
        else if (result.CaptureTruncated)
            error.WriteLine($"memnb: warning: wrote a truncated capture {name} ({result.CaptureAllocations!.Value.ToString("N0", System.Globalization.CultureInfo.InvariantCulture)} allocations; {result.CaptureProblem})");
        else if (!result.CaptureComplete)
            error.WriteLine($"memnb: warning: wrote an incomplete capture {name} ({result.CaptureAllocations!.Value.ToString("N0", System.Globalization.CultureInfo.InvariantCulture)} allocations; no END record)");
        else
            error.WriteLine($"memnb: wrote {name} ({result.CaptureAllocations!.Value.ToString("N0", System.Globalization.CultureInfo.InvariantCulture)} allocations)");
    }
}
