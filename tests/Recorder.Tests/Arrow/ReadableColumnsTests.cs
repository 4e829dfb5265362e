using MemNotebook.Recorder.Analysis;
using MemNotebook.Recorder.Arrow;
using MemNotebook.Recorder.Tests.Cli;
using Microsoft.Data.Analysis;
using Xunit;
using LoadedCapture = MemNotebook.Capture;

namespace MemNotebook.Recorder.Tests.Arrow;

/// <summary>The Allocations DataFrame's type and function columns, the views' fast filters, the compressed cache.</summary>
public sealed class ReadableColumnsTests
{
    [Fact]
    public void Type_and_function_columns_equal_the_joined_tables_on_every_row()
    {
        using var scratch = new ScratchFolder();
        var path = scratch.Write("big.memnb", BigCapture.Create());
        var capture = LoadedCapture.Load(Path.Combine(scratch.Root, "big.memnb"), cache: ArrowCacheLocation.BesideCapture);
        var frame = capture.Allocations;
        var types = capture.Types;
        var typeById = Enumerable.Range(0, (int)types.Rows.Count).ToDictionary(i => (int)types["type_id"][i], i => (string)types["name"][i]);
        var stacks = capture.Stacks;
        var functionByStack = Enumerable.Range(0, (int)stacks.Rows.Count).ToDictionary(i => (int)stacks["stack_id"][i], i => (string)stacks["function"][i]);
        Assert.Equal(150_000, frame.Rows.Count);
        for (var i = 0; i < frame.Rows.Count; i++)
        {
            Assert.Equal(typeById[(int)frame["type_id"][i]], (string)frame["type"][i]);
            Assert.Equal(functionByStack[(int)frame["stack_id"][i]], (string)frame["function"][i]);
        }
        // One string per distinct name, shared by its rows.
        var column = (StringDataFrameColumn)frame["type"];
        Assert.Same(column[0], column[Enumerable.Range(1, 149_999).First(i => column[i] == column[0])]);
    }

    [Fact]
    public void The_views_filters_keep_the_rows_a_dataframe_filter_keeps()
    {
        using var scratch = new ScratchFolder();
        var path = scratch.Write("big.memnb", BigCapture.Create());
        var capture = LoadedCapture.Load(path, cache: ArrowCacheLocation.BesideCapture);
        var frame = capture.Allocations;
        var size = frame["size"];
        long threshold = (long)size.Median();
        var expectedLarger = Enumerable.Range(0, (int)frame.Rows.Count).Where(i => (long)size[i] > threshold).ToArray();
        Assert.Equal(expectedLarger, capture.All.LargerThan(threshold).Rows);
        var type = (string)frame["type"][0];
        Assert.Equal(Enumerable.Range(0, (int)frame.Rows.Count).Where(i => (string)frame["type"][i] == type).ToArray(), capture.All.OfType(type).Rows);
        var function = (string)frame["function"][0];
        Assert.Equal(Enumerable.Range(0, (int)frame.Rows.Count).Where(i => (string)frame["function"][i] == function).ToArray(), capture.All.InFunction(function).Rows);
    }

    [Fact]
    public void The_cached_tables_are_compressed_and_need_the_codec()
    {
        using var scratch = new ScratchFolder();
        var path = scratch.Write("big.memnb", BigCapture.Create());
        var conversion = ArrowConverter.Convert(path, Path.Combine(scratch.Root, "out"));
        var bytes = Directory.GetFiles(conversion.Folder).Sum(f => new FileInfo(f).Length);
        Assert.InRange(bytes / (double)conversion.Metadata.Allocations, 0, BytesPerRowBound);
        using var file = File.OpenRead(ArrowLayout.TablePath(conversion.Folder, ArrowLayout.Allocations));
        using var reader = new Apache.Arrow.Ipc.ArrowFileReader(file);
        var error = Assert.ThrowsAny<Exception>(() => reader.ReadNextRecordBatch());
        Assert.Contains("compressed", error.Message);
    }

    /// <summary>The 150,000-row test capture's tables, all of them, per allocation row (61 uncompressed).</summary>
    private const double BytesPerRowBound = 8;
}
