using System.CommandLine;
using MemNotebook.Recorder.Reports;

namespace MemNotebook.Cli;

/// <summary><c>memnb summary [--all|--leaks|--temporary N] [--top N] [-o out.html] FILE</c></summary>
internal static class SummaryCommand
{
    public static Command Create(TextWriter output, TextWriter error)
    {
        var options = new ReportOptions("How many functions to list", 20);
        var command = options.AddTo(new Command("summary", "Functions by total bytes (on the stack) and own bytes (allocated there), at the peak by default"));
        command.SetAction(parse =>
        {
            var selection = options.Selection(parse);
            var top = parse.GetValue(options.Top);
            var path = parse.GetValue(options.File)!;
            return ReportOptions.Run(path, parse.GetValue(options.Output), parse.GetValue(options.Force), output, error, (capture, html) =>
            {
                var report = SummaryReport.Build(capture, selection, top);
                return html ? ReportHtml.Summary(report, path) : ReportText.Summary(report);
            }, options.Scope(parse), parse.GetValue(options.MaxAllocations));
        });
        return command;
    }
}
