using System.Runtime.InteropServices;
using System.Text;

namespace MemNotebook.Recorder.Tracing;

/// <summary>
/// The C ABI of libmemnb_tracer.so. When the runtime loaded the tracer as this process's
/// profiler, calls must reach that same copy (two copies would be two tracers that do not
/// know each other), so the mapped file wins over the packaged one. Exports are bound
/// once to function pointers: a lazily bound P/Invoke would build its stub, and allocate,
/// inside the first recorded region.
/// </summary>
internal static unsafe class NativeTracer
{
    [Flags]
    internal enum Status
    {
        None = 0,
        ProfilerLoaded = 1,
        Recording = 2,
        SizeShortcut = 4,
        Attached = 8,
    }

    private static readonly Lazy<Exports> s_exports = new(Bind, LazyThreadSafetyMode.ExecutionAndPublication);

    private sealed class Exports
    {
        public required string Path;
        public required delegate* unmanaged<byte*, byte*, int> Start;
        public required delegate* unmanaged<int> Prepare;
        public required delegate* unmanaged<int> Stop;
        public required delegate* unmanaged<int> GetStatus;
        public required delegate* unmanaged<byte*> LastError;
        public required delegate* unmanaged<ulong> RecordedAllocations;
        public required delegate* unmanaged<ulong*, void> SampledCounters;
        public required delegate* unmanaged<ulong> RecordedNativeAllocations;
    }

    private static Exports Bind()
    {
        string path = TracerLocation.Find()
            ?? throw new DllNotFoundException($"{TracerLocation.FileName} is not loaded in this process and was not found in {string.Join(", ", TracerLocation.Candidates())}");
        IntPtr handle = NativeLibrary.Load(path);
        return new Exports
        {
            Path = path,
            Start = (delegate* unmanaged<byte*, byte*, int>)NativeLibrary.GetExport(handle, "memnb_start"),
            Prepare = (delegate* unmanaged<int>)NativeLibrary.GetExport(handle, "memnb_prepare"),
            Stop = (delegate* unmanaged<int>)NativeLibrary.GetExport(handle, "memnb_stop"),
            GetStatus = (delegate* unmanaged<int>)NativeLibrary.GetExport(handle, "memnb_status"),
            LastError = (delegate* unmanaged<byte*>)NativeLibrary.GetExport(handle, "memnb_last_error"),
            RecordedAllocations = (delegate* unmanaged<ulong>)NativeLibrary.GetExport(handle, "memnb_recorded_allocations"),
            SampledCounters = (delegate* unmanaged<ulong*, void>)NativeLibrary.GetExport(handle, "memnb_sampled_counters"),
            RecordedNativeAllocations = (delegate* unmanaged<ulong>)NativeLibrary.GetExport(handle, "memnb_recorded_native_allocations"),
        };
    }

    internal static string LoadedPath => s_exports.Value.Path;

    internal static int Start(string path, string? options = null)
    {
        byte[] utf8 = Encoding.UTF8.GetBytes(path + "\0");
        byte[]? optionBytes = options is null ? null : Encoding.UTF8.GetBytes(options + "\0");
        var exports = s_exports.Value;
        fixed (byte* p = utf8)
        fixed (byte* o = optionBytes)
            return exports.Start(p, o);
    }

    internal static int Prepare() => s_exports.Value.Prepare();

    internal static int Stop() => s_exports.Value.Stop();

    internal static Status GetStatus() => (Status)s_exports.Value.GetStatus();

    internal static ulong RecordedAllocations() => s_exports.Value.RecordedAllocations();
    internal static ulong RecordedNativeAllocations() => s_exports.Value.RecordedNativeAllocations();

    /// <summary>Events recorded, delivered off the allocating thread, unparsed, and delivered with a runtime stack.</summary>
    internal static (ulong Events, ulong OffThread, ulong Unparsed, ulong RuntimeStacks) SampledCounters()
    {
        ulong* counters = stackalloc ulong[4];
        s_exports.Value.SampledCounters(counters);
        return (counters[0], counters[1], counters[2], counters[3]);
    }

    internal static string LastError() => Marshal.PtrToStringUTF8((IntPtr)s_exports.Value.LastError()) ?? "unknown error";
}
