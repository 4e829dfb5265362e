using System.CommandLine;
using MemNotebook.Recorder.Analysis;
using MemNotebook.Recorder.Arrow;

namespace MemNotebook.Cli;

/// <summary>
/// <c>memnb cache</c>: where the per-user cache of converted tables is and how much it holds;
/// <c>memnb cache clear</c>: removes those tables (they are made again from each capture when next needed).
/// </summary>
internal static class CacheCommand
{
    public static Command Create(TextWriter output, TextWriter error)
    {
        var clear = new Command("clear", $"Remove the cached tables ({string.Join("/, ", ArrowCache.Folders)}/ of the per-user cache); captures are never removed");
        clear.SetAction(_ => Run(error, () =>
        {
            var bytes = ArrowCache.Clear();
            output.WriteLine($"removed {ByteUnits.Format(bytes)} of cached tables from {ArrowCache.Root}");
        }));
        var command = new Command("cache", "Show the per-user cache of converted tables (folder and size)") { clear };
        command.SetAction(_ => Run(error, () =>
        {
            output.WriteLine(ArrowCache.Root);
            output.WriteLine($"  {ByteUnits.Format(ArrowCache.Bytes())} of cached tables ({string.Join("/, ", ArrowCache.Folders)}/); `memnb cache clear` removes them");
            output.WriteLine($"  {ArrowCache.Variable}=beside keeps a capture's tables in x.memnb.arrow/ beside it instead; the notebook uses this cache unless so");
        }));
        return command;
    }

    private static int Run(TextWriter error, Action action)
    {
        try
        {
            action();
            return (int)ExitCode.Ok;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            error.WriteLine($"memnb cache: {ex.Message}");
            return (int)ExitCode.IoError;
        }
    }
}
