using Apache.Arrow;
using Microsoft.Data.Analysis;

namespace MemNotebook.Recorder.Arrow;

/// <summary>
/// DataFrames over Arrow record batches. Numeric columns wrap the Arrow buffers
/// (<see cref="DataFrame.FromArrowRecordBatch"/>); string columns load as immutable
/// ArrowStringDataFrameColumn, on which GroupBy throws, so they become StringDataFrameColumn; boolean
/// columns are decoded here too.
/// </summary>
public static class DataFrames
{
    public static DataFrame FromArrow(RecordBatch batch)
    {
        var frame = DataFrame.FromArrowRecordBatch(batch);
        for (var c = 0; c < batch.ColumnCount; c++)
        {
            var name = batch.Schema.FieldsList[c].Name;
            DataFrameColumn? replacement = batch.Column(c) switch
            {
                StringArray strings => ToStringColumn(name, strings),
                // FromArrowRecordBatch reads Arrow's bit-packed booleans as one byte per value.
                BooleanArray booleans => ToBooleanColumn(name, booleans),
                _ => null,
            };
            if (replacement is null)
                continue;
            frame.Columns.RemoveAt(c);
            frame.Columns.Insert(c, replacement);
        }
        return frame;
    }

    /// <summary>One byte per value, as the DataFrame column keeps them; the validity bitmap has Arrow's layout already.</summary>
    public static BooleanDataFrameColumn ToBooleanColumn(string name, BooleanArray booleans)
    {
        var n = booleans.Length;
        var values = new byte[n];
        var bits = booleans.ValueBuffer.Span;
        var offset = booleans.Offset;
        for (var i = 0; i < n; i++)
        {
            var at = i + offset;
            values[i] = (byte)((bits[at >> 3] >> (at & 7)) & 1);
        }
        var validity = new byte[(n + 7) / 8];
        if (booleans.NullCount == 0)
            validity.AsSpan().Fill(0xFF);
        else
            for (var i = 0; i < n; i++)
                if (booleans.IsValid(i))
                    validity[i >> 3] |= (byte)(1 << (i & 7));
        return new BooleanDataFrameColumn(name, values, validity, n, booleans.NullCount);
    }

    /// <summary>Decodes each distinct run of equal values once (a column of one repeated value costs one string).</summary>
    public static StringDataFrameColumn ToStringColumn(string name, StringArray strings)
    {
        var values = new string?[strings.Length];
        var previous = ReadOnlySpan<byte>.Empty;
        string? previousString = null;
        var interned = new Dictionary<string, string>(StringComparer.Ordinal);
        var offsets = strings.ValueOffsets;
        var data = strings.Values;
        var hasNulls = strings.NullCount > 0;
        for (var i = 0; i < strings.Length; i++)
        {
            if (hasNulls && strings.IsNull(i))
            {
                values[i] = null;
                continue;
            }
            var bytes = data[offsets[i]..offsets[i + 1]];
            if (previousString is null || !bytes.SequenceEqual(previous))
            {
                var decoded = System.Text.Encoding.UTF8.GetString(bytes);
                if (!interned.TryGetValue(decoded, out previousString))
                    interned.Add(decoded, previousString = decoded);
                previous = bytes;
            }
            values[i] = previousString;
        }
        return new StringDataFrameColumn(name, values);
    }
}
