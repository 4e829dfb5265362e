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
                BooleanArray booleans => new BooleanDataFrameColumn(name, Enumerable.Range(0, booleans.Length).Select(booleans.GetValue)),
                _ => null,
            };
            if (replacement is null)
                continue;
            frame.Columns.RemoveAt(c);
            frame.Columns.Insert(c, replacement);
        }
        return frame;
    }

    /// <summary>Decodes each distinct run of equal values once (a column of one repeated value costs one string).</summary>
    public static StringDataFrameColumn ToStringColumn(string name, StringArray strings)
    {
        var values = new string?[strings.Length];
        var previous = ReadOnlySpan<byte>.Empty;
        string? previousString = null;
        var interned = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 0; i < strings.Length; i++)
        {
            if (strings.IsNull(i))
            {
                values[i] = null;
                continue;
            }
            var bytes = strings.GetBytes(i);
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
