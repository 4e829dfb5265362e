using System.Buffers.Binary;
using System.Globalization;

namespace MemNotebook.Recorder.Format;

/// <summary>
/// How many allocations a capture is read with. zstd chunks of identical records expand ~12,000 times: a
/// capture of 24 KB can hold 42M allocations, and the tables, reports and exports of them take gigabytes. A
/// capture's allocations are refused, with one <see cref="AllocationLimitException"/> before the work that
/// grows with them, beyond <see cref="Default"/>: <see cref="PerFileByte"/> a byte of the file, and at least
/// <see cref="Floor"/>. Honest captures stay far below it (a tight allocation loop's capture: 2.2 allocations a
/// byte), and any capture of up to <see cref="Floor"/> allocations is read whatever its size. The limit is
/// raised for one read with a parameter (<c>memnb --max-allocations N</c>, <c>Capture.Load(path, maxAllocations: N)</c>)
/// or for a process with the variable <see cref="Variable"/>.
/// </summary>
public static class AllocationLimit
{
    /// <summary>Allocations any capture may hold, however small: 16,777,216 (2^24, ~1 GiB of loaded table).</summary>
    public const long Floor = 1L << 24;

    /// <summary>Allocations a byte of the capture may hold by default (a traced allocation loop writes 0.46 bytes per allocation).</summary>
    public const long PerFileByte = 64;

    /// <summary>The variable that sets the limit when no parameter does: a whole number of 1 or more.</summary>
    public const string Variable = "MEMNB_MAX_ALLOCATIONS";

    /// <summary>The default limit for a capture of <paramref name="fileBytes"/> bytes.</summary>
    public static long Default(long fileBytes) => Math.Max(Floor, fileBytes > long.MaxValue / PerFileByte ? long.MaxValue : fileBytes * PerFileByte);

