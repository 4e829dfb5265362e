// Reads every table of a MemNotebook Arrow folder with apache-arrow and prints, as one JSON
// object per table, the row count, the column names and types, and the first and last rows.
// 64-bit integers are printed as strings so no digit is lost. For allocations also the size sum, the
// null count of freed_at_ns and the rows of each allocator (a dictionary-encoded column).
// The tables' buffers are ZSTD-compressed: apache-arrow decompresses them with the codec registered here. It views
// the decoded bytes as 64-bit arrays in place, so each is copied to an array of its own (fzstd may return a view at
// an odd offset into a larger buffer).
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { compressionRegistry, CompressionType, tableFromIPC } from "apache-arrow";
import { decompress } from "fzstd";

compressionRegistry.set(CompressionType.ZSTD, { decode: (data) => new Uint8Array(decompress(data)) });

const folder = process.argv[2];
if (!folder) {
  console.error("usage: node read-tables.mjs ARROW_FOLDER");
  process.exit(2);
}
const tables = ["allocations", "stacks", "frames", "types", "threads", "timeline", "gc_events"];
const plain = (value) => (typeof value === "bigint" ? value.toString() : value ?? null);
const row = (table, index) => {
  if (index < 0 || index >= table.numRows) return null;
  const out = {};
  for (const field of table.schema.fields) out[field.name] = plain(table.getChild(field.name).get(index));
  return out;
};
const result = {};
for (const name of tables) {
  const table = tableFromIPC(readFileSync(join(folder, `${name}.arrow`)));
  let sizeSum = 0n;
  const allocators = {};
  if (name === "allocations") {
    for (const size of table.getChild("size")) sizeSum += size;
    for (const allocator of table.getChild("allocator")) allocators[allocator] = (allocators[allocator] ?? 0) + 1;
  }
  result[name] = {
    rows: table.numRows,
    columns: table.schema.fields.map((f) => `${f.name}:${f.type}`),
    first: row(table, 0),
    last: row(table, table.numRows - 1),
    ...(name === "allocations"
      ? { size_sum: sizeSum.toString(), freed_nulls: table.getChild("freed_at_ns").nullCount, allocators }
      : {}),
  };
}
console.log(JSON.stringify(result));
