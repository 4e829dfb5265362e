using System.Globalization;

namespace MemNotebook.Recorder.Analysis;

/// <summary>The human-readable <c>memnb stats</c>: totals, then aligned tables of types, functions, threads.</summary>
public static class StatsText
{
    public static void Write(CaptureStats stats, TextWriter output, int top = CaptureStats.DefaultTop)
    {
        var state = stats.Complete ? "complete" : stats.Truncated ? "truncated" : "incomplete (no END record)";
        var summary = new List<(string, string)>
        {
            ("Capture", $"{stats.Path} (format {stats.FormatVersion}, {state})"),
            ("Allocations", $"{N(stats.TotalAllocations)} ({ByteUnits.Format(stats.TotalBytes)})"),
            ("Peak", ByteUnits.Format(stats.PeakBytes)),
            ("Leaked", $"{N(stats.LeakedAllocations)} ({ByteUnits.Format(stats.LeakedBytes)}) never freed"),
            ("Freed", $"{N(stats.FreedAllocations)} ({ByteUnits.Format(stats.FreedBytes)})"),
            ("Duration", stats.DurationMs.ToString("#,0.0", CultureInfo.InvariantCulture) + " ms"
                + (stats.DurationEstimated ? " (estimated: fewer than two clock records)" : "")),
            ("GCs", N(stats.GcCount)),
        };
        if (stats.Sampled)
        {
            var samples = stats.TotalAllocations - stats.ExactLargeObjects;
            summary[1] = ("Allocations", (stats.ExactLargeObjects == 0
                    ? $"{N(samples)} sampled objects ({ByteUnits.Format(stats.TotalBytes)}); "
                    : $"{N(samples)} sampled object{(samples == 1 ? "" : "s")} ({ByteUnits.Format(stats.TotalBytes - stats.ExactLargeBytes)}) "
                      + $"and {N(stats.ExactLargeObjects)} exact large objects ({ByteUnits.Format(stats.ExactLargeBytes)}); ")
                + $"estimated {ByteUnits.Format(stats.EstimatedBytes)} allocated");
            summary.Insert(1, ("Sampled", "yes: the runtime's allocation samples (one per ~100 KB); counts and bytes below are of the sampled objects, "
                + "and there are no lifetimes (peak, leaked and freed do not apply)"));
            summary.Insert(2, ("Exact LOH", $"{N(stats.ExactLargeObjects)} ({ByteUnits.Format(stats.ExactLargeBytes)}) recorded exactly: "
                + "every large-object-heap object (≥ 85,000 bytes), counted at its size, not estimated"));
        }
        if (stats.Native)
        {
            // Two peaks, each saying what it counts (a capture without native allocations keeps its one "Peak").
            var peak = summary.FindIndex(s => s.Item1 == "Peak");
            summary[peak] = (PeakWording.ManagedLabel, $"{PeakWording.Exact(stats.PeakBytes)}: {PeakWording.ManagedMeaning}");
            summary.Insert(peak + 1, (PeakWording.NativeLabel,
                $"{PeakWording.Native(stats.NativePeakBytes, stats.NativePeakTimeNs)}: {PeakWording.NativeMeaning}"));
        }
        if (stats.Aggregated)
            summary.Insert(1, ("Aggregated", "yes: totals per stack and type, no per-allocation data or threads"
                + (stats.Complete ? "" : "; the last table is not the final one (recording did not stop cleanly)")));
        if (stats.Dropped > 0)
            summary.Add(("Dropped", $"{N(stats.Dropped)} records lost by the tracer"));
        var labelWidth = summary.Max(s => s.Item1.Length);
        foreach (var (label, value) in summary)
            output.WriteLine($"{label.PadRight(labelWidth)}  {value}");

        // Only when native allocations were recorded: a managed capture prints as before.
        if (stats.ByAllocator.Any(a => a.Allocator != "managed"))
        {
            output.WriteLine();
            output.WriteLine("Allocators");
            WriteTable(output, ["bytes", "count", "allocator"],
                stats.ByAllocator.Select(a => new[] { ByteUnits.Format(a.Bytes), N(a.Count), a.Allocator }));
        }

        output.WriteLine();
        output.WriteLine("Top types by bytes");
        WriteTable(output, ["bytes", "count", "leaked", "leaked bytes", "type"],
            stats.ByType.Take(top).Select(t => new[]
                { ByteUnits.Format(t.Bytes), N(t.Count), N(t.LeakedCount), ByteUnits.Format(t.LeakedBytes), t.Type }));

        output.WriteLine();
        output.WriteLine("Top functions by bytes");
        WriteTable(output, ["bytes", "count", "function"],
            stats.TopFunctions.Take(top).Select(f => new[] { ByteUnits.Format(f.Bytes), N(f.Count), f.Function }));

        output.WriteLine();
        output.WriteLine("Threads");
        WriteTable(output, ["bytes", "count", "tid", "name"],
            stats.Threads.Select(t => new[] { ByteUnits.Format(t.Bytes), N(t.Count), t.Id.ToString(CultureInfo.InvariantCulture), t.Name ?? "" }));
    }

    public static string ToText(CaptureStats stats, int top = CaptureStats.DefaultTop)
    {
        using var writer = new StringWriter(CultureInfo.InvariantCulture) { NewLine = "\n" };
        Write(stats, writer, top);
        return writer.ToString();
    }

    /// <summary>Numbers right-aligned, the last (name) column left-aligned and unpadded.</summary>
    private static void WriteTable(TextWriter output, string[] headers, IEnumerable<string[]> rows)
    {
        var all = rows.ToList();
        if (all.Count == 0)
        {
            output.WriteLine("  (none)");
            return;
        }
        var widths = headers.Select((h, i) => Math.Max(h.Length, all.Max(r => r[i].Length))).ToArray();
        var last = headers.Length - 1;
        output.WriteLine(Row(headers));
        foreach (var row in all)
            output.WriteLine(Row(row));

        string Row(string[] cells) =>
            ("  " + string.Join("  ", cells.Select((c, i) => i == last ? c : c.PadLeft(widths[i])))).TrimEnd();
    }

    private static string N(long value) => value.ToString("#,0", CultureInfo.InvariantCulture);
}
