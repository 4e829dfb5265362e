using System.CommandLine;
using MemNotebook.Recorder.Reports;

namespace MemNotebook.Cli;

/// <summary><c>memnb tree [--all|--leaks|--temporary N] [--inverted] [--split-threads] [--depth N] [--top N] [-o out.html] FILE</c></summary>
internal static class TreeCommand
{
    public static Command Create(TextWriter output, TextWriter error)
    {
        var options = new ReportOptions("How many children of each frame to show", 5);
        var depth = CliValues.WholeNumber("--depth", 1, 12, "How many frames deep to show");
        var inverted = new Option<bool>("--inverted") { Description = "Allocating frames at the top, their callers below" };
        var splitThreads = new Option<bool>("--split-threads") { Description = "One subtree per thread" };
        var command = options.AddTo(new Command("tree", "The biggest allocation paths as a tree of frames, at the peak by default")
        {
            depth, inverted, splitThreads,
        });
        command.SetAction(parse =>
        {
            var selection = options.Selection(parse);
            var (maxDepth, width) = (parse.GetValue(depth), parse.GetValue(options.Top));
            var path = parse.GetValue(options.File)!;
            return ReportOptions.Run(path, parse.GetValue(options.Output), parse.GetValue(options.Force), output, error, (capture, html) =>
            {
                var tree = FlameTree.Build(capture, selection, parse.GetValue(inverted), parse.GetValue(splitThreads));
                return html ? ReportHtml.Tree(tree, path, maxDepth, width) : ReportText.Tree(tree, maxDepth, width);
            }, options.Scope(parse), parse.GetValue(options.MaxAllocations));
        });
        return command;
    }
}
