using System.CommandLine;
using MemNotebook.Recorder.Reports;

namespace MemNotebook.Cli;

/// <summary><c>memnb table [--all|--leaks|--temporary N] [--sort COLUMN] [--top N] [-o out.html] FILE</c></summary>
internal static class TableCommand
{
    public static Command Create(TextWriter output, TextWriter error)
    {
        var options = new ReportOptions("How many rows to list (the HTML page holds every row unless given)", 50);
        var sort = CliValues.Choice("--sort", TableSort.Bytes, "Order by bytes, count, size (descending) or thread, type, function (ascending)");
        var command = options.AddTo(new Command("table", "Allocations by thread, type, function and size, at the peak by default") { sort });
        command.SetAction(parse =>
        {
            var selection = options.Selection(parse);
            var order = parse.GetValue(sort) ?? TableSort.Bytes;
            // The page has a pager over its rows: every row, unless --top says otherwise.
            var top = parse.GetValue(options.Output) is not null && parse.GetResult(options.Top) is not { Implicit: false }
                ? int.MaxValue : parse.GetValue(options.Top);
            var path = parse.GetValue(options.File)!;
            return ReportOptions.Run(path, parse.GetValue(options.Output), parse.GetValue(options.Force), output, error, (capture, html) =>
            {
                var report = TableReport.Build(capture, selection, order, top);
                return html ? ReportHtml.Table(report, path) : ReportText.Table(report);
            }, options.Scope(parse), parse.GetValue(options.MaxAllocations));
        });
        return command;
    }
}
