/**
 * A value as an SQL literal, for queued writes (the same values node-sqlite3 binds: strings as
 * UTF-8 text, numbers, booleans as 0/1, null/undefined as NULL, bytes as a blob).
 */
export function sqlLiteral(v: unknown): string {
  if (v === null || v === undefined) return "NULL";
  switch (typeof v) {
    case "string":
      // A NUL would end the statement text early: such strings go as hex.
      return v.includes("\0") ? `CAST(X'${Buffer.from(v, "utf8").toString("hex")}' AS TEXT)` : `'${v.replace(/'/g, "''")}'`;
    case "number":
      if (!Number.isFinite(v)) throw new Error(`cannot write ${v} to sqlite`);
      return String(v);
    case "bigint":
      return v.toString();
    case "boolean":
      return v ? "1" : "0";
  }
  if (v instanceof Uint8Array) return `X'${Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString("hex")}'`;
  throw new Error(`cannot write a ${Object.prototype.toString.call(v)} to sqlite`);
}

/** `sql` with each `?` outside quotes replaced by the next parameter as a literal. */
export function inlineParams(sql: string, params: readonly unknown[] = []): string {
  let out = "";
  let k = 0;
  let quote = "";
  let from = 0;
  for (let i = 0; i < sql.length; i++) {
    const c = sql[i]!;
    if (quote) {
      if (c === quote) quote = "";
    } else if (c === "'" || c === '"' || c === "`") quote = c;
    else if (c === "?") {
      if (k >= params.length) throw new Error(`too few parameters for: ${sql}`);
      out += sql.slice(from, i) + sqlLiteral(params[k++]);
      from = i + 1;
    }
  }
  if (quote) throw new Error(`unterminated quote in: ${sql}`);
  if (k !== params.length) throw new Error(`${params.length} parameters for ${k} placeholders in: ${sql}`);
  return out + sql.slice(from);
}
