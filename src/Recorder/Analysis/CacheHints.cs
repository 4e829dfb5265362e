using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics.X86;

namespace MemNotebook.Recorder.Analysis;

/// <summary>
/// Prefetches for the passes' per-allocation loops: a block's stack ids are known before its rows are added up, and the
/// totals by stack id are far apart (a capture's stacks come in no order), so each row's lookup missed the cache; asking
/// for the line a few rows ahead overlaps those misses.
/// </summary>
internal static class CacheHints
{
    /// <summary>How many rows ahead of the one being added the lines are asked for.</summary>
    public const int Distance = 16;

    /// <summary>Asks for the cache line of <paramref name="array"/>[<paramref name="index"/>]; nothing when out of range or without SSE.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static unsafe void Prefetch<T>(T[] array, long index) where T : unmanaged
    {
        // A hint only: the address is never dereferenced, so an array the GC moves meanwhile is harmless.
        if (Sse.IsSupported && (ulong)index < (ulong)array.Length)
            Sse.Prefetch0((T*)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(array)) + index);
    }
}
