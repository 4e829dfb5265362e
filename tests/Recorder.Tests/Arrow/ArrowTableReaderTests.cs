using Apache.Arrow;
using Apache.Arrow.Ipc;
using MemNotebook.Recorder.Arrow;
using Xunit;

namespace MemNotebook.Recorder.Tests.Arrow;

public class ArrowTableReaderTests
{
    // Batches of uneven sizes: the third is larger than the first (the joined columns grow), a batch
    // length not a multiple of 8 shifts the next one's validity bits, and nulls appear only from the
    // second batch on (the bitmap is made late) and not in the last (its rows are all valid).
    private static readonly int[] BatchLengths = [16, 13, 40, 7, 1];

    [Fact]
    public void Batches_of_uneven_sizes_with_nulls_in_some_join_into_one_batch_of_the_same_values()
    {
        using var scratch = new ScratchFolder();
        var path = Path.Combine(scratch.Root, "threads.arrow");
        var expected = new List<(int Stream, long Tid, ulong Managed, string? Name)>();
        using (var file = File.Create(path))
        using (var writer = new ArrowFileWriter(file, ArrowLayout.ThreadsSchema))
        {
            var row = 0;
            for (var b = 0; b < BatchLengths.Length; b++)
            {
                var streams = new Int32Array.Builder();
                var tids = new Int64Array.Builder();
                var managed = new UInt64Array.Builder();
                var names = new StringArray.Builder();
                for (var i = 0; i < BatchLengths[b]; i++, row++)
                {
                    string? name = b is 1 or 2 && row % 3 == 0 ? null : $"thread-{row}" + new string('x', row % 5);
                    expected.Add((row, -row * 1000L, (ulong)row << 40, name));
                    streams.Append(row);
                    tids.Append(-row * 1000L);
                    managed.Append((ulong)row << 40);
                    if (name is null) names.AppendNull(); else names.Append(name);
                }
                using var batch = new RecordBatch(ArrowLayout.ThreadsSchema,
                    [streams.Build(), tids.Build(), managed.Build(), names.Build()], BatchLengths[b]);
                writer.WriteRecordBatch(batch);
            }
            writer.WriteEnd();
        }

        using var table = ArrowTableReader.ReadTable(path, ArrowLayout.ThreadsSchema);

        Assert.Equal(expected.Count, table.Length);
        var s = (Int32Array)table.Column(0);
        var t = (Int64Array)table.Column(1);
        var m = (UInt64Array)table.Column(2);
        var n = (StringArray)table.Column(3);
        Assert.Equal(expected.Count(e => e.Name is null), n.NullCount);
        for (var i = 0; i < expected.Count; i++)
        {
            Assert.Equal(expected[i].Stream, s.GetValue(i));
            Assert.Equal(expected[i].Tid, t.GetValue(i));
            Assert.Equal(expected[i].Managed, m.GetValue(i));
            Assert.Equal(expected[i].Name, n.GetString(i));
        }
    }

    [Fact]
    public void Boolean_columns_of_several_batches_keep_every_bit()
    {
        using var scratch = new ScratchFolder();
        var path = Path.Combine(scratch.Root, "types.arrow");
        var expected = new List<bool>();
        using (var file = File.Create(path))
        using (var writer = new ArrowFileWriter(file, ArrowLayout.TypesSchema))
        {
            foreach (var length in BatchLengths)
            {
                var ids = new Int32Array.Builder();
                var classes = new UInt64Array.Builder();
                var names = new StringArray.Builder();
                var arrays = new BooleanArray.Builder();
                for (var i = 0; i < length; i++)
                {
                    var isArray = (expected.Count * 7 + 3) % 5 < 2;
                    ids.Append(expected.Count);
                    classes.Append((ulong)expected.Count);
                    names.Append($"T{expected.Count}");
                    arrays.Append(isArray);
                    expected.Add(isArray);
                }
                using var batch = new RecordBatch(ArrowLayout.TypesSchema, [ids.Build(), classes.Build(), names.Build(), arrays.Build()], length);
                writer.WriteRecordBatch(batch);
            }
            writer.WriteEnd();
        }

        using var table = ArrowTableReader.ReadTable(path, ArrowLayout.TypesSchema);

        var flags = (BooleanArray)table.Column(3);
        Assert.Equal(expected, Enumerable.Range(0, flags.Length).Select(i => flags.GetValue(i)!.Value));
        Assert.Equal(expected.Count - 1, ((Int32Array)table.Column(0)).GetValue(expected.Count - 1));
        Assert.Equal($"T{expected.Count - 1}", ((StringArray)table.Column(2)).GetString(expected.Count - 1));
    }
}
