using System.CommandLine;
using MemNotebook.Recorder.Format;
using MemNotebook.Recorder.Reports;

namespace MemNotebook.Cli;

/// <summary>The arguments every report verb shares: FILE, the mode (--all, --leaks, --temporary N), --top, -o.</summary>
internal sealed class ReportOptions
{
    public Argument<string> File { get; } = CliValues.CaptureFile("The capture (.memnb) or its Arrow folder");
    public Option<bool> All { get; } = new("--all") { Description = "Every allocation (default: those alive at the peak)" };
    public Option<bool> Leaks { get; } = new("--leaks") { Description = "Objects still alive when recording stopped" };
    public Option<int?> Temporary { get; } = CliValues.OptionalWholeNumber("--temporary", 1, "Objects freed before N other allocations on the same thread");
    private readonly Option<int>? top;

    /// <summary>--top, for the verbs that list (not the flame graph, which has no such option).</summary>
    public Option<int> Top => top ?? throw new InvalidOperationException("this verb has no --top");
    public Option<string?> Output { get; } = new("--output", "-o") { Description = "Write a self-contained HTML page instead", HelpName = "out.html" };
    public Option<bool> Force { get; } = ForceOption();
    public Option<long?> MaxAllocations { get; } = CliValues.MaxAllocations();
    public Option<int?> Cell { get; } = CliValues.OptionalWholeNumber("--cell", 0,
        "Only the allocations made by the code of notebook cell N (its script class Submission#N), as #!memprofile shows a cell");
    public Option<bool> WithinSubmissions { get; } = new("--within-submissions")
    {
        Description = "Only the allocations made by the code of notebook cells (any Submission#N), not the kernel's own work",
    };

    /// <summary>--force: overwrite an existing output (never the input).</summary>
    public static Option<bool> ForceOption() => new("--force") { Description = "Overwrite an existing output (never the input)" };

    private readonly bool selection;

    /// <param name="topDescription">What --top limits, or null for a verb without --top.</param>
    /// <param name="selection">Whether the verb takes --all, --leaks, --temporary N, --cell N and --within-submissions.</param>
    public ReportOptions(string? topDescription, int defaultTop = 0, bool selection = true)
    {
        if (topDescription is not null)
            top = CliValues.WholeNumber("--top", 0, defaultTop, topDescription);
        this.selection = selection;
    }

    /// <summary>Whether --top was given (not its default).</summary>
    public bool TopGiven(ParseResult parse) => top is not null && parse.GetResult(top) is { Implicit: false };

    /// <summary>Adds the shared arguments and the check that at most one mode is given.</summary>
    public Command AddTo(Command command)
    {
        command.Add(File);
        if (selection)
        {
            command.Add(All);
            command.Add(Leaks);
            command.Add(Temporary);
        }
        if (top is not null)
            command.Add(top);
        if (selection)
        {
            command.Add(Cell);
            command.Add(WithinSubmissions);
        }
        command.Add(Output);
        command.Add(Force);
        command.Add(MaxAllocations);
        if (!selection)
            return command;
        command.Validators.Add(result =>
        {
            // Whether --temporary was given, not its value: a bad value is its own error, and reading it would throw.
            // Its own option checks the value (at least 1), so a given --temporary stands here as 1.
            var temporary = result.GetResult(Temporary) is { Implicit: false } ? 1 : (int?)null;
            foreach (var problem in ReportSelection.OptionProblems(result.GetValue(All), result.GetValue(Leaks), temporary))
                result.AddError(problem);
            if (result.GetResult(Cell) is { Implicit: false } && result.GetValue(WithinSubmissions))
                result.AddError("--cell and --within-submissions exclude each other");
        });
        return command;
    }

    public ReportSelection Selection(ParseResult parse) => !selection ? ReportSelection.Peak :
        ReportSelection.FromOptions(parse.GetValue(All), parse.GetValue(Leaks), parse.GetValue(Temporary));

    /// <summary>The part of a capture the reports cover: the whole capture, one notebook cell's code or every cell's.</summary>
    public Func<MemNotebook.Capture, MemNotebook.Capture>? Scope(ParseResult parse)
    {
        if (!selection)
            return null;
        if (parse.GetValue(Cell) is int cell)
            return capture => capture.WithinSubmission(cell);
        if (parse.GetValue(WithinSubmissions))
            return capture => capture.Submissions().Count > 0 ? capture.WithinSubmissions()
                : throw new ArgumentException($"{capture.Path}: --within-submissions: the capture has no frame of a notebook cell's code (Submission#N), so it was not recorded in a notebook");
        return capture => capture;
    }

    /// <summary>
    /// Loads the capture, renders it (text, or HTML when -o is given) and prints or writes it.
    /// <paramref name="render"/> gets the capture and whether to render HTML.
    /// </summary>
    /// <param name="scope">The part of the loaded capture to render (<see cref="Scope"/>); the whole capture when null.</param>
    /// <param name="maxAllocations">--max-allocations (null: MEMNB_MAX_ALLOCATIONS, else the default by the file's size).</param>
    public static int Run(string path, string? htmlPath, bool force, TextWriter output, TextWriter error, Func<MemNotebook.Capture, bool, string> render,
        Func<MemNotebook.Capture, MemNotebook.Capture>? scope = null, long? maxAllocations = null)
    {
        if (!System.IO.File.Exists(path) && !Directory.Exists(path))
        {
            error.WriteLine($"memnb: {path}: no such file");
            return (int)ExitCode.IoError;
        }
        if (htmlPath is not null && OutputTarget.FileProblem(path, htmlPath, force) is { } problem)
        {
            error.WriteLine($"memnb: {problem}");
            return (int)ExitCode.Usage;
        }
        string? report;
        string? scopeProblem = null;
        try
        {
            // Progress on stderr when it is a terminal: converting to Arrow (the first time), then building the report.
            report = CliProgress.Run(error, steps =>
            {
                var capture = MemNotebook.Capture.Load(path, steps.Step("reading the capture"), maxAllocations);
                try
                {
                    capture = scope is null ? capture : scope(capture);
                }
                catch (ArgumentException ex) // no such cell
                {
                    scopeProblem = ex.Message;
                    return null;
                }
                steps.Indeterminate("building the report");
                return render(capture, htmlPath is not null);
            });
            if (report is null)
            {
                error.WriteLine($"memnb: {scopeProblem}");
                return (int)ExitCode.Usage;
            }
        }
        catch (Exception ex) when (CaptureErrors.Handles(ex))
        {
            return CaptureErrors.Report(ex, error, $"read {path}");
        }
        catch (NotSupportedException ex)
        {
            error.WriteLine($"memnb: {ex.Message}");
            return (int)ExitCode.Usage;
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
