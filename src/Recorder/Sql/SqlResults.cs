using System.Data.Common;
using System.Numerics;
using Microsoft.Data.Analysis;

namespace MemNotebook.Recorder.Sql;

/// <summary>A query's rows as a DataFrame: a typed column per result column.</summary>
internal static class SqlResults
{
    public static DataFrame ToDataFrame(DbDataReader reader)
    {
        var n = reader.FieldCount;
        var types = Enumerable.Range(0, n).Select(reader.GetFieldType).ToArray();
        var values = Enumerable.Range(0, n).Select(_ => new List<object?>()).ToArray();
        while (reader.Read())
            for (var c = 0; c < n; c++)
                values[c].Add(reader.IsDBNull(c) ? null : reader.GetValue(c));
        var names = Unique(Enumerable.Range(0, n).Select(reader.GetName).ToArray());
        return new DataFrame(Enumerable.Range(0, n).Select(c => Column(names[c], types[c], values[c])));
    }

    /// <summary>A DataFrame's column names are unique: a repeated name gets its position after it (<c>name_2</c>).</summary>
    private static string[] Unique(string[] names)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < names.Length; i++)
        {
            var name = names[i];
            for (var k = 2; !seen.Add(name); k++)
                name = $"{names[i]}_{k}";
            names[i] = name;
        }
        return names;
    }

    private static DataFrameColumn Column(string name, Type type, List<object?> values)
    {
        if (type == typeof(long) || type == typeof(int) || type == typeof(short) || type == typeof(sbyte)
            || type == typeof(byte) || type == typeof(ushort) || type == typeof(uint))
            return new Int64DataFrameColumn(name, values.Select(v => v is null ? (long?)null : Convert.ToInt64(v)));
        // DuckDB's sum of BIGINTs is a HUGEINT; counts and bytes of a capture fit 63 bits (checked when it is read).
        if (type == typeof(BigInteger) || type == typeof(ulong) || type == typeof(decimal))
        {
            if (values.All(v => v is null || Fits(v)))
                return new Int64DataFrameColumn(name, values.Select(v => v is null ? (long?)null : ToInt64(v)));
            return new DoubleDataFrameColumn(name, values.Select(v => v is null ? (double?)null : ToDouble(v)));
        }
        if (type == typeof(double) || type == typeof(float))
            return new DoubleDataFrameColumn(name, values.Select(v => v is null ? (double?)null : Convert.ToDouble(v)));
        if (type == typeof(bool))
            return new BooleanDataFrameColumn(name, values.Select(v => (bool?)v));
        if (type == typeof(DateTime))
            return new DateTimeDataFrameColumn(name, values.Select(v => (DateTime?)v));
        return new StringDataFrameColumn(name, values.Select(v => v switch
        {
            null => null,
            string s => s,
            IFormattable f => f.ToString(null, System.Globalization.CultureInfo.InvariantCulture),
            _ => v.ToString(),
        }));
    }

    private static bool Fits(object v) => v switch
    {
        BigInteger b => b >= long.MinValue && b <= long.MaxValue,
        ulong u => u <= long.MaxValue,
        decimal d => decimal.Truncate(d) == d && d >= long.MinValue && d <= long.MaxValue,
        _ => false,
    };

    private static long ToInt64(object v) => v switch
    {
        BigInteger b => (long)b,
        _ => Convert.ToInt64(v, System.Globalization.CultureInfo.InvariantCulture),
    };

    private static double ToDouble(object v) => v switch
    {
        BigInteger b => (double)b,
        _ => Convert.ToDouble(v, System.Globalization.CultureInfo.InvariantCulture),
    };
}
