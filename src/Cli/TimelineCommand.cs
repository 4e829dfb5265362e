using System.CommandLine;
using MemNotebook.Recorder.Reports;

namespace MemNotebook.Cli;

/// <summary><c>memnb timeline [-o out.html] FILE</c></summary>
internal static class TimelineCommand
{
    public static Command Create(TextWriter output, TextWriter error)
    {
        var file = new Argument<string>("FILE") { Description = "The capture (.memnb) or its Arrow folder" };
        file.Validators.Add(result =>
        {
            var value = result.GetValueOrDefault<string>();
            if (value is { Length: > 1 } && value[0] == '-')
                result.AddError($"Unrecognized option '{value}'.");
        });
        var html = new Option<string?>("--output", "-o") { Description = "Write a self-contained HTML page (plotly.js embedded) instead", HelpName = "out.html" };
        var command = new Command("timeline", "Memory over time: RSS, managed heap per generation, tracked live bytes, GCs with their pauses") { file, html };
        command.SetAction(parse =>
        {
            var path = parse.GetValue(file)!;
            return ReportOptions.Run(path, parse.GetValue(html), output, error, (capture, asHtml) =>
            {
                var data = TimelineReport.Data(capture);
                return asHtml ? TimelineReport.RenderPage(data, path) : TimelineReport.ToText(data, path);
            });
        });
        return command;
    }
}
