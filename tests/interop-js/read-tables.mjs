// Reads every table of a MemNotebook Arrow folder with apache-arrow and prints, as one JSON
// object per table, the row count, the column names and types, and the first and last rows.
// 64-bit integers are printed as strings so no digit is lost. For allocations also the size sum, the
// null count of freed_at_ns and the rows of each allocator (a dictionary-encoded column).
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { tableFromIPC } from "apache-arrow";

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
