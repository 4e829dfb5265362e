using System.Diagnostics;
using Microsoft.Diagnostics.NETCore.Client;

namespace MemNotebook.Recorder.Tracing;

/// <summary>
/// Sampled recording in a process started without the tracer: the process attaches the tracer to itself
/// through the runtime's diagnostics port (<c>DiagnosticsClient.AttachProfiler</c>), and recordings started
/// with <see cref="TrackerOptions.Sampled"/> take the runtime's AllocationSampled events, with stacks walked
/// by the tracer. Object-allocated callbacks cannot be enabled after startup, so every allocation needs the
/// process started with the tracer.
/// </summary>
public static class SampledMode
{
    /// <summary>The tracer's CLSID (CORECLR_PROFILER).</summary>
    public static readonly Guid ProfilerClsid = new("6A1B7C3E-2D4F-4E59-8A0B-9C1D2E3F4A5B");

    private static readonly object s_gate = new();

    /// <summary>True once the tracer is attached to this process (it stays attached until the process exits).</summary>
    public static bool IsAttached
    {
        get
        {
            try
            {
                return (NativeTracer.GetStatus() & NativeTracer.Status.Attached) != 0;
            }
            catch (DllNotFoundException)
            {
                return false;
            }
        }
    }

    /// <summary>How long the attach took, when this process attached the tracer.</summary>
    public static TimeSpan? AttachTime { get; private set; }

    /// <summary>
    /// Attaches the tracer to this process unless it is its profiler already (started with it, or attached
    /// before). Throws <see cref="TracerException"/> when the runtime refuses.
    /// </summary>
    public static void EnsureAttached(TimeSpan? timeout = null)
    {
        lock (s_gate)
        {
            if (Tracker.IsAvailable || IsAttached)
                return;
            var tracer = Tracker.TracerFile
                ?? throw new TracerException($"{TracerLocation.FileName} was not found beside MemNotebook: sampled mode needs it");
            var watch = Stopwatch.StartNew();
            try
            {
                new DiagnosticsClient(Environment.ProcessId).AttachProfiler(timeout ?? TimeSpan.FromSeconds(10), ProfilerClsid, tracer);
            }
            catch (Exception ex) when (ex is ServerErrorException or ServerNotAvailableException or TimeoutException or UnsupportedCommandException)
            {
                throw new TracerException($"the runtime did not attach the tracer {tracer} to this process: {ex.Message}");
            }
            AttachTime = watch.Elapsed;
            if (!IsAttached)
                throw new TracerException($"the runtime attached {tracer}, but not the copy MemNotebook controls ({NativeTracer.LoadedPath})");
        }
    }

    /// <summary>
    /// Counters of sampled recording since the tracer was loaded: events recorded, of them delivered on
    /// another thread than the allocating one (recorded without a stack), payloads not understood, and events
    /// that came with a stack of the runtime's.
    /// </summary>
    public static (ulong Events, ulong OffThread, ulong Unparsed, ulong RuntimeStacks) Counters => NativeTracer.SampledCounters();
}
