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
        // FromArrowRecordBatch reads no dictionary-encoded column: those are decoded here and put in place.
        var fields = batch.Schema.FieldsList;
        var plain = Enumerable.Range(0, batch.ColumnCount).Where(c => batch.Column(c) is not DictionaryArray).ToArray();
        var source = plain.Length == batch.ColumnCount
            ? batch
            : new RecordBatch(new Schema(plain.Select(c => fields[c]), batch.Schema.Metadata), plain.Select(batch.Column), batch.Length);
        var frame = DataFrame.FromArrowRecordBatch(source);
        for (var c = 0; c < batch.ColumnCount; c++)
        {
            var name = fields[c].Name;
            if (batch.Column(c) is DictionaryArray dictionary)
            {
                frame.Columns.Insert(c, ToStringColumn(name, dictionary));
                continue;
            }
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

    /// <summary>A dictionary-encoded string column: each dictionary value decoded once, each row one lookup.</summary>
    public static StringDataFrameColumn ToStringColumn(string name, DictionaryArray array)
    {
        if (array.Dictionary is not StringArray dictionary)
            throw new InvalidDataException($"column {name}: a dictionary of {array.Dictionary.Data.DataType.Name} values, not strings");
        var names = Enumerable.Range(0, dictionary.Length).Select(i => dictionary.IsNull(i) ? null : dictionary.GetString(i)).ToArray();
        var values = new string?[array.Length];
        switch (array.Indices)
        {
            case Int8Array int8: Look(int8.Values, array, names, values, name); break;
            case Int16Array int16: Look(int16.Values, array, names, values, name); break;
            case Int32Array int32: Look(int32.Values, array, names, values, name); break;
            case UInt8Array uint8: Look(uint8.Values, array, names, values, name); break;
            case var other: throw new InvalidDataException($"column {name}: dictionary indices of type {other.Data.DataType.Name}");
        }
        return new StringDataFrameColumn(name, values);
    }

    private static void Look<T>(ReadOnlySpan<T> indices, DictionaryArray array, string?[] names, string?[] values, string name)
        where T : System.Numerics.IBinaryInteger<T>
    {
        var hasNulls = array.NullCount > 0;
        for (var i = 0; i < values.Length; i++)
        {
            if (hasNulls && array.IsNull(i))
                continue;
            var index = int.CreateTruncating(indices[i]);
            if ((uint)index >= (uint)names.Length)
                throw new InvalidDataException($"column {name}: row {i} has index {index}, outside its dictionary of {names.Length} values");
            values[i] = names[index];
        }
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
