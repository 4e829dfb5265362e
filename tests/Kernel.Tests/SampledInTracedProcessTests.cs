using MemNotebook.Recorder.Tracing;

namespace MemNotebook.Kernel.Tests;

/// <summary>
/// The tracer option "sampled" in a process started with the tracer (this test host): the same EventPipe
/// session as after an attach, and exact recording works again afterwards.
/// </summary>
[Collection(KernelCollection.Name)]
public sealed class SampledInTracedProcessTests
{
    private static readonly List<byte[]> Kept = new();

    [Fact]
    public void A_process_started_with_the_tracer_can_record_sampled_and_then_exact_again()
    {
        var folder = Directory.CreateTempSubdirectory("memnb-sampled-traced-").FullName;
        try
        {
            var sampledPath = Path.Combine(folder, "sampled.memnb");
            using (Tracker.Start(sampledPath, new TrackerOptions { Sampled = true }))
                Allocate();
            var sampled = Capture.Load(sampledPath);
            Assert.True(sampled.IsSampled);
            var types = sampled.EstimatedTypes(int.MaxValue);
            var row = Enumerable.Range(0, (int)types.Rows.Count).First(i => (string)types["type"][i] == "System.Byte[]");
            Assert.InRange((long)types["estimated_bytes"][row], 100 * (1L << 20) * 95 / 100, 100 * ((1L << 20) + 24) * 105 / 100);
            Assert.Contains(nameof(Allocate), (string)sampled.TopFunctions(1)["function"][0]);

            var exactPath = Path.Combine(folder, "exact.memnb");
            using (Tracker.Start(exactPath))
                Allocate();
            var exact = Capture.Load(exactPath);
            Assert.False(exact.IsSampled);
            var sizes = exact.Allocations["size"];
            Assert.Equal(100, Enumerable.Range(0, (int)sizes.Length).Count(i => (long)sizes[i]! == (1 << 20) + 24));
        }
        finally
        {
            Kept.Clear();
            Directory.Delete(folder, recursive: true);
        }
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private static void Allocate()
    {
        for (var i = 0; i < 100; i++)
            Kept.Add(new byte[1 << 20]);
    }
}
