using System.Text;

namespace MemNotebook.Recorder.Format;

/// <summary>Decodes the primitive fields of one chunk payload; every read is bounds-checked.</summary>
internal ref struct PayloadReader
{
    private readonly ReadOnlySpan<byte> data;
    private readonly CaptureReader owner;
    private int position;

    public PayloadReader(ReadOnlySpan<byte> data, CaptureReader owner)
    {
        this.data = data;
        this.owner = owner;
        position = 0;
    }

    public readonly bool AtEnd => position >= data.Length;
    /// <summary>The whole payload (for a decoder that keeps its own position, see <see cref="Seek"/>).</summary>
    public readonly ReadOnlySpan<byte> Data => data;

    /// <summary>Moves to <paramref name="offset"/> in the payload.</summary>
    public void Seek(int offset) => position = offset;
    public readonly int Position => position;
    public readonly int Remaining => data.Length - position;

    /// <summary>True when another record follows and its first byte (its tag) is <paramref name="tag"/>.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    public readonly bool NextIs(byte tag) => (uint)position < (uint)data.Length && data[position] == tag;

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    public byte ReadByte()
    {
        if (position >= data.Length)
            throw owner.RecordPastEnd();
        return data[position++];
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    public ulong ReadVarint()
    {
        // Most fields of a record (deltas, small indexes) fit in one byte.
        if ((uint)position < (uint)data.Length)
        {
            var first = data[position];
            if (first < 0x80)
            {
                position++;
                return first;
            }
        }
        return ReadVarintSlow();
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    private ulong ReadVarintSlow()
    {
        var (value, length) = LongVarint(data, position);
        if (length == 0)
        {
            // No byte of the fewer than ten left ends it: it runs past the record. Else its tenth byte holds
            // more than bit 63.
            throw data.Length - position < 10
                ? owner.RecordPastEnd()
                : owner.Fail("varint overflow: a varint does not fit in 64 bits");
        }
        position += length;
        return value;
    }

    /// <summary>A varint that must fit in a signed 64-bit value.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    public long ReadLong(string field)
    {
        var value = ReadVarint();
        if (value > long.MaxValue)
            throw owner.Fail($"value out of range: {field} {value} does not fit in 63 bits");
        return (long)value;
    }

    /// <summary>A varint used as an index (type index, stream id, stack id): at most 2^31 − 1.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    public int ReadIndex(string field)
    {
        var value = ReadVarint();
        if (value > int.MaxValue)
            throw owner.Fail($"index out of range: {field} {value} is larger than {int.MaxValue}");
        return (int)value;
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    public long ReadSignedVarint()
    {
        var raw = ReadVarint();
        return (long)(raw >> 1) ^ -(long)(raw & 1);
    }

    /// <summary>The next <paramref name="length"/> bytes of the record.</summary>
    public ReadOnlySpan<byte> ReadBytes(int length)
    {
        if (length > Remaining)
            throw owner.RecordPastEnd();
        var bytes = data.Slice(position, length);
        position += length;
        return bytes;
    }

    public string ReadString(string field)
    {
        var length = ReadVarint();
        if (length > CaptureFormat.MaxStringBytes)
            throw owner.Fail($"string too long: {field} is {length} bytes, the limit is {CaptureFormat.MaxStringBytes}");
        if ((int)length > Remaining)
            throw owner.RecordPastEnd();
        var text = Encoding.UTF8.GetString(data.Slice(position, (int)length));
        position += (int)length;
        return text;
    }

    /// <summary>
    /// A varint at <paramref name="p"/> of <paramref name="data"/>, for a decoder's fast path: false when it is
    /// cut short or does not fit in 64 bits (the checked reader then says which). One to three bytes inline.
    /// </summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    public static bool TryVarint(ReadOnlySpan<byte> data, ref int p, out ulong value)
    {
        var i = p;
        if ((uint)i < (uint)data.Length)
        {
            uint b0 = data[i];
            if (b0 < 0x80)
            {
                value = b0;
                p = i + 1;
                return true;
            }
            if ((uint)(i + 1) < (uint)data.Length)
            {
                uint b1 = data[i + 1];
                if (b1 < 0x80)
                {
                    value = (b0 & 0x7F) | (b1 << 7);
                    p = i + 2;
                    return true;
                }
                // Three bytes: a stack id difference across a capture of many stacks.
                if ((uint)(i + 2) < (uint)data.Length)
                {
                    uint b2 = data[i + 2];
                    if (b2 < 0x80)
                    {
                        value = (b0 & 0x7F) | ((b1 & 0x7F) << 7) | (b2 << 14);
                        p = i + 3;
                        return true;
                    }
                }
            }
        }
        var (v, length) = LongVarint(data, i);
        value = v;
        p = i + length;
        return length != 0;
    }

    /// <summary>A varint of any length at <paramref name="i"/>, and its length (0: cut short or over 64 bits).</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    private static (ulong Value, int Length) LongVarint(ReadOnlySpan<byte> data, int i)
    {
        ulong value = 0;
        for (var k = 0; k < 10 && i + k < data.Length; k++)
        {
            var b = data[i + k];
            if (k == 9 && b > 1)
                return (0, 0);
            value |= (ulong)(b & 0x7F) << (7 * k);
            if (b < 0x80)
                return (value, k + 1);
        }
        return (0, 0);
    }
}
