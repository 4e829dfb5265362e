using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using MemNotebook.Recorder.Arrow;
using Microsoft.Data.Analysis;
using Xunit;
using LoadedCapture = MemNotebook.Capture;

namespace MemNotebook.Recorder.Tests.Arrow;

/// <summary>
/// The Arrow files open unchanged in another Arrow implementation: tests/interop-js reads every table
/// with npm's apache-arrow (installed by scripts/test.sh with npm ci) and prints what it saw.
/// </summary>
public class JavaScriptInteropTests
{
    private static string InteropFolder
    {
        get
        {
            for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            {
                var candidate = Path.Combine(dir.FullName, "tests", "interop-js");
                if (File.Exists(Path.Combine(candidate, "read-tables.mjs")))
                    return candidate;
            }
            throw new InvalidOperationException("tests/interop-js not found above " + AppContext.BaseDirectory);
        }
    }

    private static JsonElement ReadWithJavaScript(string arrowFolder)
    {
        var folder = InteropFolder;
        Assert.True(Directory.Exists(Path.Combine(folder, "node_modules", "apache-arrow")),
            $"apache-arrow is not installed in {folder}: run `npm ci` there (scripts/test.sh does)");
        var psi = new ProcessStartInfo("node") { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = folder };
        psi.ArgumentList.Add("read-tables.mjs");
        psi.ArgumentList.Add(arrowFolder);
        Process process;
        try
        {
            process = Process.Start(psi)!;
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            Assert.Fail($"node is required for the Arrow interop test and could not be started: {ex.Message}");
            throw;
        }
        using (process)
        {
            var stderr = process.StandardError.ReadToEndAsync();
            var stdout = process.StandardOutput.ReadToEnd();
            process.WaitForExit();
            Assert.True(process.ExitCode == 0, $"node read-tables.mjs failed: {stderr.Result}");
            return JsonDocument.Parse(stdout).RootElement.Clone();
        }
    }

    [Fact]
    public void Javascript_arrow_reads_every_table_with_the_same_rows_and_values()
    {
        using var scratch = new ScratchFolder();
        var path = scratch.Write("big.memnb", BigCapture.Create());
        var capture = LoadedCapture.Load(path);
        var js = ReadWithJavaScript(capture.ArrowFolder);
        foreach (var table in ArrowLayout.TableNames)
        {
            var frame = Frame(capture, table);
            var seen = js.GetProperty(table);
            Assert.Equal(frame.Rows.Count, seen.GetProperty("rows").GetInt64());
            Assert.Equal(ArrowLayout.SchemaOf(table).FieldsList.Select(f => f.Name),
                seen.GetProperty("columns").EnumerateArray().Select(c => c.GetString()!.Split(':')[0]));
            if (frame.Rows.Count == 0)
                continue;
            AssertRow(frame, 0, seen.GetProperty("first"), table);
            AssertRow(frame, frame.Rows.Count - 1, seen.GetProperty("last"), table);
        }
        var allocations = js.GetProperty("allocations");
        Assert.Equal(Convert.ToInt64(capture.Allocations["size"].Sum()).ToString(CultureInfo.InvariantCulture),
            allocations.GetProperty("size_sum").GetString());
        Assert.Equal(capture.Allocations["freed_at_ns"].NullCount, allocations.GetProperty("freed_nulls").GetInt64());
    }

    private static DataFrame Frame(LoadedCapture capture, string table) => table switch
    {
        ArrowLayout.Allocations => capture.Allocations,
        ArrowLayout.Stacks => capture.Stacks,
        ArrowLayout.Frames => capture.Frames,
        ArrowLayout.Types => capture.Types,
        ArrowLayout.Threads => capture.Threads,
        ArrowLayout.Timeline => capture.Timeline,
        _ => capture.GcEvents,
    };

    private static void AssertRow(DataFrame frame, long row, JsonElement seen, string table)
    {
        foreach (var column in frame.Columns)
        {
            object? cell = column[row];
            var expected = cell switch
            {
                null => "null",
                bool b => b ? "true" : "false",
                IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
                var other => other.ToString()!,
            };
            var value = seen.GetProperty(column.Name);
            var actual = value.ValueKind switch
            {
                JsonValueKind.Null => "null",
                JsonValueKind.True => "true",
                JsonValueKind.False => "false",
                JsonValueKind.String => value.GetString(),
                _ => value.GetRawText(),
            };
            Assert.True(expected == actual, $"{table}.{column.Name}[{row}]: C# {expected}, JavaScript {actual}");
        }
    }
}
