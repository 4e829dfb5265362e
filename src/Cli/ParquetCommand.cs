using System.CommandLine;
using MemNotebook.Recorder.Arrow;
using MemNotebook.Recorder.Sql;

namespace MemNotebook.Cli;

/// <summary>
/// <c>memnb transform parquet CAPTURE... -o DIR</c>: <c>DIR/TABLE/capture=NAME/part-0.parquet</c> (hive-style
/// partitions; docs/sql.md). Written into a staging folder and moved into place: a failure leaves nothing behind.
/// </summary>
internal static class ParquetCommand
{
    public const string PartFile = "part-0.parquet";

    public static Command Create(TextWriter error)
    {
        var captures = new Argument<string[]>("CAPTURE") { Description = "Captures (.memnb) or their Arrow folders", Arity = ArgumentArity.OneOrMore };
        var target = new Option<string>("--output", "-o") { Description = "Where to write (DIR)", Required = true };
        var force = new Option<bool>("--force") { Description = "Write into a folder that is not empty (never an input's); partitions of the same captures are replaced" };
        var maxAllocations = CliValues.MaxAllocations();
        var command = new Command("parquet", "Parquet files, one folder per table, partitioned by capture (capture=NAME/)") { captures, target, force, maxAllocations };
        command.SetAction(parse => Execute(parse.GetValue(captures)!, parse.GetValue(target)!, parse.GetValue(force), parse.GetValue(maxAllocations), error));
        return command;
    }

    private static int Execute(string[] paths, string target, bool force, long? maxAllocations, TextWriter error)
    {
        foreach (var path in paths)
            if ((File.Exists(path) || Directory.Exists(path)) && OutputTarget.FolderProblem(path, target, force) is { } problem)
            {
                error.WriteLine($"memnb: {problem}");
                return (int)ExitCode.Usage;
            }
        if (SqlCommandSupport.Prepare(paths, maxAllocations, error, out var captures) is { } failed)
            return failed;
        var full = Path.GetFullPath(target).TrimEnd('/');
        var staging = full + ".tmp-" + Guid.NewGuid().ToString("N")[..8];
        try
        {
            // 0700, like every export: the files name the traced code's types and methods.
            MemNotebook.Recorder.Storage.PrivateFiles.CreateDirectory(staging);
            var tables = 0;
            foreach (var capture in captures!)
                foreach (var table in ArrowLayout.TableNamesFor(capture.Aggregated))
                {
                    var partition = Path.Combine(staging, table, "capture=" + capture.Name);
                    Directory.CreateDirectory(partition);
                    File.Copy(ParquetTables.TablePath(capture.ParquetFolder, table), Path.Combine(partition, PartFile));
                    tables++;
                }
            if (!Directory.Exists(full))
                Directory.Move(staging, full);
            else
                foreach (var table in Directory.GetDirectories(staging))
                    foreach (var partition in Directory.GetDirectories(table))
                    {
                        var into = Path.Combine(full, Path.GetFileName(table), Path.GetFileName(partition));
                        Directory.CreateDirectory(Path.GetDirectoryName(into)!);
                        if (Directory.Exists(into))
                            Directory.Delete(into, recursive: true);
                        Directory.Move(partition, into);
                    }
            error.WriteLine($"memnb: wrote {target} ({captures.Length} capture{(captures.Length == 1 ? "" : "s")}, {tables} Parquet files)");
            return (int)ExitCode.Ok;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            error.WriteLine($"memnb: cannot write {target}: {ex.Message}");
            return (int)ExitCode.IoError;
        }
        finally
        {
            if (Directory.Exists(staging))
                Directory.Delete(staging, recursive: true);
        }
    }
}
