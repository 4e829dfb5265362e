using MemNotebook.Recorder.Capture;
using Microsoft.Data.Analysis;

namespace MemNotebook.Recorder.Analysis;

/// <summary>
/// Estimates for sampled captures: each sampled object of size s stands for s / (1 - q^s) bytes, q = 1 - 1/102,400
/// (the weighted-sample estimator of dotnet/runtime's RandomizedAllocationSampling.md, unbiased; its variance
/// is at most N·q/p for N bytes allocated, so the relative error shrinks as 1/sqrt(samples)). For an exact capture
/// the estimates are the recorded totals.
/// </summary>
public sealed partial class AllocationView
{
    /// <summary>Estimated bytes allocated in this view (its <see cref="Bytes"/> for an exact capture).</summary>
    public long EstimatedBytes
    {
        get
        {
            if (!Capture.IsSampled)
                return Bytes;
            var size = Columns.Size;
            double total = 0;
            for (int i = 0, n = Count; i < n; i++)
                total += CaptureFormat.SampledWeight(size[rows?[i] ?? i]);
            return (long)Math.Round(total);
        }
    }

    /// <summary>
    /// Types ranked by estimated bytes: type, samples (rows), sampled_bytes, estimated_bytes, estimated_count
    /// (for an exact capture: the counts and bytes themselves).
    /// </summary>
    public DataFrame EstimatedTypes(int n = 10)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(n);
        var size = Columns.Size;
        var types = Columns.TypeId;
        var sampled = Capture.IsSampled;
        var totals = new Dictionary<int, (long Samples, long Bytes, double Estimated, double EstimatedCount)>();
        for (int i = 0, count = Count; i < count; i++)
        {
            var r = rows?[i] ?? i;
            var weight = sampled ? CaptureFormat.SampledWeight(size[r]) : size[r];
            var t = totals.GetValueOrDefault(types[r]);
            totals[types[r]] = (t.Samples + 1, t.Bytes + size[r], t.Estimated + weight, t.EstimatedCount + (size[r] > 0 ? weight / size[r] : 1));
        }
        var ordered = totals
            .Select(kv => (Type: Columns.TypeName(kv.Key), kv.Value))
            .OrderByDescending(e => e.Value.Estimated).ThenBy(e => e.Type, StringComparer.Ordinal)
            .Take(n).ToArray();
        return new DataFrame(
            new StringDataFrameColumn("type", ordered.Select(e => e.Type)),
            new Int64DataFrameColumn("samples", ordered.Select(e => e.Value.Samples)),
            new Int64DataFrameColumn("sampled_bytes", ordered.Select(e => e.Value.Bytes)),
            new Int64DataFrameColumn("estimated_bytes", ordered.Select(e => (long)Math.Round(e.Value.Estimated))),
            new Int64DataFrameColumn("estimated_count", ordered.Select(e => (long)Math.Round(e.Value.EstimatedCount))));
    }
}
