using System.CommandLine;

namespace MemNotebook.Cli;

/// <summary>The memnb command tree. <see cref="Run"/> is the whole CLI, callable in-process by tests.</summary>
public static class MemnbCommandLine
{
    public static int Run(string[] args, TextWriter output, TextWriter error)
    {
        var root = new RootCommand("MemNotebook: exact memory profiling for .NET")
        {
            StatsCommand.Create(output, error),
            RunCommand.Create(output, error),
            TransformCommand.Create(output, error),
            SummaryCommand.Create(output, error),
            TreeCommand.Create(output, error),
            TableCommand.Create(output, error),
            FlamegraphCommand.Create(output, error),
            TimelineCommand.Create(output, error),
            JupyterCommand.Create(output, error),
        };
        var parse = root.Parse(args);
        return parse.Invoke(new InvocationConfiguration { Output = output, Error = error });
    }
}
