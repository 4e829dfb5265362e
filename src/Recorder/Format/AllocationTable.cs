namespace MemNotebook.Recorder.Format;

/// <summary>
/// The allocations of a capture as columns (struct of arrays), in file order: row i of every column
/// describes one object. Times are nanoseconds since the first CLOCK; <see cref="FreeTimeNs"/> is −1
/// for objects alive when recording stopped.
/// </summary>
public sealed class AllocationTable
{
    internal AllocationTable(int count, long[] timestampNs, int[] threadStream, int[] typeIndex, long[] size,
        int[] stackId, ulong[] address, long[] freeTimeNs)
    {
        Count = count;
        TimestampNs = timestampNs;
        ThreadStream = threadStream;
        TypeIndex = typeIndex;
        Size = size;
        StackId = stackId;
        Address = address;
        FreeTimeNs = freeTimeNs;
    }

    public int Count { get; }

    // Columns may be longer than Count (spare capacity); only the first Count entries are rows.
    public ReadOnlyMemory<long> TimestampNs { get; }
    public ReadOnlyMemory<int> ThreadStream { get; }
    public ReadOnlyMemory<int> TypeIndex { get; }
    public ReadOnlyMemory<long> Size { get; }
    public ReadOnlyMemory<int> StackId { get; }
    public ReadOnlyMemory<ulong> Address { get; }
    public ReadOnlyMemory<long> FreeTimeNs { get; }

    public bool IsFreed(int row) => FreeTimeNs.Span[row] != -1;
}

/// <summary>A growable column that hands out its array without copying.</summary>
internal struct Column<T>
{
    private T[] items;

    public int Count { get; private set; }

    public void Add(T value)
    {
        items ??= new T[256];
        if (Count == items.Length)
            Array.Resize(ref items, checked(items.Length * 2));
        items[Count++] = value;
    }

    public ref T this[int index] => ref items[index];

    public T[] ToArray() => (items ?? []).AsMemory(0, Count).ToArray();

    /// <summary>The backing array, trimmed to Count.</summary>
    public T[] Detach()
    {
        var array = items ?? [];
        if (array.Length != Count)
            Array.Resize(ref array, Count);
        items = [];
        Count = 0;
        return array;
    }
}
