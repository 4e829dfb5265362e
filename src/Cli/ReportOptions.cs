using System.CommandLine;
using MemNotebook.Recorder.Capture;
using MemNotebook.Recorder.Reports;

namespace MemNotebook.Cli;

/// <summary>The arguments every report verb shares: FILE, the mode (--all, --leaks, --temporary N), --top, -o.</summary>
internal sealed class ReportOptions
{
    public Argument<string> File { get; } = new("FILE") { Description = "The capture (.memnb) or its Arrow folder" };
    public Option<bool> All { get; } = new("--all") { Description = "Every allocation (default: those alive at the peak)" };
    public Option<bool> Leaks { get; } = new("--leaks") { Description = "Objects still alive when recording stopped" };
    public Option<int?> Temporary { get; } = new("--temporary")
    {
        Description = "Objects freed before N other allocations on the same thread",
        HelpName = "N",
    };
    private readonly Option<int>? top;

    /// <summary>--top, for the verbs that list (not the flame graph, which has no such option).</summary>
    public Option<int> Top => top ?? throw new InvalidOperationException("this verb has no --top");
    public Option<string?> Output { get; } = new("--output", "-o") { Description = "Write a self-contained HTML page instead", HelpName = "out.html" };

    /// <param name="topDescription">What --top limits, or null for a verb without --top.</param>
    public ReportOptions(string? topDescription, int defaultTop = 0)
    {
        // System.CommandLine binds an unknown "--x" to FILE; name it as the unknown option it is.
        File.Validators.Add(result =>
        {
            var value = result.GetValueOrDefault<string>();
            if (value is { Length: > 1 } && value[0] == '-')
                result.AddError($"Unrecognized option '{value}'.");
        });
        Temporary.Validators.Add(result =>
        {
            if (result.GetValueOrDefault<int?>() is < 1)
                result.AddError("--temporary must be 1 or more");
        });
        if (topDescription is null)
            return;
        top = new Option<int>("--top") { Description = topDescription, DefaultValueFactory = _ => defaultTop, HelpName = "N" };
        top.Validators.Add(result =>
        {
            if (result.GetValueOrDefault<int>() < 0)
                result.AddError("--top must be 0 or more");
        });
    }

    /// <summary>Adds the shared arguments and the check that at most one mode is given.</summary>
    public Command AddTo(Command command)
    {
        command.Add(File);
        command.Add(All);
        command.Add(Leaks);
        command.Add(Temporary);
        if (top is not null)
            command.Add(top);
        command.Add(Output);
        command.Validators.Add(result =>
        {
            var modes = (result.GetValue(All) ? 1 : 0) + (result.GetValue(Leaks) ? 1 : 0) + (result.GetValue(Temporary) is null ? 0 : 1);
            if (modes > 1)
                result.AddError("--all, --leaks and --temporary exclude each other");
        });
        return command;
    }

    public ReportSelection Selection(ParseResult parse) =>
        parse.GetValue(All) ? new ReportSelection(ReportMode.Allocated)
        : parse.GetValue(Leaks) ? new ReportSelection(ReportMode.Leaks)
        : parse.GetValue(Temporary) is int n ? new ReportSelection(ReportMode.Temporary, n)
        : ReportSelection.Peak;

    /// <summary>
    /// Loads the capture, renders it (text, or HTML when -o is given) and prints or writes it.
    /// <paramref name="render"/> gets the capture and whether to render HTML.
    /// </summary>
    public static int Run(string path, string? htmlPath, TextWriter output, TextWriter error, Func<MemNotebook.Capture, bool, string> render)
    {
        if (!System.IO.File.Exists(path) && !Directory.Exists(path))
        {
            error.WriteLine($"memnb: {path}: no such file");
            return (int)ExitCode.IoError;
        }
        string report;
        try
        {
            report = render(MemNotebook.Capture.Load(path), htmlPath is not null);
        }
        catch (Exception ex) when (ex is CaptureFormatException or InvalidDataException)
        {
            error.WriteLine($"memnb: {ex.Message}");
            return (int)ExitCode.BadCapture;
        }
        catch (NotSupportedException ex)
        {
            error.WriteLine($"memnb: {ex.Message}");
            return (int)ExitCode.Usage;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            error.WriteLine($"memnb: cannot read {path}: {ex.Message}");
            return (int)ExitCode.IoError;
        }
        if (htmlPath is null)
        {
            output.Write(report);
            output.Flush();
            return (int)ExitCode.Ok;
        }
        try
        {
            MemNotebook.Recorder.Storage.PrivateFiles.WriteAllText(htmlPath, report);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            error.WriteLine($"memnb: cannot write {htmlPath}: {ex.Message}");
            return (int)ExitCode.IoError;
        }
        error.WriteLine($"memnb: wrote {htmlPath}");
        return (int)ExitCode.Ok;
    }
}
