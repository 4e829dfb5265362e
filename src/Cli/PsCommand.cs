using System.CommandLine;
using MemNotebook.Recorder.Attaching;

namespace MemNotebook.Cli;

/// <summary><c>memnb ps</c>: the .NET processes memnb attach can record (those with a diagnostics port).</summary>
internal static class PsCommand
{
    public static Command Create(TextWriter output, TextWriter error)
    {
        var command = new Command("ps", "List the running .NET processes memnb attach can record: id, name, command line");
        command.SetAction(_ =>
        {
            var processes = AttachableProcess.List();
            if (processes.Count == 0)
            {
                error.WriteLine("memnb: no .NET process with a diagnostics port is running as this user");
                return (int)ExitCode.Ok;
            }
            var width = processes.Max(p => p.ProcessId.ToString().Length);
            var nameWidth = processes.Max(p => p.Name.Length);
            foreach (var p in processes)
                output.WriteLine($"{p.ProcessId.ToString().PadLeft(width)}  {p.Name.PadRight(nameWidth)}  {p.CommandLine}{(p.TracerLoaded ? "   [memnb tracer loaded]" : "")}");
            return (int)ExitCode.Ok;
        });
        return command;
    }
}
