using Apache.Arrow;
using Apache.Arrow.Types;
using MemNotebook.Recorder.Arrow;
using Xunit;

namespace MemNotebook.Recorder.Tests.Arrow;

/// <summary>Rows of an Arrow table picked by index: values, nulls, booleans, dictionary indices, sliced columns.</summary>
public class RowGatherTests
{
    [Fact]
    public void Picked_rows_keep_their_values_and_nulls_in_the_order_asked_for()
    {
        long?[] longs = [10, null, 30, 40, null, 60, 70, 80, 90, 100, 110];
        var longArray = new Int64Array.Builder();
        foreach (var v in longs)
            if (v is long l) longArray.Append(l); else longArray.AppendNull();
        bool[] flags = [true, false, false, true, true, false, true, false, true, true, false];
        var dictionary = new StringArray.Builder().Append("malloc").Append("gc").Build();
        int[] kinds = [1, 0, 1, 1, 0, 0, 1, 0, 1, 1, 0];
        var indices = new Int8Array.Builder().AppendRange(kinds.Select(k => (sbyte)k)).Build();
        var schema = new Schema.Builder()
            .Field(f => f.Name("n").DataType(Int64Type.Default).Nullable(true))
            .Field(f => f.Name("b").DataType(BooleanType.Default))
            .Field(f => f.Name("kind").DataType(new DictionaryType(Int8Type.Default, StringType.Default, false)))
            .Field(f => f.Name("name").DataType(StringType.Default).Nullable(true))
            .Build();
        var names = new StringArray.Builder();
        for (var i = 0; i < longs.Length; i++)
            if (i % 4 == 3) names.AppendNull(); else names.Append($"row {i}");
        var batch = new RecordBatch(schema, [longArray.Build(), new BooleanArray.Builder().AppendRange(flags).Build(),
            new DictionaryArray(new DictionaryType(Int8Type.Default, StringType.Default, false), indices, dictionary), names.Build()], longs.Length);

        int[] rows = [10, 1, 4, 9, 0, 3];
        var taken = RowGather.Take(batch, rows);
        Assert.Equal(6, taken.Length);
        var n = (Int64Array)taken.Column("n");
        Assert.Equal(rows.Select(r => longs[r]), Enumerable.Range(0, 6).Select(i => n.GetValue(i)));
        Assert.Equal(2, n.NullCount);
        var b = (BooleanArray)taken.Column("b");
        Assert.Equal(rows.Select(r => (bool?)flags[r]), Enumerable.Range(0, 6).Select(i => b.GetValue(i)));
        var kind = (DictionaryArray)taken.Column("kind");
        Assert.Same(dictionary.Data, kind.Dictionary.Data);
        Assert.Equal(rows.Select(r => (sbyte)kinds[r]), ((Int8Array)kind.Indices).Values.ToArray());
        var name = (StringArray)taken.Column("name");
        Assert.Equal(rows.Select(r => r % 4 == 3 ? null : $"row {r}"), Enumerable.Range(0, 6).Select(i => name.GetString(i)));

        // A sliced table: rows count from the slice's start, its offset into the buffers applied.
        var sliced = new RecordBatch(schema, Enumerable.Range(0, 4).Select(c => ArrowArrayFactory.Slice(batch.Column(c), 3, 7)), 7);
        var fromSlice = RowGather.Take(sliced, [0, 1, 6]);
        var sn = (Int64Array)fromSlice.Column("n");
        Assert.Equal(new long?[] { 40, null, 100 }, Enumerable.Range(0, 3).Select(i => sn.GetValue(i)));
        var sb = (BooleanArray)fromSlice.Column("b");
        Assert.Equal(new bool?[] { true, true, true }, Enumerable.Range(0, 3).Select(i => sb.GetValue(i)));
        Assert.Equal(new sbyte[] { 1, 0, 1 }, ((Int8Array)((DictionaryArray)fromSlice.Column("kind")).Indices).Values.ToArray());

        var error = Assert.Throws<ArgumentOutOfRangeException>(() => RowGather.Take(batch, [2, 11]));
        Assert.Contains("row 11 is outside the 11 rows", error.Message);
    }
}
