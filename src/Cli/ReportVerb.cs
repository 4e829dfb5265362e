using System.CommandLine;
using MemNotebook.Recorder.Reports;

namespace MemNotebook.Cli;

/// <summary>
/// The memnb verb of a report of <see cref="ReportCatalog"/>: <c>memnb NAME [options] FILE</c>, with the options its
/// definition names, text on stdout or the HTML page with -o (a page-only report writes memnb-NAME-CAPTURE.html by default).
/// </summary>
internal static class ReportVerb
{
    public static Command Create(ReportDefinition report, TextWriter output, TextWriter error)
    {
        var parameters = report.Parameters;
        var options = new ReportOptions(report.TopDescription, report.DefaultTop, parameters.HasFlag(ReportParameters.Selection));
        if (report.OutputDescription is not null)
            options.Output.Description = report.OutputDescription;
        var pageOnly = report.Text is null;
        var command = new Command(report.Name, report.Description);
        var sort = parameters.HasFlag(ReportParameters.Sort)
            ? CliValues.Choice("--sort", TableSort.Bytes, "Order by bytes, count, size (descending) or thread, type, function (ascending)") : null;
        var depth = parameters.HasFlag(ReportParameters.Depth) ? CliValues.WholeNumber("--depth", 1, 12, "How many frames deep to show") : null;
        Option<bool>? inverted = null, splitThreads = null;
        if (parameters.HasFlag(ReportParameters.Shape))
        {
            inverted = new Option<bool>("--inverted") { Description = "Allocating frames at the top, their callers below" };
            splitThreads = new Option<bool>("--split-threads") { Description = pageOnly ? "One subtree per thread, with a thread filter" : "One subtree per thread" };
        }
        foreach (var option in new Option?[] { sort, depth, inverted, splitThreads })
            if (option is not null)
                command.Add(option);
        options.AddTo(command);
        command.SetAction(parse =>
        {
            var path = parse.GetValue(options.File)!;
            var request = new ReportRequest
            {
                Selection = options.Selection(parse),
                Top = report.TopDescription is null ? 0 : parse.GetValue(options.Top),
                TopGiven = options.TopGiven(parse),
                Source = path,
                Inverted = inverted is not null && parse.GetValue(inverted),
                SplitThreads = splitThreads is not null && parse.GetValue(splitThreads),
                Depth = depth is null ? 12 : parse.GetValue(depth),
                Sort = sort is null ? TableSort.Bytes : parse.GetValue(sort) ?? TableSort.Bytes,
            };
            var page = parse.GetValue(options.Output) ?? (pageOnly ? DefaultOutput(report.Name, path) : null);
            return ReportOptions.Run(path, page, parse.GetValue(options.Force), output, error,
                (capture, html) => html ? report.Page(capture, request) : report.Text!(capture, request),
                options.Scope(parse), parse.GetValue(options.MaxAllocations));
        });
        return command;
    }

    /// <summary>memnb-REPORT-NAME.html for the capture NAME.memnb (or its Arrow folder NAME.memnb.arrow), in the current directory.</summary>
    internal static string DefaultOutput(string report, string capture)
    {
        var name = Path.GetFileName(Path.TrimEndingDirectorySeparator(capture));
        foreach (var extension in new[] { ".arrow", ".memnb" })
            if (name.Length > extension.Length && name.EndsWith(extension, StringComparison.OrdinalIgnoreCase))
                name = name[..^extension.Length];
        return $"memnb-{report}-{name}.html";
    }
}
