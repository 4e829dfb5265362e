using System.CommandLine;
using MemNotebook.Recorder.Reports;

namespace MemNotebook.Cli;

/// <summary><c>memnb flamegraph [--all|--leaks|--temporary N] [--inverted] [--split-threads] [-o out.html] [--force] FILE</c></summary>
internal static class FlamegraphCommand
{
    public static Command Create(TextWriter output, TextWriter error)
    {
        var options = new ReportOptions(topDescription: null);
        options.Output.Description = "The HTML page to write (default memnb-flamegraph-<capture name>.html in the current directory)";
        var inverted = new Option<bool>("--inverted") { Description = "Allocating frames at the top, their callers below" };
        var splitThreads = new Option<bool>("--split-threads") { Description = "One subtree per thread, with a thread filter" };
        var command = options.AddTo(new Command("flamegraph", "An interactive flame graph as one self-contained HTML page, at the peak by default")
        {
            inverted, splitThreads,
        });
        command.SetAction(parse =>
        {
            var selection = options.Selection(parse);
            var path = parse.GetValue(options.File)!;
            var shape = new FlameGraphOptions(parse.GetValue(inverted), parse.GetValue(splitThreads), path);
            var page = parse.GetValue(options.Output) ?? DefaultOutput(path);
            return ReportOptions.Run(path, page, parse.GetValue(options.Force), output, error, (capture, _) =>
            {
                var html = new StringWriter();
                FlameGraphPage.Write(capture, selection, shape, html);
                return html.ToString();
            }, options.Scope(parse), parse.GetValue(options.MaxAllocations));
        });
        return command;
    }

    /// <summary>memnb-flamegraph-NAME.html for the capture NAME.memnb (or its Arrow folder NAME.memnb.arrow), in the current directory.</summary>
    internal static string DefaultOutput(string capture)
    {
        var name = Path.GetFileName(Path.TrimEndingDirectorySeparator(capture));
        foreach (var extension in new[] { ".arrow", ".memnb" })
            if (name.Length > extension.Length && name.EndsWith(extension, StringComparison.OrdinalIgnoreCase))
                name = name[..^extension.Length];
        return $"memnb-flamegraph-{name}.html";
    }
}
