using System.Runtime.InteropServices;
using Apache.Arrow;
using Apache.Arrow.Types;

namespace MemNotebook.Recorder.Arrow;

/// <summary>
/// The rows of an Arrow table picked by index, as a new table: one pass per column over its buffers, no mask (a
/// Microsoft.Data.Analysis Filter of the 14M-row Allocations DataFrame takes seconds). The views' DataFrames are
/// built from it (<see cref="MemNotebook.Recorder.Analysis.AllocationView.Allocations"/>).
/// </summary>
public static class RowGather
{
    /// <summary>
    /// The rows of <paramref name="batch"/> at <paramref name="rows"/> (ascending or not, each in range) as a new batch:
    /// fixed-width values and validity bits gathered from the Arrow buffers, a dictionary column's indices gathered
    /// over the same dictionary, strings copied.
    /// </summary>
    public static RecordBatch Take(RecordBatch batch, int[] rows)
    {
        ArgumentNullException.ThrowIfNull(batch);
        ArgumentNullException.ThrowIfNull(rows);
        foreach (var r in rows)
            if ((uint)r >= (uint)batch.Length)
                throw new ArgumentOutOfRangeException(nameof(rows), $"row {r} is outside the {batch.Length:N0} rows of the table");
        var columns = new IArrowArray[batch.ColumnCount];
        for (var c = 0; c < columns.Length; c++)
            columns[c] = ArrowArrayFactory.BuildArray(Take(batch.Column(c).Data, rows, batch.Schema.GetFieldByIndex(c).Name));
        return new RecordBatch(batch.Schema, columns, rows.Length);
    }

    private static ArrayData Take(ArrayData data, int[] rows, string name)
    {
        var (validity, nulls) = TakeValidity(data, rows);
        switch (data.DataType)
        {
            case BooleanType:
            {
                var bits = new byte[(rows.Length + 7) / 8];
                var source = data.Buffers[1].Span;
                for (var i = 0; i < rows.Length; i++)
                {
                    var at = data.Offset + rows[i];
                    if ((source[at >> 3] & (1 << (at & 7))) != 0)
                        bits[i >> 3] |= (byte)(1 << (i & 7));
                }
                return new ArrayData(data.DataType, rows.Length, nulls, 0, [validity, new ArrowBuffer(bits)]);
            }
            case DictionaryType:
            {
                var indices = Take(new ArrayData(((DictionaryType)data.DataType).IndexType, data.Length, data.NullCount, data.Offset, data.Buffers), rows, name);
                return new ArrayData(data.DataType, rows.Length, nulls, 0, indices.Buffers, dictionary: data.Dictionary);
            }
            case StringType:
            {
                var strings = (StringArray)ArrowArrayFactory.BuildArray(data);
                var builder = new StringArray.Builder();
                foreach (var r in rows)
                    if (strings.IsNull(r)) builder.AppendNull();
                    else builder.Append(strings.GetString(r));
                return builder.Build().Data;
            }
            case FixedWidthType fixedWidth when fixedWidth.BitWidth % 8 == 0:
            {
                var values = fixedWidth.BitWidth switch
                {
                    8 => Gather<byte>(data, rows),
                    16 => Gather<short>(data, rows),
                    32 => Gather<int>(data, rows),
                    64 => Gather<long>(data, rows),
                    var other => throw new NotSupportedException($"column {name}: {other}-bit values"),
                };
                return new ArrayData(data.DataType, rows.Length, nulls, 0, [validity, values]);
            }
            default:
                throw new NotSupportedException($"column {name}: gathering rows of {data.DataType.Name} columns");
        }
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    private static ArrowBuffer Gather<T>(ArrayData data, int[] rows) where T : unmanaged
    {
        var source = MemoryMarshal.Cast<byte, T>(data.Buffers[1].Span).Slice(data.Offset, data.Length);
        var bytes = new byte[rows.Length * Marshal.SizeOf<T>()];
        var target = MemoryMarshal.Cast<byte, T>(bytes.AsSpan());
        for (var i = 0; i < rows.Length; i++)
            target[i] = source[rows[i]];
        return new ArrowBuffer(bytes);
    }

    private static (ArrowBuffer Validity, int Nulls) TakeValidity(ArrayData data, int[] rows)
    {
        if (data.NullCount == 0 || data.Buffers[0].IsEmpty)
            return (ArrowBuffer.Empty, 0);
        var source = data.Buffers[0].Span;
        var bits = new byte[(rows.Length + 7) / 8];
        var nulls = 0;
        for (var i = 0; i < rows.Length; i++)
        {
            var at = data.Offset + rows[i];
            if ((source[at >> 3] & (1 << (at & 7))) != 0)
                bits[i >> 3] |= (byte)(1 << (i & 7));
            else
                nulls++;
        }
        return (new ArrowBuffer(bits), nulls);
    }
}
