using System.Runtime.InteropServices;
using Apache.Arrow;
using Apache.Arrow.Ipc;
using Apache.Arrow.Types;

namespace MemNotebook.Recorder.Arrow;

/// <summary>
/// Reads one Arrow IPC file as a single record batch: a DataFrame wraps one batch, so the batches of
/// a table are joined column by column (one copy of each buffer, no per-row work).
/// </summary>
public static class ArrowTableReader
{
    public static RecordBatch ReadTable(string path, Schema expected)
    {
        List<RecordBatch> batches = new();
        Schema schema;
        try
        {
            using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20);
            using var reader = new ArrowFileReader(file);
            schema = reader.Schema;
            while (reader.ReadNextRecordBatch() is RecordBatch batch)
                batches.Add(batch);
        }
        catch (Exception ex) when (ex is InvalidDataException or ArgumentException or InvalidOperationException
                                       or IndexOutOfRangeException or OverflowException or EndOfStreamException)
        {
            throw new InvalidDataException($"{path}: not a readable Arrow IPC file: {ex.Message}", ex);
        }
        var names = string.Join(", ", schema.FieldsList.Select(f => $"{f.Name}:{f.DataType.Name}"));
        var wanted = string.Join(", ", expected.FieldsList.Select(f => $"{f.Name}:{f.DataType.Name}"));
        if (names != wanted)
            throw new InvalidDataException($"{path}: unexpected columns ({names}); this version of MemNotebook reads ({wanted})");
        return batches.Count switch
        {
            0 => new RecordBatch(expected, expected.FieldsList.Select(f => ArrowArrayFactory.BuildArray(
                new ArrayData(f.DataType, 0, 0, 0, EmptyBuffers(f.DataType)))), 0),
            1 => batches[0],
            _ => Concatenate(expected, batches),
        };
    }

    private static ArrowBuffer[] EmptyBuffers(IArrowType type) => type is StringType
        ? [ArrowBuffer.Empty, new ArrowBuffer(new byte[4]), ArrowBuffer.Empty]
        : [ArrowBuffer.Empty, ArrowBuffer.Empty];

    private static RecordBatch Concatenate(Schema schema, List<RecordBatch> batches)
    {
        var length = batches.Sum(b => (long)b.Length);
        if (length > int.MaxValue)
            throw new InvalidDataException($"a table of {length} rows does not fit one DataFrame batch");
        var columns = new IArrowArray[schema.FieldsList.Count];
        for (var c = 0; c < columns.Length; c++)
        {
            var parts = batches.Select(b => b.Column(c)).ToList();
            columns[c] = schema.FieldsList[c].DataType switch
            {
                StringType => JoinStrings(parts, (int)length),
                BooleanType => JoinBooleans(parts, (int)length),
                FixedWidthType fixedWidth => JoinFixed(parts, (int)length, fixedWidth),
                var other => throw new NotSupportedException($"column type {other.Name}"),
            };
        }
        foreach (var batch in batches)
            batch.Dispose();
        return new RecordBatch(schema, columns, (int)length);
    }

    private static IArrowArray JoinFixed(List<IArrowArray> parts, int length, FixedWidthType type)
    {
        var width = type.BitWidth / 8;
        // Every byte is overwritten below: skip the zeroing of ~80 MB arrays.
        var values = GC.AllocateUninitializedArray<byte>(checked(length * width));
        var (validity, nulls) = JoinValidity(parts, length);
        var at = 0;
        foreach (var part in parts)
        {
            var data = part.Data;
            data.Buffers[1].Span.Slice(data.Offset * width, data.Length * width).CopyTo(values.AsSpan(at * width));
            at += data.Length;
        }
        var joined = new ArrayData(type, length, nulls, 0, [validity, new ArrowBuffer(values)]);
        return ArrowArrayFactory.BuildArray(joined);
    }

    private static IArrowArray JoinBooleans(List<IArrowArray> parts, int length)
    {
        var values = new byte[(length + 7) / 8];
        var (validity, nulls) = JoinValidity(parts, length);
        var at = 0;
        foreach (var part in parts)
        {
            var array = (BooleanArray)part;
            for (var i = 0; i < array.Length; i++, at++)
                if (array.GetValue(i) == true)
                    values[at >> 3] |= (byte)(1 << (at & 7));
        }
        return new BooleanArray(new ArrowBuffer(values), validity, length, nulls, 0);
    }

    private static IArrowArray JoinStrings(List<IArrowArray> parts, int length)
    {
        var offsets = new int[length + 1];
        var (validity, nulls) = JoinValidity(parts, length);
        long total = parts.Sum(p => (long)((StringArray)p).ValueOffsets[p.Length] - ((StringArray)p).ValueOffsets[0]);
        if (total > int.MaxValue)
            throw new InvalidDataException("a string column of more than 2 GiB does not fit one batch");
        var data = GC.AllocateUninitializedArray<byte>((int)total);
        var at = 0;
        var bytesAt = 0;
        foreach (var part in parts)
        {
            var array = (StringArray)part;
            var source = array.ValueOffsets;
            var first = source[0];
            for (var i = 0; i < array.Length; i++)
                offsets[at + i] = bytesAt + source[i] - first;
            var size = source[array.Length] - first;
            array.ValueBuffer.Span.Slice(first, size).CopyTo(data.AsSpan(bytesAt));
            at += array.Length;
            bytesAt += size;
        }
        offsets[length] = bytesAt;
        return new StringArray(length, new ArrowBuffer(MemoryMarshal.AsBytes(offsets.AsSpan()).ToArray()), new ArrowBuffer(data), validity, nulls);
    }

    /// <summary>The joined validity bitmap, or an empty buffer when no part has nulls.</summary>
    private static (ArrowBuffer Bitmap, int Nulls) JoinValidity(List<IArrowArray> parts, int length)
    {
        var nulls = parts.Sum(p => p.NullCount);
        if (nulls == 0)
            return (ArrowBuffer.Empty, 0);
        var bitmap = new byte[(length + 7) / 8];
        var at = 0;
        foreach (var part in parts)
        {
            var data = part.Data;
            if ((at & 7) == 0 && (data.Offset & 7) == 0)
            {
                // Byte-aligned (batches hold a multiple of 8 rows): copy whole bytes.
                var bytes = (part.Length + 7) / 8;
                if (part.NullCount == 0)
                    bitmap.AsSpan(at >> 3, bytes).Fill(0xFF);
                else
                    data.Buffers[0].Span.Slice(data.Offset >> 3, bytes).CopyTo(bitmap.AsSpan(at >> 3));
                if ((part.Length & 7) != 0)
                    bitmap[(at + part.Length) >> 3] &= (byte)((1 << (part.Length & 7)) - 1);
                at += part.Length;
                continue;
            }
            for (var i = 0; i < part.Length; i++, at++)
                if (part.IsValid(i))
                    bitmap[at >> 3] |= (byte)(1 << (at & 7));
        }
        return (new ArrowBuffer(bitmap), nulls);
    }
}
