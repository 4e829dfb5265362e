using System.Globalization;
using System.Text.RegularExpressions;

namespace MemNotebook.Testing;

/// <summary>
/// Sizes as limits are written: a number and a unit, "24 MB", "1.5 GB", "512 B", "4096" (bytes). KB, MB, GB and TB
/// count in powers of 1,024, as pytest-memray's limits do; KiB, MiB, GiB and TiB are accepted with the same meaning.
/// Units are case-insensitive.
/// </summary>
public static partial class ByteSize
{
    private static readonly Dictionary<string, long> Units = new(StringComparer.OrdinalIgnoreCase)
    {
        [""] = 1,
        ["B"] = 1,
        ["KB"] = 1L << 10,
        ["KiB"] = 1L << 10,
        ["MB"] = 1L << 20,
        ["MiB"] = 1L << 20,
        ["GB"] = 1L << 30,
        ["GiB"] = 1L << 30,
        ["TB"] = 1L << 40,
        ["TiB"] = 1L << 40,
    };

    [GeneratedRegex(@"^\s*(?<sign>[-+]?)\s*(?<number>[0-9]+(?:\.[0-9]+)?|\.[0-9]+)\s*(?<unit>[A-Za-z]*)\s*$")]
    private static partial Regex SizePattern();

    /// <summary>The bytes <paramref name="text"/> stands for, or false with <paramref name="error"/> saying what is wrong.</summary>
    public static bool TryParse(string? text, out long bytes, out string error)
    {
        bytes = 0;
        if (string.IsNullOrWhiteSpace(text))
        {
            error = "the size is empty: expected a number and a unit, e.g. \"24 MB\"";
            return false;
        }
        var match = SizePattern().Match(text);
        if (!match.Success)
        {
            error = $"\"{text}\" is not a size: expected a number and a unit (B, KB, MB, GB, TB), e.g. \"24 MB\"";
            return false;
        }
        var unit = match.Groups["unit"].Value;
        if (!Units.TryGetValue(unit, out var factor))
        {
            error = $"\"{text}\": unknown unit \"{unit}\": expected B, KB, MB, GB or TB (or KiB, MiB, GiB, TiB), e.g. \"24 MB\"";
            return false;
        }
        var value = decimal.Parse(match.Groups["number"].Value, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture);
        if (match.Groups["sign"].Value == "-" && value != 0)
        {
            error = $"\"{text}\" is negative: a memory limit is 0 or more bytes";
            return false;
        }
        var total = value * factor;
        if (total > long.MaxValue)
        {
            error = $"\"{text}\" is too large: at most {long.MaxValue:N0} bytes";
            return false;
        }
        if (total != decimal.Truncate(total))
        {
            error = $"\"{text}\" is not a whole number of bytes ({total.ToString(CultureInfo.InvariantCulture)})";
            return false;
        }
        bytes = (long)total;
        error = "";
        return true;
    }

    /// <summary>"4,120,000 bytes (3.9 MiB)"; below 1,024 only the bytes.</summary>
    public static string Describe(long bytes) =>
        bytes < 1024 && bytes > -1024
            ? $"{bytes.ToString("N0", CultureInfo.InvariantCulture)} bytes"
            : $"{bytes.ToString("N0", CultureInfo.InvariantCulture)} bytes ({Recorder.Analysis.ByteUnits.Format(bytes)})";
}
