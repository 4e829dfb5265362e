// Reads a folder written by `memnb transform parquet` (TABLE/capture=NAME/part-N.parquet) with hyparquet,
// an independent JavaScript Parquet reader, and prints one JSON object:
//   { TABLE: { NAME: { rows, columns: { COLUMN: { nulls, sum?, distinct? } } } } }
// Every value of every column is decoded. Integers are summed as BigInt and printed as strings so no digit
// is lost; booleans count their true values as the sum; strings give their number of distinct values.
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { asyncBufferFromFile, parquetMetadataAsync, parquetReadObjects } from "hyparquet";
import { compressors } from "hyparquet-compressors";

const folder = process.argv[2];
if (!folder) {
  console.error("usage: node read-parquet.mjs FOLDER");
  process.exit(2);
}
const result = {};
for (const table of readdirSync(folder).sort()) {
  result[table] = {};
  for (const partition of readdirSync(join(folder, table)).sort()) {
    if (!partition.startsWith("capture=")) throw new Error(`${table}/${partition} is not a capture= partition`);
    const seen = { rows: 0, columns: {} };
    for (const part of readdirSync(join(folder, table, partition)).sort()) {
      const file = await asyncBufferFromFile(join(folder, table, partition, part));
      const metadata = await parquetMetadataAsync(file);
      const rows = await parquetReadObjects({ file, metadata, compressors });
      if (BigInt(rows.length) !== BigInt(metadata.num_rows))
        throw new Error(`${part}: ${rows.length} rows decoded, the footer says ${metadata.num_rows}`);
      seen.rows += rows.length;
      for (const element of metadata.schema.slice(1)) {
        const name = element.name;
        const kind = element.type === "BYTE_ARRAY" ? "string" : "number";
        const column = (seen.columns[name] ??= { nulls: 0, values: new Set(), sum: 0n, kind });
        for (const row of rows) {
          const value = row[name];
          if (value === null || value === undefined) column.nulls++;
          else if (kind === "number" && typeof value === "bigint") column.sum += value;
          else if (kind === "number" && typeof value === "number" && Number.isInteger(value)) column.sum += BigInt(value);
          else if (kind === "number" && typeof value === "boolean") column.sum += value ? 1n : 0n;
          else if (kind === "string" && typeof value === "string") column.values.add(value);
          else throw new Error(`${table}.${name}: unexpected value ${value} (${typeof value})`);
        }
      }
    }
    for (const [name, column] of Object.entries(seen.columns))
      seen.columns[name] =
        column.kind === "number" ? { nulls: column.nulls, sum: column.sum.toString() }
        : { nulls: column.nulls, distinct: column.values.size };
    result[table][partition.slice("capture=".length)] = seen;
  }
}
console.log(JSON.stringify(result));
