using MemNotebook.Recorder.Arrow;
using Microsoft.Data.Analysis;
using Xunit;
using LoadedCapture = MemNotebook.Capture;

namespace MemNotebook.Recorder.Tests.Profiler;

/// <summary>
/// The Allocations DataFrame of a real traced run: its readable columns against the joined tables, and the views'
/// fast filters (rows and gathered DataFrames) against Microsoft.Data.Analysis's own Filter.
/// </summary>
public sealed class TracedDataFrameTests
{
    [Theory]
    [InlineData("sizes")]
    [InlineData("linq")]
    public void Type_and_function_columns_and_the_fast_filters_agree_with_the_joined_tables_and_the_dataframe_filter(string scenario)
    {
        var path = TracedTarget.TempCapture($"{scenario}.memnb");
        var run = TracedTarget.Start(scenario, path);
        Assert.True(run.ExitCode == 0, run.Stderr);
        var capture = LoadedCapture.Load(path, cache: ArrowCacheLocation.BesideCapture);
        var frame = capture.Allocations;
        var rowCount = (int)frame.Rows.Count;
        Assert.Equal(capture.All.Count, rowCount);
        Assert.True(rowCount >= 10_000, $"{rowCount} allocations");

        // type and function equal the types table's name of type_id and the stacks table's function of stack_id.
        var types = capture.Types;
        var typeById = Enumerable.Range(0, (int)types.Rows.Count).ToDictionary(i => (int)types["type_id"][i], i => (string)types["name"][i]);
        var stacks = capture.Stacks;
        var functionByStack = Enumerable.Range(0, (int)stacks.Rows.Count).ToDictionary(i => (int)stacks["stack_id"][i], i => (string)stacks["function"][i]);
        for (var i = 0; i < rowCount; i++)
        {
            Assert.Equal(typeById[(int)frame["type_id"][i]], (string)frame["type"][i]);
            Assert.Equal(functionByStack[(int)frame["stack_id"][i]], (string)frame["function"][i]);
        }

        // file and line: those of the innermost frame of the stack shown as the row's function, where known.
        var frames = capture.Frames;
        var frameOfIp = Enumerable.Range(0, (int)frames.Rows.Count).ToDictionary(i => (ulong)frames["ip"][i], i => i);
        var stackRow = Enumerable.Range(0, (int)stacks.Rows.Count).ToDictionary(i => (int)stacks["stack_id"][i], i => i);
        (string? File, int? Line) Source(int stackId)
        {
            var function = functionByStack[stackId];
            for (var s = stackId; s != 0; s = (int)stacks["parent_id"][stackRow[s]])
            {
                var frame = frameOfIp[(ulong)stacks["ip"][stackRow[s]]];
                if ((string)frames["function"][frame] == function)
                    return frames["file"][frame] is string file ? (file, (int?)frames["line"][frame]) : (null, null);
            }
            return (null, null);
        }
        var sourceByStack = functionByStack.Keys.ToDictionary(id => id, Source);
        for (var i = 0; i < rowCount; i++)
            Assert.Equal(sourceByStack[(int)frame["stack_id"][i]], ((string?)frame["file"][i], (int?)frame["line"][i]));
        if (scenario == "sizes")
        {
            // The arrays and markers FillShapes makes (4 of every 5 objects) are charged to its lines of Program.cs.
            var fill = Enumerable.Range(0, rowCount).Where(i => (string)frame["function"][i] == "MemNotebook.TestTarget.Scenarios.FillShapes").ToArray();
            Assert.True(fill.Length >= 16_000, $"{fill.Length} rows in FillShapes");
            var lines = File.ReadAllLines(SourceOf("Program.cs"));
            int LineOf(string text) => Array.FindIndex(lines, l => l.Contains(text, StringComparison.Ordinal)) + 1;
            Assert.All(fill, i =>
            {
                Assert.EndsWith("Program.cs", (string)frame["file"][i]);
                Assert.InRange((int)frame["line"][i], LineOf("0 => new byte[i % 977]"), LineOf("_ => new Survivor[i % 17]"));
            });
            Assert.Equal(fill.Length, capture.All.InFunction("MemNotebook.TestTarget.Scenarios.FillShapes").Allocations["file"].Length - capture.All.InFunction("MemNotebook.TestTarget.Scenarios.FillShapes").Allocations["file"].NullCount);
        }

        // Every type and function, and sizes around the median and the largest object, filter as Filter does.
        var distinctTypes = Enumerable.Range(0, rowCount).Select(i => (string)frame["type"][i]).Distinct().ToArray();
        var distinctFunctions = Enumerable.Range(0, rowCount).Select(i => (string)frame["function"][i]).Distinct().ToArray();
        Assert.True(distinctTypes.Length >= 5, string.Join(", ", distinctTypes));
        // (The DataFrames compared for the first three of each: a Filter of each is slow.)
        foreach (var (type, k) in distinctTypes.Select((t, k) => (t, k)))
            SameRows(frame, frame["type"].ElementwiseEquals(type), capture.All.OfType(type), compareFrames: k < 3);
        foreach (var (function, k) in distinctFunctions.Select((f, k) => (f, k)))
            SameRows(frame, frame["function"].ElementwiseEquals(function), capture.All.InFunction(function), compareFrames: k < 3);
        var size = frame["size"];
        foreach (var bytes in new[] { 0L, (long)size.Median(), (long)size.Max() - 1, (long)size.Max() })
            SameRows(frame, size.ElementwiseGreaterThan(bytes), capture.LargerThan(bytes));
        // Composed: the rows of one type larger than the median.
        var median = (long)size.Median();
        SameRows(frame, (PrimitiveDataFrameColumn<bool>)size.ElementwiseGreaterThan(median).And(frame["type"].ElementwiseEquals(distinctTypes[0])),
            capture.All.OfType(distinctTypes[0]).LargerThan(median));
    }

    private static string SourceOf(string name)
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "tests", "TestTarget", name);
            if (File.Exists(candidate))
                return candidate;
        }
        throw new FileNotFoundException($"tests/TestTarget/{name} above {AppContext.BaseDirectory}");
    }

    /// <summary>The view holds the rows the mask keeps, and its DataFrame equals the filtered one, column by column.</summary>
    private static void SameRows(DataFrame frame, PrimitiveDataFrameColumn<bool> mask, Recorder.Analysis.AllocationView view, bool compareFrames = true)
    {
        var expectedRows = Enumerable.Range(0, (int)frame.Rows.Count).Where(i => mask[i] == true).ToArray();
        Assert.Equal(expectedRows, view.Rows);
        if (!compareFrames)
            return;
        var expected = frame.Filter(mask);
        var actual = view.Allocations;
        Assert.Equal(expected.Columns.Select(c => (c.Name, c.DataType)), actual.Columns.Select(c => (c.Name, c.DataType)));
        Assert.Equal(expected.Rows.Count, actual.Rows.Count);
        foreach (var column in expected.Columns)
        {
            var other = actual[column.Name];
            Assert.Equal(column.NullCount, other.NullCount);
            for (long i = 0; i < column.Length; i++)
                Assert.Equal(column[i], other[i]);
        }
    }
}
