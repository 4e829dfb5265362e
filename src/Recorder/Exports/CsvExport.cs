using System.Globalization;
using System.Text;
using Apache.Arrow;
using Apache.Arrow.Ipc;
using MemNotebook.Recorder.Arrow;

namespace MemNotebook.Recorder.Exports;

/// <summary>
/// Writes every table of an Arrow folder as CSV (RFC 4180: a header row, fields with a comma, quote
/// or line break quoted, nulls empty), streaming one record batch at a time.
/// </summary>
public static class CsvExport
{
    public static IReadOnlyList<string> WriteAll(string arrowFolder, string outputFolder)
    {
        Storage.PrivateFiles.CreateDirectory(outputFolder);
        var written = new List<string>();
        // An aggregated capture has an aggregates table instead of allocations.
        bool aggregated = !File.Exists(ArrowLayout.TablePath(arrowFolder, ArrowLayout.Allocations))
            && File.Exists(ArrowLayout.TablePath(arrowFolder, ArrowLayout.Aggregates));
        foreach (var table in ArrowLayout.TableNamesFor(aggregated))
        {
            var path = Path.Combine(outputFolder, table + ".csv");
            using var input = File.OpenRead(ArrowLayout.TablePath(arrowFolder, table));
            using var reader = new ArrowFileReader(input, ArrowCompression.Codecs);
            using var output = new StreamWriter(Storage.PrivateFiles.Create(path, 1 << 16), new UTF8Encoding(false)) { NewLine = "\n" };
            WriteTable(reader, output);
            written.Add(path);
        }
        return written;
    }

    private static void WriteTable(ArrowFileReader reader, TextWriter output)
    {
        var fields = reader.Schema.FieldsList;
        output.WriteLine(string.Join(",", fields.Select(f => Quote(f.Name))));
        var line = new StringBuilder();
        while (reader.ReadNextRecordBatch() is RecordBatch batch)
        {
            using (batch)
            {
                for (var row = 0; row < batch.Length; row++)
                {
                    line.Clear();
                    for (var c = 0; c < batch.ColumnCount; c++)
                    {
                        if (c > 0)
                            line.Append(',');
                        line.Append(Format(batch.Column(c), row));
                    }
                    output.WriteLine(line);
                }
            }
        }
    }

    private static string Format(IArrowArray array, int row)
    {
        if (array.IsNull(row))
            return "";
        return array switch
        {
            Int32Array a => a.GetValue(row)!.Value.ToString(CultureInfo.InvariantCulture),
            Int64Array a => a.GetValue(row)!.Value.ToString(CultureInfo.InvariantCulture),
            UInt64Array a => a.GetValue(row)!.Value.ToString(CultureInfo.InvariantCulture),
            BooleanArray a => a.GetValue(row)!.Value ? "true" : "false",
            StringArray a => Quote(a.GetString(row) ?? ""),
            // A dictionary-encoded column (the allocator, a stack's function): its value, as the plain string column was written.
            DictionaryArray { Indices: Int8Array indices } a => Format(a.Dictionary, indices.GetValue(row)!.Value),
            DictionaryArray { Indices: Int32Array indices } a => Format(a.Dictionary, indices.GetValue(row)!.Value),
            _ => throw new NotSupportedException($"CSV of {array.Data.DataType.Name} columns"),
        };
    }

    private static string Quote(string value) =>
        value.AsSpan().IndexOfAny(",\"\r\n") < 0 ? value : "\"" + value.Replace("\"", "\"\"") + "\"";
}
