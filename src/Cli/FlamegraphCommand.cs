using System.CommandLine;
using MemNotebook.Recorder.Reports;

namespace MemNotebook.Cli;

/// <summary><c>memnb flamegraph [--all|--leaks|--temporary N] [--inverted] [--split-threads] -o out.html FILE</c></summary>
internal static class FlamegraphCommand
{
    public static Command Create(TextWriter output, TextWriter error)
    {
        var options = new ReportOptions(topDescription: null);
        var inverted = new Option<bool>("--inverted") { Description = "Allocating frames at the top, their callers below" };
        var splitThreads = new Option<bool>("--split-threads") { Description = "One subtree per thread, with a thread filter" };
        var command = options.AddTo(new Command("flamegraph", "An interactive flame graph as one self-contained HTML page, at the peak by default")
        {
            inverted, splitThreads,
        });
        command.Validators.Add(result =>
        {
            if (result.GetValue(options.Output) is null)
                result.AddError("flamegraph writes an HTML page: give -o out.html");
        });
        command.SetAction(parse =>
        {
            var selection = options.Selection(parse);
            var path = parse.GetValue(options.File)!;
            var shape = new FlameGraphOptions(parse.GetValue(inverted), parse.GetValue(splitThreads), path);
            return ReportOptions.Run(path, parse.GetValue(options.Output), output, error, (capture, _) =>
            {
                var page = new StringWriter();
                FlameGraphPage.Write(capture, selection, shape, page);
                return page.ToString();
            });
        });
        return command;
    }
}
