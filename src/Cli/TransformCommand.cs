using System.CommandLine;
using MemNotebook.Recorder.Arrow;
using MemNotebook.Recorder.Format;
using MemNotebook.Recorder.Exports;

namespace MemNotebook.Cli;

/// <summary><c>memnb transform arrow|csv FILE -o DIR</c>, <c>memnb transform speedscope FILE -o OUT.json</c></summary>
internal static class TransformCommand
{
    public static Command Create(TextWriter output, TextWriter error) => new("transform", "Convert a capture to other formats")
    {
        ParquetCommand.Create(error),
        Format("arrow", "Arrow IPC files, one per table (allocations, stacks, frames, types, threads, timeline, gc_events)", "DIR", true,
            (capture, target, maxAllocations) =>
            {
                var conversion = CliProgress.Run(error, steps => ArrowConverter.Convert(capture, target, steps.Step("converting to Arrow"), new CaptureReaderOptions { MaxAllocations = maxAllocations }));
                return string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{conversion.Metadata.Allocations:N0} allocations");
            }, error),
        Format("csv", "CSV files, one per table", "DIR", true,
            (capture, target, maxAllocations) =>
            {
                return CliProgress.Run(error, steps =>
                {
                    var folder = ArrowConverter.EnsureConverted(capture, steps.Step("converting to Arrow"), maxAllocations).Folder;
                    steps.Indeterminate("writing CSV");
                    return $"{CsvExport.WriteAll(folder, target).Count} tables";
                });
            }, error),
        Format("speedscope", "speedscope JSON: allocated, peak and leaked bytes by stack", "OUT.json", false,
            (capture, target, maxAllocations) =>
            {
                var loaded = CliProgress.Run(error, steps =>
                {
                    var read = MemNotebook.Capture.Load(capture, steps.Step("reading the capture"), maxAllocations);
                    steps.Indeterminate("writing speedscope JSON");
                    try
                    {
                        using var file = MemNotebook.Recorder.Storage.PrivateFiles.Create(target);
                        SpeedscopeExport.Write(read, file);
                    }
                    catch (InvalidDataException)
                    {
                        // Refused part way (too large): no half-written file is left behind.
                        File.Delete(target);
                        throw;
                    }
                    return read;
                });
                return loaded.IsAggregated ? "aggregated totals" : string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{loaded.All.Count:N0} allocations");
            }, error),
    };

    /// <param name="folder">Whether the output is a folder of files (else one file).</param>
    /// <param name="convert">Converts (capture, target, --max-allocations) and says what it wrote.</param>
    private static Command Format(string name, string description, string targetName, bool folder, Func<string, string, long?, string> convert, TextWriter error)
    {
        var file = CliValues.CaptureFile("The capture (.memnb)");
        var target = new Option<string>("--output", "-o") { Description = $"Where to write ({targetName})", Required = true };
        var force = new Option<bool>("--force")
        {
            Description = folder ? "Write into a folder that is not empty (never the input's)" : "Overwrite an existing output (never the input)",
        };
        var maxAllocations = CliValues.MaxAllocations();
        var command = new Command(name, description) { file, target, force, maxAllocations };
        command.SetAction(parse => Execute(parse.GetValue(file)!, parse.GetValue(target)!, folder, parse.GetValue(force),
            (capture, output) => convert(capture, output, parse.GetValue(maxAllocations)), error));
        return command;
    }

    private static int Execute(string path, string target, bool folder, bool force, Func<string, string, string> convert, TextWriter error)
    {
        if (!File.Exists(path))
        {
            error.WriteLine(Directory.Exists(path) ? $"memnb: {path} is a directory, not a capture" : $"memnb: {path}: no such file");
            return (int)ExitCode.IoError;
        }
        if ((folder ? OutputTarget.FolderProblem(path, target, force) : OutputTarget.FileProblem(path, target, force)) is { } problem)
        {
            error.WriteLine($"memnb: {problem}");
            return (int)ExitCode.Usage;
        }
        try
        {
            var what = convert(path, target);
            error.WriteLine($"memnb: wrote {target} ({what})");
            return (int)ExitCode.Ok;
        }
        catch (Exception ex) when (CaptureErrors.Handles(ex))
        {
            return CaptureErrors.Report(ex, error, $"write {target}");
        }
    }
}
