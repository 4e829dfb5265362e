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
    internal static string InteropFolder
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

    private static JsonElement ReadWithJavaScript(string arrowFolder) => RunNode("read-tables.mjs", "apache-arrow", arrowFolder);

    /// <summary>Runs a script of tests/interop-js on one folder and parses the JSON it prints.</summary>
    internal static JsonElement RunNode(string script, string package, string folderArgument)
    {
        var folder = InteropFolder;
        Assert.True(Directory.Exists(Path.Combine(folder, "node_modules", package)),
            $"{package} is not installed in {folder}: run `npm ci` there (scripts/test.sh does)");
        var psi = new ProcessStartInfo("node") { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = folder };
        psi.ArgumentList.Add(script);
        psi.ArgumentList.Add(folderArgument);
        Process process;
        try
        {
            process = Process.Start(psi)!;
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            Assert.Fail($"node is required for the JavaScript interop tests and could not be started: {ex.Message}");
            throw;
        }
        using (process)
        {
            var stderr = process.StandardError.ReadToEndAsync();
            var stdout = process.StandardOutput.ReadToEnd();
            process.WaitForExit();
            Assert.True(process.ExitCode == 0, $"node {script} failed: {stderr.Result}");
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

    [Fact]
    public void Javascript_arrow_reads_the_allocator_dictionary_of_a_capture_with_native_allocations()
    {
        var w = new Capture.TestCaptureWriter(flags: MemNotebook.Recorder.Format.CaptureFormat.FlagNative);
        w.Chunk(0).Clock(10, 100).Type(0, 1, "App.Node").StackNode(1, 0, 0x10).Frame(0x10, 1, "compress", "libz.so")
            .Thread(2, 7, 1).Write();
        var chunk = w.Chunk(2);
        ulong t = 20;
        // 70,000 rows: more than one batch, every allocator kind, managed rows between native ones.
        for (var i = 0; i < 70_000; i++)
        {
            var kind = (byte)(i % 10);
            if (kind == 0)
                chunk.Alloc(t++, 0, 32, 1, (ulong)(0x100000 + i * 64));
            else
                chunk.NativeAlloc(t++, kind, 4096, 1, (ulong)(0x7f0000000000 + (ulong)i * 8192));
        }
        chunk.Write(zstd: true);
        using var scratch = new ScratchFolder();
        var capture = LoadedCapture.Load(scratch.Write("native.memnb", w));
        var js = ReadWithJavaScript(capture.ArrowFolder);
        var allocator = (StringDataFrameColumn)capture.Allocations["allocator"];
        var expected = Enumerable.Range(0, (int)allocator.Length).GroupBy(i => allocator[i]).ToDictionary(g => g.Key!, g => g.Count());
        Assert.Equal(10, expected.Count);
        Assert.Equal(7_000, expected["mmap"]);
        Assert.Equal(7_000, expected["posix_memalign"]);
        var seen = js.GetProperty("allocations").GetProperty("allocators").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetInt32());
        Assert.Equal(expected.OrderBy(e => e.Key), seen.OrderBy(e => e.Key));
        AssertRow(capture.Allocations, 69_999, js.GetProperty("allocations").GetProperty("last"), "allocations");
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

    // The columns the table's file holds: the DataFrame adds readable columns (type, function) derived
    // from the other tables, which no file stores.
    internal static IEnumerable<DataFrameColumn> StoredColumns(DataFrame frame, string table)
    {
        var stored = ArrowLayout.SchemaOf(table).FieldsList.Select(f => f.Name).ToHashSet();
        return frame.Columns.Where(c => stored.Contains(c.Name));
    }

    private static void AssertRow(DataFrame frame, long row, JsonElement seen, string table)
    {
        foreach (var column in StoredColumns(frame, table))
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
