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
        try
        {
            using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20);
            using var reader = new ArrowFileReader(file, ArrowCompression.Codecs);
            var schema = reader.Schema;
            var names = string.Join(", ", schema.FieldsList.Select(f => $"{f.Name}:{f.DataType.Name}"));
            var wanted = string.Join(", ", expected.FieldsList.Select(f => $"{f.Name}:{f.DataType.Name}"));
            if (names != wanted)
                throw new TableShapeException($"{path}: unexpected columns ({names}); this version of MemNotebook reads ({wanted})");
            var count = reader.RecordBatchCountAsync().AsTask().GetAwaiter().GetResult();
            var first = reader.ReadNextRecordBatch();
            if (first is null)
                return new RecordBatch(expected, expected.FieldsList.Select(f => EmptyArray(f.DataType)), 0);
            if (count <= 1)
                return first;
            // Each batch is copied into the joined columns and released before the next is read: memory is
            // the table plus one batch, not twice the table. Batches but the last have the same row count.
            var joined = new JoinedColumns(expected, (long)first.Length * count);
            joined.Append(first);
            first.Dispose();
            while (reader.ReadNextRecordBatch() is RecordBatch batch)
            {
                joined.Append(batch);
                batch.Dispose();
            }
            return joined.Build();
        }
        catch (TableShapeException ex)
        {
            throw new InvalidDataException(ex.Message);
        }
        catch (Exception ex) when (ex is InvalidDataException or ArgumentException or InvalidOperationException
                                       or IndexOutOfRangeException or OverflowException or EndOfStreamException)
        {
            throw new InvalidDataException($"{path}: not a readable Arrow IPC file: {ex.Message}", ex);
        }
    }

    /// <summary>A problem reported as is, not as an unreadable file.</summary>
    private sealed class TableShapeException(string message) : Exception(message);

    private static IArrowArray EmptyArray(IArrowType type) => type switch
    {
        DictionaryType dictionary => new DictionaryArray(dictionary, EmptyArray(dictionary.IndexType), EmptyArray(dictionary.ValueType)),
        StringType => ArrowArrayFactory.BuildArray(new ArrayData(type, 0, 0, 0, [ArrowBuffer.Empty, new ArrowBuffer(new byte[4]), ArrowBuffer.Empty])),
        _ => ArrowArrayFactory.BuildArray(new ArrayData(type, 0, 0, 0, [ArrowBuffer.Empty, ArrowBuffer.Empty])),
    };

    /// <summary>The columns of a table's batches joined into one batch, appended batch by batch.</summary>
    private sealed class JoinedColumns
    {
        private readonly Schema schema;
        private readonly Column[] columns;
        private int capacity;
        private int length;

        public JoinedColumns(Schema schema, long expectedRows)
        {
            if (expectedRows > int.MaxValue)
                throw new TableShapeException($"a table of about {expectedRows} rows does not fit one DataFrame batch");
            this.schema = schema;
            capacity = (int)expectedRows;
            columns = schema.FieldsList.Select(f => new Column(f.DataType, capacity)).ToArray();
        }

        public void Append(RecordBatch batch)
        {
            var rows = batch.Length;
            if ((long)length + rows > int.MaxValue)
                throw new TableShapeException($"a table of more than {int.MaxValue} rows does not fit one DataFrame batch");
            if (length + rows > capacity)
            {
                capacity = (int)Math.Min(int.MaxValue, Math.Max((long)capacity * 2, (long)length + rows));
                foreach (var column in columns)
                    column.Grow(capacity);
            }
            for (var c = 0; c < columns.Length; c++)
                columns[c].Append(batch.Column(c), length);
            length += rows;
        }

        public RecordBatch Build() =>
            new(schema, columns.Select(c => c.Build(length)), length);
    }

    /// <summary>
    /// One joined column: values (or offsets and UTF-8 bytes, or a dictionary's indices) and a validity bitmap
    /// made on the first null.
    /// </summary>
    private sealed class Column
    {
        private readonly IArrowType type;
        private readonly int width;
        private IArrowArray? dictionary; // a dictionary column's values, the same in every batch of a file
        private byte[] values;
        private byte[]? offsets; // int32 offsets, held as bytes so the joined buffer is not copied again
        private byte[] stringData = [];
        private int stringBytes;
        private byte[]? validity;
        private int nulls;

        public Column(IArrowType type, int capacity)
        {
            this.type = type;
            switch (type)
            {
                case StringType:
                    offsets = new byte[checked((capacity + 1) * 4)];
                    values = [];
                    break;
                case BooleanType:
                    values = new byte[(capacity + 7) / 8];
                    break;
                case DictionaryType { IndexType: FixedWidthType indexWidth }:
                    width = indexWidth.BitWidth / 8;
                    values = GC.AllocateUninitializedArray<byte>(checked(capacity * width));
                    break;
                case FixedWidthType fixedWidth:
                    width = fixedWidth.BitWidth / 8;
                    // Every byte up to the final length is overwritten: skip the zeroing of ~80 MB arrays.
                    values = GC.AllocateUninitializedArray<byte>(checked(capacity * width));
                    break;
                default:
                    throw new NotSupportedException($"column type {type.Name}");
            }
        }

        public void Grow(int capacity)
        {
            if (offsets is not null)
                System.Array.Resize(ref offsets, checked((capacity + 1) * 4));
            else if (type is BooleanType)
                System.Array.Resize(ref values, (capacity + 7) / 8);
            else
                System.Array.Resize(ref values, checked(capacity * width));
            if (validity is not null)
                System.Array.Resize(ref validity, (capacity + 7) / 8);
        }

        // Loops over every row of a table, run once per process: optimized up front, not in tier-0 code.
        [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
        public void Append(IArrowArray part, int at)
        {
            AppendValidity(part, at);
            switch (type)
            {
                case StringType:
                    AppendStrings((StringArray)part, at);
                    break;
                case BooleanType:
                    AppendBits((BooleanArray)part, at);
                    break;
                case DictionaryType:
                {
                    var array = (DictionaryArray)part;
                    // Copied: the batch, and the buffers it was read into, are released once appended.
                    dictionary ??= ManagedCopy(array.Dictionary);
                    if (array.Dictionary.Length != dictionary.Length)
                        throw new TableShapeException($"a dictionary of {array.Dictionary.Length} values after one of {dictionary.Length} in the same column");
                    var data = array.Indices.Data;
                    data.Buffers[1].Span.Slice(data.Offset * width, data.Length * width).CopyTo(values.AsSpan(at * width));
                    break;
                }
                default:
                {
                    var data = part.Data;
                    data.Buffers[1].Span.Slice(data.Offset * width, data.Length * width).CopyTo(values.AsSpan(at * width));
                    break;
                }
            }
        }

        /// <summary>A string dictionary in arrays of our own (offsets from 0, the validity rebuilt).</summary>
        private static IArrowArray ManagedCopy(IArrowArray array)
        {
            if (array is not StringArray strings)
                throw new TableShapeException($"a dictionary of {array.Data.DataType.Name} values (only strings are read)");
            var n = strings.Length;
            var source = strings.ValueOffsets;
            var offsets = new int[n + 1];
            for (var i = 0; i <= n; i++)
                offsets[i] = source[i] - source[0];
            var data = strings.Values.Slice(source[0], source[n] - source[0]).ToArray();
            var validity = ArrowBuffer.Empty;
            if (strings.NullCount > 0)
            {
                var bits = new byte[(n + 7) / 8];
                for (var i = 0; i < n; i++)
                    if (strings.IsValid(i))
                        bits[i >> 3] |= (byte)(1 << (i & 7));
                validity = new ArrowBuffer(bits);
            }
            return new StringArray(n, new ArrowBuffer(MemoryMarshal.AsBytes(offsets.AsSpan()).ToArray()), new ArrowBuffer(data),
                validity, strings.NullCount);
        }

        /// <summary>A boolean part's bits: whole bytes when both ends are byte-aligned (batches hold a multiple of 8 rows).</summary>
        [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
        private void AppendBits(BooleanArray array, int at)
        {
            var bits = array.ValueBuffer.Span;
            var offset = array.Offset;
            if ((at & 7) == 0 && (offset & 7) == 0)
            {
                bits.Slice(offset >> 3, (array.Length + 7) / 8).CopyTo(values.AsSpan(at >> 3));
                if ((array.Length & 7) != 0)
                    values[(at + array.Length) >> 3] &= (byte)((1 << (array.Length & 7)) - 1);
                return;
            }
            for (var i = 0; i < array.Length; i++)
                if ((bits[(offset + i) >> 3] & (1 << ((offset + i) & 7))) != 0)
                    values[(at + i) >> 3] |= (byte)(1 << ((at + i) & 7));
        }

        [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
        private void AppendStrings(StringArray array, int at)
        {
            var source = array.ValueOffsets;
            var first = source[0];
            var size = source[array.Length] - first;
            if ((long)stringBytes + size > int.MaxValue)
                throw new TableShapeException("a string column of more than 2 GiB does not fit one batch");
            if (stringBytes + size > stringData.Length)
                System.Array.Resize(ref stringData, (int)Math.Min(int.MaxValue, Math.Max((long)stringData.Length * 2, (long)stringBytes + size)));
            var shift = stringBytes - first;
            var target = MemoryMarshal.Cast<byte, int>(offsets.AsSpan()).Slice(at, array.Length);
            for (var i = 0; i < target.Length; i++)
                target[i] = source[i] + shift;
            array.ValueBuffer.Span.Slice(first, size).CopyTo(stringData.AsSpan(stringBytes));
            stringBytes += size;
        }

        [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
        private void AppendValidity(IArrowArray part, int at)
        {
            if (part.NullCount == 0 && validity is null)
                return;
            if (validity is null)
            {
                // The first part with nulls: every row before it was valid.
                validity = new byte[(Capacity + 7) / 8];
                SetValid(validity, 0, at);
            }
            nulls += part.NullCount;
            var data = part.Data;
            if (part.NullCount == 0)
            {
                SetValid(validity, at, part.Length);
                return;
            }
            if ((at & 7) == 0 && (data.Offset & 7) == 0)
            {
                // Byte-aligned (batches hold a multiple of 8 rows): copy whole bytes.
                var bytes = (part.Length + 7) / 8;
                data.Buffers[0].Span.Slice(data.Offset >> 3, bytes).CopyTo(validity.AsSpan(at >> 3));
                if ((part.Length & 7) != 0)
                    validity[(at + part.Length) >> 3] &= (byte)((1 << (part.Length & 7)) - 1);
                return;
            }
            for (var i = 0; i < part.Length; i++)
                if (part.IsValid(i))
                    validity[(at + i) >> 3] |= (byte)(1 << ((at + i) & 7));
        }

        private int Capacity => offsets is not null ? offsets.Length / 4 - 1 : type is BooleanType ? values.Length * 8 : values.Length / width;

        [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
        private static void SetValid(byte[] bitmap, int from, int count)
        {
            var i = from;
            var end = from + count;
            for (; i < end && (i & 7) != 0; i++)
                bitmap[i >> 3] |= (byte)(1 << (i & 7));
            if (end - i >= 8)
            {
                bitmap.AsSpan(i >> 3, (end - i) >> 3).Fill(0xFF);
                i += (end - i) & ~7;
            }
            for (; i < end; i++)
                bitmap[i >> 3] |= (byte)(1 << (i & 7));
        }

        public IArrowArray Build(int length)
        {
            var bitmap = validity is null ? ArrowBuffer.Empty : new ArrowBuffer(validity.AsMemory(0, (length + 7) / 8));
            switch (type)
            {
                case StringType:
                    MemoryMarshal.Cast<byte, int>(offsets.AsSpan())[length] = stringBytes;
                    return new StringArray(length, new ArrowBuffer(offsets.AsMemory(0, (length + 1) * 4)),
                        new ArrowBuffer(stringData.AsMemory(0, stringBytes)), bitmap, nulls);
                case BooleanType:
                    return new BooleanArray(new ArrowBuffer(values.AsMemory(0, (length + 7) / 8)), bitmap, length, nulls, 0);
                case DictionaryType dictionaryType:
                    return new DictionaryArray(dictionaryType, ArrowArrayFactory.BuildArray(new ArrayData(dictionaryType.IndexType, length, nulls, 0,
                        [bitmap, new ArrowBuffer(values.AsMemory(0, length * width))])), dictionary ?? EmptyArray(dictionaryType.ValueType));
                default:
                    return ArrowArrayFactory.BuildArray(new ArrayData(type, length, nulls, 0,
                        [bitmap, new ArrowBuffer(values.AsMemory(0, length * width))]));
            }
        }
    }
}
