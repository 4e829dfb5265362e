using System.Runtime.InteropServices;

namespace MemNotebook.Recorder.Format;

/// <summary>
/// zstd through the system's libzstd (libzstd.so.1), bound once to function pointers; several times
/// faster than the managed port on capture chunks and Arrow buffers. Where the library cannot be loaded
/// <see cref="TryCreate"/> returns null and the callers use ZstdSharp, whose results are the same.
/// A context decompresses (and, once asked to, compresses) on one thread at a time.
/// </summary>
internal sealed unsafe class NativeZstd : IDisposable
{
    // ZSTD_ErrorCode of zstd_errors.h (stable across releases).
    private const int DstSizeTooSmall = 70;

    private static readonly Api? api = Bind();
    private nint context;
    private nint compressContext;

    private NativeZstd(nint context) => this.context = context;

    /// <summary>False where libzstd is missing (or set <c>MEMNB_MANAGED_ZSTD=1</c> to compare with the managed port).</summary>
    public static bool Available => api is not null;

    public static NativeZstd? TryCreate()
    {
        if (api is not { } a)
            return null;
        var context = a.CreateDCtx();
        return context == 0 ? null : new NativeZstd(context);
    }

    /// <summary>Decompresses one or more whole frames; false when they hold more than <paramref name="destination"/>.</summary>
    /// <exception cref="InvalidDataException">The payload is not valid zstd.</exception>
    public bool TryDecompress(ReadOnlySpan<byte> source, Span<byte> destination, out int written)
    {
        ObjectDisposedException.ThrowIf(context == 0, this);
        var a = api!;
        nuint result;
        fixed (byte* src = source)
        fixed (byte* dst = destination)
            result = a.DecompressDCtx(context, dst, (nuint)destination.Length, src, (nuint)source.Length);
        if (a.IsError(result) != 0)
        {
            written = 0;
            if (a.GetErrorCode(result) == DstSizeTooSmall)
                return false;
            throw new InvalidDataException(Marshal.PtrToStringAnsi(a.GetErrorName(result)) ?? "zstd error");
        }
        written = checked((int)result);
        return true;
    }

    /// <summary>
    /// Compresses <paramref name="source"/> into one zstd frame at <paramref name="level"/>; false when the frame
    /// would not fit in <paramref name="destination"/> (<see cref="CompressBound"/> bytes always do).
    /// </summary>
    public bool TryCompress(ReadOnlySpan<byte> source, Span<byte> destination, int level, out int written)
    {
        ObjectDisposedException.ThrowIf(context == 0, this);
        var a = api!;
        if (compressContext == 0)
        {
            compressContext = a.CreateCCtx();
            if (compressContext == 0)
                throw new OutOfMemoryException("libzstd could not create a compression context");
        }
        nuint result;
        fixed (byte* src = source)
        fixed (byte* dst = destination)
            result = a.CompressCCtx(compressContext, dst, (nuint)destination.Length, src, (nuint)source.Length, level);
        if (a.IsError(result) != 0)
        {
            written = 0;
            if (a.GetErrorCode(result) == DstSizeTooSmall)
                return false;
            throw new InvalidOperationException("zstd compression failed: " + (Marshal.PtrToStringAnsi(a.GetErrorName(result)) ?? "zstd error"));
        }
        written = checked((int)result);
        return true;
    }

    /// <summary>The most bytes a frame of <paramref name="length"/> bytes compresses to.</summary>
    public static int CompressBound(int length) => checked((int)api!.CompressBound((nuint)length));

    public void Dispose()
    {
        if (context != 0)
            api!.FreeDCtx(context);
        if (compressContext != 0)
            api!.FreeCCtx(compressContext);
        context = 0;
        compressContext = 0;
    }

    private static Api? Bind()
    {
        if (Environment.GetEnvironmentVariable("MEMNB_MANAGED_ZSTD") == "1")
            return null;
        if (!NativeLibrary.TryLoad("libzstd.so.1", out var library) && !NativeLibrary.TryLoad("libzstd", out library))
            return null;
        try
        {
            return new Api
            {
                CreateDCtx = (delegate* unmanaged<nint>)NativeLibrary.GetExport(library, "ZSTD_createDCtx"),
                FreeDCtx = (delegate* unmanaged<nint, nuint>)NativeLibrary.GetExport(library, "ZSTD_freeDCtx"),
                DecompressDCtx = (delegate* unmanaged<nint, byte*, nuint, byte*, nuint, nuint>)NativeLibrary.GetExport(library, "ZSTD_decompressDCtx"),
                IsError = (delegate* unmanaged<nuint, uint>)NativeLibrary.GetExport(library, "ZSTD_isError"),
                GetErrorCode = (delegate* unmanaged<nuint, int>)NativeLibrary.GetExport(library, "ZSTD_getErrorCode"),
                GetErrorName = (delegate* unmanaged<nuint, nint>)NativeLibrary.GetExport(library, "ZSTD_getErrorName"),
                CreateCCtx = (delegate* unmanaged<nint>)NativeLibrary.GetExport(library, "ZSTD_createCCtx"),
                FreeCCtx = (delegate* unmanaged<nint, nuint>)NativeLibrary.GetExport(library, "ZSTD_freeCCtx"),
                CompressCCtx = (delegate* unmanaged<nint, byte*, nuint, byte*, nuint, int, nuint>)NativeLibrary.GetExport(library, "ZSTD_compressCCtx"),
                CompressBound = (delegate* unmanaged<nuint, nuint>)NativeLibrary.GetExport(library, "ZSTD_compressBound"),
            };
        }
        catch (EntryPointNotFoundException)
        {
            return null;
        }
    }

    private sealed class Api
    {
        public delegate* unmanaged<nint> CreateDCtx;
        public delegate* unmanaged<nint, nuint> FreeDCtx;
        public delegate* unmanaged<nint, byte*, nuint, byte*, nuint, nuint> DecompressDCtx;
        public delegate* unmanaged<nuint, uint> IsError;
        public delegate* unmanaged<nuint, int> GetErrorCode;
        public delegate* unmanaged<nuint, nint> GetErrorName;
        public delegate* unmanaged<nint> CreateCCtx;
        public delegate* unmanaged<nint, nuint> FreeCCtx;
        public delegate* unmanaged<nint, byte*, nuint, byte*, nuint, int, nuint> CompressCCtx;
        public delegate* unmanaged<nuint, nuint> CompressBound;
    }
}