    /// <summary>
    /// The limit for a capture of <paramref name="fileBytes"/> bytes: <paramref name="requested"/> when given, else
    /// <see cref="Variable"/> when set, else <see cref="Default"/>. A bad variable throws <see cref="ArgumentException"/>
    /// naming it (its <c>ParamName</c>).
    /// </summary>
    public static Setting For(long fileBytes, long? requested = null)
    {
        if (requested is long given)
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(given, 1, "maxAllocations");
            return new Setting(given, Source.Parameter);
        }
        var text = Environment.GetEnvironmentVariable(Variable);
        if (string.IsNullOrEmpty(text))
            return new Setting(Default(fileBytes), Source.Default);
        if (!long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var value) || value < 1)
            throw new VariableException($"{Variable} must be a whole number of 1 or more, not '{text}'");
        return new Setting(value, Source.Variable);
    }

    /// <summary>Where a limit comes from.</summary>
    public enum Source { Default, Variable, Parameter }

    /// <param name="Limit">The most allocations a capture is read with.</param>
    public readonly record struct Setting(long Limit, Source From);

    /// <summary>
    /// Refuses the capture at <paramref name="path"/> (its first <paramref name="extent"/> bytes) when it holds more
    /// allocations than <paramref name="setting"/> allows. The chunk headers say at most how many (raw bytes of the
    /// thread chunks / 6, an ALLOC taking 6 bytes at least); only when that is beyond the limit are the records
    /// counted, by a read that keeps nothing per allocation.
    /// </summary>
    public static void Check(string path, long extent, Setting setting, bool allowTruncated)
    {
        if (ThreadPayloadBytes(path, extent) / CaptureFormat.MinAllocationRecordBytes <= setting.Limit)
            return;
        var counter = new Counter();
        // The FREE records are checked in full by the read that follows when the count is within the limit.
        CapturePass.Read(path, counter, new CaptureReaderOptions { AllowTruncated = allowTruncated, FreesChecked = true }, extent);
        Check(path, extent, setting, counter.Allocations);
    }

    /// <summary>Refuses <paramref name="allocations"/> (counted already) when they are more than <paramref name="setting"/> allows.</summary>
    public static void Check(string path, long fileBytes, Setting setting, long allocations)
    {
        if (allocations > setting.Limit)
            throw new AllocationLimitException(path, allocations, setting, fileBytes);
    }

    /// <summary>
    /// The raw payload bytes the chunk headers of thread streams declare, up to <paramref name="extent"/>; the scan
    /// stops at the first header that is not one (the read that follows names what is wrong).
    /// </summary>
    private static long ThreadPayloadBytes(string path, long extent)
    {
        using var file = CaptureReader.OpenFile(path);
        var length = Math.Min(extent, file.Length);
        Span<byte> header = stackalloc byte[CaptureFormat.ChunkHeaderSize];
        long position = CaptureFormat.HeaderSize, total = 0;
        while (position + CaptureFormat.ChunkHeaderSize <= length)
        {
            file.Position = position;
            file.ReadExactly(header);
            if (BinaryPrimitives.ReadUInt32LittleEndian(header) != CaptureFormat.ChunkMagic)
                break;
            var stream = BinaryPrimitives.ReadUInt32LittleEndian(header[4..]);
            var stored = BinaryPrimitives.ReadUInt32LittleEndian(header[8..]);
            var raw = BinaryPrimitives.ReadUInt32LittleEndian(header[12..]);
            if (stored > CaptureFormat.MaxChunkPayload || raw > CaptureFormat.MaxChunkPayload)
                break;
            if (stream >= CaptureFormat.FirstThreadStream)
                total += raw;
            position += CaptureFormat.ChunkHeaderSize + stored;
        }
        return total;
    }

    /// <summary>A bad <see cref="Variable"/>: the message as is (an <see cref="ArgumentException"/> would append the name).</summary>
    private sealed class VariableException(string message) : ArgumentException(message, Variable)
    {
        public override string Message { get; } = message;
    }

    /// <summary>Counts allocations; keeps nothing else.</summary>
    private sealed class Counter : CaptureVisitor
    {
        public long Allocations;

        public override void OnAllocation(in AllocationRecord allocation) => Allocations++;
        public override void OnAllocations(in AllocationBlock block) => Allocations += block.Count;
        public override void OnFreeRun(int threadStream, long firstSequence, long count, long ticks, long gcIndex) { }
    }
}

/// <summary>
/// A capture holding more allocations than <see cref="AllocationLimit"/> lets a read take; the message names the
/// file, the count, the limit and how to raise it.
/// </summary>
public sealed class AllocationLimitException : Exception
{
    internal AllocationLimitException(string path, long allocations, AllocationLimit.Setting setting, long fileBytes)
        : base(Compose(path, allocations, setting, fileBytes))
    {
        Path = path;
        Allocations = allocations;
        Limit = setting.Limit;
    }

    public string Path { get; }
    public long Allocations { get; }
    public long Limit { get; }

    private static string Compose(string path, long allocations, AllocationLimit.Setting setting, long fileBytes)
    {
        var c = CultureInfo.InvariantCulture;
        var head = string.Create(c, $"{path}: too many allocations: {allocations:N0}");
        return setting.From switch
        {
            AllocationLimit.Source.Default => head + string.Create(c,
                $", more than the {setting.Limit:N0} a capture of {fileBytes:N0} bytes is read with by default ({AllocationLimit.PerFileByte} a byte, at least {AllocationLimit.Floor:N0}); if it is a genuine capture, raise the limit with --max-allocations N (memnb), maxAllocations (Capture.Load) or {AllocationLimit.Variable}=N"),
            AllocationLimit.Source.Variable => head + string.Create(c,
                $", more than the {setting.Limit:N0} {AllocationLimit.Variable} allows; raise it to read the capture"),
            _ => head + string.Create(c, $", more than the limit of {setting.Limit:N0} given (--max-allocations, maxAllocations); raise it to read the capture"),
        };
    }
}
