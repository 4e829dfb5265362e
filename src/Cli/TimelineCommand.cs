using System.CommandLine;
using MemNotebook.Recorder.Reports;

namespace MemNotebook.Cli;

/// <summary><c>memnb timeline [-o out.html] FILE</c></summary>
internal static class TimelineCommand
{
    public static Command Create(TextWriter output, TextWriter error)
    {
        var file = CliValues.CaptureFile("The capture (.memnb) or its Arrow folder");
        var html = new Option<string?>("--output", "-o") { Description = "Write a self-contained HTML page (plotly.js embedded) instead", HelpName = "out.html" };
        var force = ReportOptions.ForceOption();
        var maxAllocations = CliValues.MaxAllocations();
        var command = new Command("timeline", "Memory over time: RSS, managed heap per generation, tracked live bytes, GCs with their pauses")
        {
            file, html, force, maxAllocations,
        };
        command.SetAction(parse =>
        {
            var path = parse.GetValue(file)!;
            return ReportOptions.Run(path, parse.GetValue(html), parse.GetValue(force), output, error, (capture, asHtml) =>
            {
                var data = TimelineReport.Data(capture);
                return asHtml ? TimelineReport.RenderPage(data, path) : TimelineReport.ToText(data, path);
            }, maxAllocations: parse.GetValue(maxAllocations));
        });
        return command;
    }
}
