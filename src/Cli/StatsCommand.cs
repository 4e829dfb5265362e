using System.CommandLine;
using MemNotebook.Recorder.Analysis;
using MemNotebook.Recorder.Format;
using MemNotebook.Recorder.Reports;

namespace MemNotebook.Cli;

/// <summary><c>memnb stats [--json | -o stats.html] [--top N] FILE</c></summary>
internal static class StatsCommand
{
    public static Command Create(TextWriter output, TextWriter error)
    {
        var file = CliValues.CaptureFile("The capture (.memnb) to summarize");
        var json = new Option<bool>("--json") { Description = "Print JSON instead of text" };
        var report = ReportCatalog.Find("stats")!;
        var top = CliValues.WholeNumber("--top", 0, report.DefaultTop, report.TopDescription!);
        var html = new Option<string?>("--output", "-o")
        {
            Description = "Write a self-contained HTML page (size histogram, types, functions by bytes and by count) instead",
            HelpName = "stats.html",
        };
        var force = ReportOptions.ForceOption();
        var maxAllocations = CliValues.MaxAllocations();
        var command = new Command(report.Name, report.Description) { file, json, top, html, force, maxAllocations };
        command.Validators.Add(result =>
        {
            if (result.GetValue(json) && result.GetValue(html) is not null)
                result.AddError("--json and -o exclude each other");
        });
        command.SetAction(parse =>
        {
            var path = parse.GetValue(file)!;
            if (parse.GetValue(html) is { } page)
            {
                // The page needs the loaded tables (sizes, rankings by count), not the streaming pass.
                var n = parse.GetValue(top);
                return ReportOptions.Run(path, page, parse.GetValue(force), output, error, (capture, _) => report.Page(capture, new ReportRequest { Top = n, Source = path }),
                    maxAllocations: parse.GetValue(maxAllocations));
            }
            return Execute(path, parse.GetValue(json), parse.GetValue(top), parse.GetValue(maxAllocations), output, error);
        });
        return command;
    }

    private static int Execute(string path, bool json, int top, long? maxAllocations, TextWriter output, TextWriter error)
    {
        if (!File.Exists(path))
        {
            error.WriteLine(Directory.Exists(path) ? $"memnb: {path} is a directory, not a capture" : $"memnb: {path}: no such file");
            return (int)ExitCode.IoError;
        }
        CaptureStats stats;
        try
        {
            stats = CliProgress.Run(error, steps =>
                CaptureStats.Compute(path, top, new CaptureReaderOptions { MaxAllocations = maxAllocations }, steps.Step("reading the capture")));
        }
        catch (Exception ex) when (CaptureErrors.Handles(ex))
        {
            return CaptureErrors.Report(ex, error, $"read {path}");
        }
        if (stats.Truncated)
            error.WriteLine($"memnb: warning: {path} is truncated at offset {stats.TruncatedAtOffset} ({stats.TruncationReason}); showing the data before it");
        else if (!stats.Complete)
            error.WriteLine($"memnb: warning: {path} has no END record (recording did not stop cleanly); showing what it holds");
        if (json)
        {
            output.WriteLine(StatsJson.ToJson(stats));
        }
        else
        {
            output.Write(StatsText.ToText(stats, top));
        }
        output.Flush();
        return (int)ExitCode.Ok;
    }
}
