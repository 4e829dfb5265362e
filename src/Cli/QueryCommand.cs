using System.CommandLine;
using MemNotebook.Recorder.Format;
using MemNotebook.Recorder.Sql;

namespace MemNotebook.Cli;

/// <summary><c>memnb query 'SQL' CAPTURE... [--csv | --json]</c></summary>
internal static class QueryCommand
{
    public static Command Create(TextWriter output, TextWriter error)
    {
        var sql = new Argument<string>("SQL") { Description = "The query (DuckDB SQL; tables and views: docs/sql.md)" };
        var captures = new Argument<string[]>("CAPTURE") { Description = "Captures (.memnb) or their Arrow folders", Arity = ArgumentArity.OneOrMore };
        var csv = new Option<bool>("--csv") { Description = "Print CSV instead of a table" };
        var json = new Option<bool>("--json") { Description = "Print a JSON array of rows instead of a table" };
        var maxAllocations = CliValues.MaxAllocations();
        var command = new Command("query", "Run SQL over captures (a capture column tells them apart)") { sql, captures, csv, json, maxAllocations };
        command.Validators.Add(result =>
        {
            if (result.GetValue(csv) && result.GetValue(json))
                result.AddError("--csv and --json exclude each other");
        });
        command.SetAction(parse => Execute(parse.GetValue(sql)!, parse.GetValue(captures)!,
            parse.GetValue(csv) ? SqlFormat.Csv : parse.GetValue(json) ? SqlFormat.Json : SqlFormat.Table,
            parse.GetValue(maxAllocations), output, error));
        return command;
    }

    private static int Execute(string sql, string[] paths, SqlFormat format, long? maxAllocations, TextWriter output, TextWriter error)
    {
        if (SqlCommandSupport.Open(paths, maxAllocations, error, out var session) is { } failed)
            return failed;
        using (session)
        {
            try
            {
                // Written to a buffer first: a query that fails part way prints nothing.
                var text = new StringWriter { NewLine = "\n" };
                session!.Run(sql, reader => SqlOutput.Write(reader, text, format));
                output.Write(text.ToString());
                return (int)ExitCode.Ok;
            }
            catch (SqlQueryException ex)
            {
                error.WriteLine($"memnb: {ex.Message}");
                return (int)ExitCode.Usage;
            }
        }
    }
}

/// <summary>Captures given on the command line made ready for SQL, each problem one message and an exit code.</summary>
internal static class SqlCommandSupport
{
    public static int? Open(string[] paths, long? maxAllocations, TextWriter error, out SqlSession? session)
    {
        session = null;
        if (Prepare(paths, maxAllocations, error, out var captures) is { } failed)
            return failed;
        session = SqlSession.Open(captures!);
        return null;
    }

    public static int? Prepare(string[] paths, long? maxAllocations, TextWriter error, out SqlCapture[]? captures)
    {
        captures = null;
        foreach (var path in paths)
            if (!File.Exists(path) && !Directory.Exists(path))
            {
                error.WriteLine($"memnb: {path}: no such file");
                return (int)ExitCode.IoError;
            }
        var names = SqlCaptures.Names(paths);
        var list = new SqlCapture[paths.Length];
        // Converting a capture is the long step: its progress on the terminal (nothing when stderr is not one).
        var failure = CliProgress.Run(error, steps =>
        {
            for (var i = 0; i < paths.Length; i++)
            {
                try
                {
                    var progress = File.Exists(paths[i]) ? steps.Step($"converting {Path.GetFileName(paths[i])} to Arrow") : null;
                    list[i] = SqlCaptures.Of(paths[i], names[i], maxAllocations, progress);
                }
                catch (Exception ex) when (CaptureErrors.Handles(ex))
                {
                    return (Exception: ex, Path: paths[i]);
                }
            }
            return ((Exception Exception, string Path)?)null;
        });
        if (failure is { } f)
            return CaptureErrors.Report(f.Exception, error, $"read {f.Path}");
        captures = list;
        return null;
    }
}
