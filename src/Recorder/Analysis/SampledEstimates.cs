using MemNotebook.Recorder.Format;
using Microsoft.Data.Analysis;

namespace MemNotebook.Recorder.Analysis;

/// <summary>
/// Estimates for sampled captures: each sampled object of size s stands for s / (1 - q^s) bytes, q = 1 - 1/102,400
/// (the weighted-sample estimator of dotnet/runtime's RandomizedAllocationSampling.md, unbiased; its variance
/// is at most N·q/p for N bytes allocated, so the relative error shrinks as 1/sqrt(samples)). For an exact capture
/// the estimates are the recorded totals, and so are they for the large objects a sampled capture records exactly
/// (every LOH object, weight 1).
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
            double total = 0;
            for (int i = 0, n = Count; i < n; i++)
                total += Columns.EstimatedBytes(rows?[i] ?? i);
            return (long)Math.Round(total);
        }
    }

    /// <summary>
    /// The allocations of this view a sampled capture recorded exactly rather than sampled: every large-object-heap
    /// object (≥ 85,000 bytes), each counted at its own size in the estimates. (0, 0) for other captures.
    /// </summary>
    public (int Count, long Bytes) ExactLargeObjects
    {
        get
        {
            if (!Capture.IsSampled)
                return (0, 0);
            var size = Columns.Size;
            int count = 0;
            long bytes = 0;
            for (int i = 0, n = Count; i < n; i++)
            {
                var r = rows?[i] ?? i;
                if (!Columns.IsSampled(r))
                {
                    count++;
                    bytes += size[r];
                }
            }
            return (count, bytes);
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
            var weight = sampled ? Columns.EstimatedBytes(r) : size[r];
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
