using MemNotebook.Recorder.Reports;
using Microsoft.CodeAnalysis.CSharp;

namespace MemNotebook.Kernel;

/// <summary>The checked options of one <c>#!memprofile</c> cell.</summary>
public sealed record MemProfileOptions
{
    public const string DefaultVariable = "memprofile";

    public bool Native { get; init; }
    public ReportSelection Selection { get; init; } = ReportSelection.Peak;
    public bool Inverted { get; init; }
    public bool SplitThreads { get; init; }
    public string Variable { get; init; } = DefaultVariable;
    public string? Output { get; init; }
    /// <summary>The reports to show (<c>--report</c>), in the order a cell shows them; default flamegraph and stats.</summary>
    public IReadOnlyList<ReportDefinition> Reports { get; init; } = ReportCatalog.NotebookDefaults;
    public bool Live { get; init; }
    public bool Aggregate { get; init; }

    /// <summary>Every problem with the options, each naming its option; empty when they are usable.</summary>
    public static IEnumerable<string> Validate(MemProfileCommand command)
    {
        foreach (var problem in ReportSelection.OptionProblems(command.All, command.Leaks, command.Temporary))
            yield return "#!memprofile: " + problem;
        if (command.Name is { } name && !IsIdentifier(name))
            yield return $"#!memprofile: --name {name}: not a C# variable name (letters, digits and _, not starting with a digit, not a keyword)";
        if (command.Output is { } output && string.IsNullOrWhiteSpace(output))
            yield return "#!memprofile: --output: give a file path for the capture";
        if (command.Report is { } report)
        {
            foreach (var problem in ParseReports(report, out _))
                yield return problem;
        }
        if (command.SymbolServer is { } server && !(Uri.TryCreate(server, UriKind.Absolute, out var url) && url.Scheme is "http" or "https"))
            yield return $"#!memprofile: --symbol-server {server}: not an http or https URL";
        if (command.Aggregate && command.Native)
            yield return "#!memprofile: --native keeps every native allocation; it cannot be combined with --aggregate";
        if (command.Aggregate && command.Temporary is not null)
            yield return "#!memprofile: --temporary needs every allocation; it cannot be combined with --aggregate (which keeps totals per stack and type)";
    }

    /// <summary>The options of a command that passed <see cref="Validate"/>.</summary>
    public static MemProfileOptions From(MemProfileCommand command)
    {
        var problems = Validate(command).ToList();
        if (problems.Count > 0)
            throw new ArgumentException(string.Join(Environment.NewLine, problems));
        var selection = ReportSelection.FromOptions(command.All, command.Leaks, command.Temporary);
        IReadOnlyList<ReportDefinition> reports = ReportCatalog.NotebookDefaults;
        if (command.Report is { } report)
            ParseReports(report, out reports);
        return new MemProfileOptions
        {
            Native = command.Native,
            Selection = selection,
            Inverted = command.Inverted,
            SplitThreads = command.SplitThreads,
            Variable = command.Name ?? DefaultVariable,
            Output = command.Output,
            Reports = reports,
            Live = command.Live,
            Aggregate = command.Aggregate,
        };
    }

    private static List<string> ParseReports(string value, out IReadOnlyList<ReportDefinition> reports)
    {
        var named = new HashSet<ReportDefinition>();
        var problems = new List<string>();
        var names = value.Split(',', StringSplitOptions.TrimEntries);
        foreach (var name in names)
        {
            if (name.Length == 0)
            {
                problems.Add($"#!memprofile: --report {value}: an empty report name; give a comma-separated list of {Known}");
                continue;
            }
            if (name.Equals("none", StringComparison.OrdinalIgnoreCase) && names.Length == 1)
                continue;
            var match = ReportCatalog.Notebook.FirstOrDefault(r => r.Name.Equals(name, StringComparison.OrdinalIgnoreCase));
            if (match is null)
                problems.Add($"#!memprofile: --report {value}: unknown report '{name}'; known: {Known}, or none");
            else
                named.Add(match);
        }
        reports = ReportCatalog.Notebook.Where(named.Contains).ToArray();
        return problems;
    }

    private static string Known => string.Join(", ", ReportCatalog.Notebook.Select(r => r.Name));

    private static bool IsIdentifier(string name) =>
        SyntaxFacts.IsValidIdentifier(name) && SyntaxFacts.GetKeywordKind(name) == Microsoft.CodeAnalysis.CSharp.SyntaxKind.None;
}
