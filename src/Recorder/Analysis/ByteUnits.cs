using System.Globalization;

namespace MemNotebook.Recorder.Analysis;

public static class ByteUnits
{
    private static readonly string[] Units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];

    /// <summary>"512 B", "1.5 KiB", "12.3 MiB" (binary units, one decimal above bytes).</summary>
    public static string Format(long bytes)
    {
        if (Math.Abs(bytes) < 1024)
            return bytes.ToString(CultureInfo.InvariantCulture) + " B";
        double value = bytes;
        var unit = 0;
        while (Math.Abs(value) >= 1024 && unit < Units.Length - 1)
        {
            value /= 1024;
            unit++;
        }
        return value.ToString("0.0", CultureInfo.InvariantCulture) + " " + Units[unit];
    }
}
