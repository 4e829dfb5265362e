using System.Runtime.InteropServices;

namespace MemNotebook.Recorder.Format;

/// <summary>
/// zstd decompression through the system's libzstd (libzstd.so.1), bound once to function pointers;
/// several times faster than the managed port on capture chunks. Where the library cannot be loaded
/// <see cref="TryCreate"/> returns null and the reader uses ZstdSharp, whose results are the same.
/// </summary>
internal sealed unsafe class NativeZstd : IDisposable
{
    // ZSTD_ErrorCode of zstd_errors.h (stable across releases).
    private const int DstSizeTooSmall = 70;

    private static readonly Api? api = Bind();
    private nint context;

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

    public void Dispose()
    {
        if (context != 0)
            api!.FreeDCtx(context);
        context = 0;
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
    }
}
