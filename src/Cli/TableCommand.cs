using System.CommandLine;
using MemNotebook.Recorder.Reports;

namespace MemNotebook.Cli;

/// <summary><c>memnb table [--all|--leaks|--temporary N] [--sort COLUMN] [--top N] [-o out.html] FILE</c></summary>
internal static class TableCommand
{
    public static Command Create(TextWriter output, TextWriter error)
    {
        var options = new ReportOptions("How many rows to list", 50);
        var sort = new Option<TableSort>("--sort")
        {
            Description = "Order by bytes, count, size (descending) or thread, type, function (ascending)",
            DefaultValueFactory = _ => TableSort.Bytes,
        };
        var command = options.AddTo(new Command("table", "Allocations by thread, type, function and size, at the peak by default") { sort });
        command.SetAction(parse =>
        {
            var selection = options.Selection(parse);
            var (order, top) = (parse.GetValue(sort), parse.GetValue(options.Top));
            var path = parse.GetValue(options.File)!;
            return ReportOptions.Run(path, parse.GetValue(options.Output), output, error, (capture, html) =>
            {
                var report = TableReport.Build(capture, selection, order, top);
                return html ? ReportHtml.Table(report, path) : ReportText.Table(report);
            });
        });
        return command;
    }
}
