/**
 * Output of magnetar-admin: readable tables by default, the server's JSON with --json.
 * Lists of names print one per line; objects print as KEY / VALUE rows; lists of objects as a
 * table with one column per field.
 */

export interface Output {
  json: boolean;
  write(text: string): void;
}

export function stdoutOutput(json: boolean): Output {
  return { json, write: (t) => process.stdout.write(t.endsWith('\n') ? t : `${t}\n`) };
}

function cell(v: unknown): string {
  if (v === undefined || v === null) return '';
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

export function table(rows: readonly (readonly string[])[]): string {
  if (rows.length === 0) return '';
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows
    .map((r) =>
      r
        .map((c, i) => c.padEnd(widths[i]))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

export function render(value: unknown): string {
  if (value === undefined) return '(not set)';
  if (Array.isArray(value)) {
    if (value.length === 0) return '(none)';
    if (value.every((v) => typeof v !== 'object' || v === null)) return value.map(cell).join('\n');
    const cols = [...new Set(value.flatMap((v) => Object.keys(v as object)))];
    return table([
      cols.map((c) => c.toUpperCase()),
      ...value.map((v) => cols.map((c) => cell((v as Record<string, unknown>)[c]))),
    ]);
  }
  if (typeof value === 'object' && value !== null) {
    const entries = Object.entries(value);
    if (entries.length === 0) return '(empty)';
    return table([['KEY', 'VALUE'], ...entries.map(([k, v]) => [k, cell(v)])]);
  }
  return String(value);
}

export function print(out: Output, value: unknown): void {
  if (out.json) out.write(JSON.stringify(value ?? null, null, 2));
  else out.write(render(value));
}
