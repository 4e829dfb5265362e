using System.Data.Common;
using System.Globalization;
using System.Numerics;
using System.Text.Json;
using MemNotebook.Recorder.Reports;

namespace MemNotebook.Recorder.Sql;

public enum SqlFormat { Table, Csv, Json }

/// <summary>A query's rows printed: an aligned text table (names made safe for a terminal), CSV or JSON; returns the row count.</summary>
public static class SqlOutput
{
    public static long Write(DbDataReader reader, TextWriter output, SqlFormat format) => format switch
    {
        SqlFormat.Csv => Csv(reader, output),
        SqlFormat.Json => Json(reader, output),
        _ => Table(reader, output),
    };

    private static string[] Names(DbDataReader reader) => Enumerable.Range(0, reader.FieldCount).Select(reader.GetName).ToArray();

    private static string Text(DbDataReader reader, int c) => reader.IsDBNull(c) ? "" : reader.GetValue(c) switch
    {
        string s => s,
        bool b => b ? "true" : "false",
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        var v => v.ToString() ?? "",
    };

    private static long Table(DbDataReader reader, TextWriter output)
    {
        var names = Names(reader).Select(ReportText.Safe).ToArray();
        var numeric = Enumerable.Range(0, names.Length).Select(c => IsNumber(reader.GetFieldType(c))).ToArray();
        var rows = new List<string[]>();
        while (reader.Read())
            rows.Add(Enumerable.Range(0, names.Length).Select(c => reader.IsDBNull(c) ? "NULL" : ReportText.Safe(Text(reader, c))).ToArray());
        var widths = names.Select((n, c) => rows.Select(r => r[c].Length).Append(n.Length).Max()).ToArray();
        string Line(string[] cells) => string.Join("  ", cells.Select((s, c) => numeric[c] ? s.PadLeft(widths[c]) : s.PadRight(widths[c]))).TrimEnd();
        output.WriteLine(Line(names));
        output.WriteLine(string.Join("  ", widths.Select(w => new string('-', w))));
        foreach (var row in rows)
            output.WriteLine(Line(row));
        output.WriteLine(rows.Count == 1 ? "(1 row)" : $"({rows.Count.ToString("N0", CultureInfo.InvariantCulture)} rows)");
        return rows.Count;
    }

    private static long Csv(DbDataReader reader, TextWriter output)
    {
        static string Field(string s) => s.IndexOfAny([',', '"', '\n', '\r']) >= 0 ? "\"" + s.Replace("\"", "\"\"") + "\"" : s;
        var names = Names(reader);
        output.WriteLine(string.Join(",", names.Select(Field)));
        long rows = 0;
        while (reader.Read())
        {
            output.WriteLine(string.Join(",", Enumerable.Range(0, names.Length).Select(c => Field(Text(reader, c)))));
            rows++;
        }
        return rows;
    }

    /// <summary>An array of objects, one per row; numbers as JSON numbers (a HUGEINT too), NULL as null.</summary>
    private static long Json(DbDataReader reader, TextWriter output)
    {
        var names = Names(reader);
        using var buffer = new MemoryStream();
        long rows = 0;
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            json.WriteStartArray();
            while (reader.Read())
            {
                json.WriteStartObject();
                for (var c = 0; c < names.Length; c++)
                {
                    json.WritePropertyName(names[c]);
                    if (reader.IsDBNull(c))
                    {
                        json.WriteNullValue();
                        continue;
                    }
                    switch (reader.GetValue(c))
                    {
                        case bool b: json.WriteBooleanValue(b); break;
                        case long or int or short or sbyte or byte or ushort or uint or ulong or BigInteger or decimal:
                            json.WriteRawValue(Text(reader, c)); break;
                        case double d when double.IsFinite(d): json.WriteNumberValue(d); break;
                        case float f when float.IsFinite(f): json.WriteNumberValue(f); break;
                        default: json.WriteStringValue(Text(reader, c)); break;
                    }
                }
                json.WriteEndObject();
                rows++;
            }
            json.WriteEndArray();
        }
        output.WriteLine(System.Text.Encoding.UTF8.GetString(buffer.ToArray()));
        return rows;
    }

    private static bool IsNumber(Type t) => t == typeof(long) || t == typeof(int) || t == typeof(short) || t == typeof(sbyte) || t == typeof(byte)
        || t == typeof(ushort) || t == typeof(uint) || t == typeof(ulong) || t == typeof(BigInteger) || t == typeof(decimal)
        || t == typeof(double) || t == typeof(float);
}
