// Copyright the deno-echo authors. MIT license.

// The plain-text tables the benchmark suite prints.

/**
 * A table: a header line, a line of dashes, then the rows, columns two
 * spaces apart and each as wide as its widest cell. Columns are right-aligned
 * (numbers) but for those `left` names by index; trailing blanks are cut.
 */
export function formatTable(
  header: readonly string[],
  rows: readonly (readonly string[])[],
  left: readonly number[] = [],
): string {
  const widths = header.map((h, i) =>
    Math.max(h.length, ...rows.map((row) => row[i]!.length))
  );
  const line = (row: readonly string[]): string =>
    row.map((cell, i) =>
      left.includes(i) ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!)
    ).join("  ").trimEnd();
  return [
    line(header),
    widths.map((w) => "-".repeat(w)).join("  "),
    ...rows.map(line),
  ].join("\n");
}
