using System.Text.Json;
using System.Text.Json.Serialization;
using MemNotebook.Recorder.Format;

namespace MemNotebook.Recorder.Arrow;

/// <summary>capture.json of an Arrow folder: what a converted capture knows besides its tables.</summary>
public sealed record CaptureMetadata
{
    public int ArrowLayoutVersion { get; init; } = ArrowLayout.Version;
    public required string Source { get; init; }
    public required int FormatVersion { get; init; }
    public required int ProcessId { get; init; }
    public required long StartWallClockNs { get; init; }
    public required bool Complete { get; init; }
    public required bool Truncated { get; init; }
    public long? TruncatedAtOffset { get; init; }
    public string? TruncationReason { get; init; }

    /// <summary>Nanoseconds from the first CLOCK to END (or to the last timestamp).</summary>
    public required long DurationNs { get; init; }

    /// <summary>True when times rest on an assumed tick rate (fewer than two clock pairs).</summary>
    public required bool ClockEstimated { get; init; }

    /// <summary>END's fields; null when the capture has no END.</summary>
    public long? EndAllocations { get; init; }
    public long? EndFrees { get; init; }
    public long? EndLiveBytes { get; init; }
    public long? EndDropped { get; init; }

    public required long Allocations { get; init; }
    public required long Frees { get; init; }

    /// <summary>True for an aggregated capture: the folder has an aggregates table instead of allocations.</summary>
    public bool Aggregated { get; init; }

    /// <summary>
    /// True for a sampled capture (header flag bit 2): each allocation row is one object the runtime's
    /// allocation sampling picked, standing for about <c>CaptureFormat.SampledWeight(size)</c> bytes.
    /// </summary>
    public bool Sampled { get; init; }

    /// <summary>
    /// True for a capture recorded with native allocations (header flag bit 1): allocation rows with a native
    /// allocator (type_id below 0) may appear, and the reports give a native peak besides the managed one.
    /// </summary>
    public bool Native { get; init; }

    /// <summary>Aggregated captures: whether the last AGG_TABLE is the final one, and its peak_bytes (null otherwise).</summary>
    public bool? AggregateFinal { get; init; }
    public long? AggregatePeakBytes { get; init; }

    /// <summary>The capture file these tables were made from, as it was when the conversion started.</summary>
    public CaptureIdentity? SourceIdentity { get; init; }

    public static CaptureMetadata From(CaptureReadResult read, long allocations, long frees) => new()
    {
        Source = read.Path,
        FormatVersion = read.Header.FormatVersion,
        ProcessId = read.Header.ProcessId,
        StartWallClockNs = read.Header.StartWallClockNs,
        // An aggregated capture is complete only when its last table is the one written at stop.
        Complete = read.Complete && (!read.IsAggregated || read.AggregateTable is { Final: true }),
        Truncated = read.Truncated,
        TruncatedAtOffset = read.TruncatedAtOffset,
        TruncationReason = read.TruncationReason,
        DurationNs = read.DurationNs,
        ClockEstimated = read.Clock.IsEstimated,
        EndAllocations = read.End?.Allocations,
        EndFrees = read.End?.Frees,
        EndLiveBytes = read.End?.LiveBytes,
        EndDropped = read.End?.Dropped,
        Allocations = allocations,
        Frees = frees,
        Aggregated = read.IsAggregated,
        Sampled = read.Header.IsSampled,
        Native = read.Header.HasNative,
        AggregateFinal = read.IsAggregated ? read.AggregateTable is { Final: true } : null,
        AggregatePeakBytes = read.IsAggregated ? read.AggregateTable?.PeakBytes ?? 0 : null,
    };

    public void Write(string path) => Storage.PrivateFiles.WriteAllText(path, JsonSerializer.Serialize(this, CaptureMetadataJson.Default.CaptureMetadata));

    public static CaptureMetadata Read(string path)
    {
        try
        {
            return JsonSerializer.Deserialize(File.ReadAllText(path), CaptureMetadataJson.Default.CaptureMetadata)
                ?? throw new InvalidDataException($"{path}: empty capture metadata");
        }
        catch (JsonException ex)
        {
            throw new InvalidDataException($"{path}: not the capture.json of a MemNotebook Arrow folder: {ex.Message}", ex);
        }
    }
}

/// <summary>capture.json's serializer, generated at build time (no reflection on first use: a fresh process loads faster).</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower, WriteIndented = true,
    DefaultIgnoreCondition = JsonIgnoreCondition.Never)]
[JsonSerializable(typeof(CaptureMetadata))]
internal sealed partial class CaptureMetadataJson : JsonSerializerContext;
