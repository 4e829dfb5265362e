using Apache.Arrow;
using MemNotebook.Recorder.Arrow;
using Xunit;

namespace MemNotebook.Recorder.Tests.Arrow;

/// <summary>The columns DataFrames builds itself: booleans unpacked from bits, strings decoded once per run.</summary>
public class DataFramesTests
{
    [Fact]
    public void Boolean_columns_keep_values_and_nulls_also_of_a_slice()
    {
        var builder = new BooleanArray.Builder();
        bool?[] values = [true, false, null, true, true, false, false, true, null, true, false];
        foreach (var v in values)
        {
            if (v is bool b)
                builder.Append(b);
            else
                builder.AppendNull();
        }
        var array = builder.Build();

        var column = DataFrames.ToBooleanColumn("b", array);
        Assert.Equal(values, Enumerable.Range(0, values.Length).Select(i => column[i]));
        Assert.Equal(2, column.NullCount);

        // A slice starts mid-byte: offset 3 of the bitmaps.
        var slice = (BooleanArray)array.Slice(3, 7);
        var sliced = DataFrames.ToBooleanColumn("b", slice);
        Assert.Equal(values[3..10], Enumerable.Range(0, 7).Select(i => sliced[i]));
        Assert.Equal(1, sliced.NullCount);

        // Without nulls every value is valid, also past a whole byte.
        var plain = new BooleanArray.Builder().AppendRange(Enumerable.Range(0, 19).Select(i => i % 3 == 0)).Build();
        var plainColumn = DataFrames.ToBooleanColumn("p", plain);
        Assert.Equal(Enumerable.Range(0, 19).Select(i => (bool?)(i % 3 == 0)), Enumerable.Range(0, 19).Select(i => plainColumn[i]));
        Assert.Equal(0, plainColumn.NullCount);
    }

    [Fact]
    public void String_columns_keep_values_and_nulls_also_of_a_slice()
    {
        string?[] values = ["managed", "managed", null, "malloc", "malloc", "", "managed", null, "<b>"];
        var builder = new StringArray.Builder();
        foreach (var v in values)
        {
            if (v is null)
                builder.AppendNull();
            else
                builder.Append(v);
        }
        var array = builder.Build();
        var column = DataFrames.ToStringColumn("s", array);
        Assert.Equal(values, Enumerable.Range(0, values.Length).Select(i => column[i]));
        Assert.Equal(2, column.NullCount);
        // One string per distinct value.
        Assert.Same(column[0], column[6]);

        var slice = (StringArray)array.Slice(2, 5);
        var sliced = DataFrames.ToStringColumn("s", slice);
        Assert.Equal(values[2..7], Enumerable.Range(0, 5).Select(i => sliced[i]));
    }
}
