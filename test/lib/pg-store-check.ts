/**
 * The PostgreSQL store's consistency, checked on its rows (the counterpart of store-check.ts for sqlite): every blob
 * row has its content (all chunks, the right size and sha256), every patch has all its packages and a valid state,
 * the event log has no hole, at most one strategy and exactly one lease row. Returns the list of problems (empty =
 * consistent). Read-only; safe while controllers run (one REPEATABLE READ snapshot).
 */
import { Client } from "pg";

/** Checks the database at `url`. */
export async function checkPgStore(url: string): Promise<string[]> {
  const problems: string[] = [];
  const c = new Client({ connectionString: url });
  c.on("error", () => undefined);
  await c.connect();
  try {
    await c.query("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
    const q = async <T extends object>(sql: string) => (await c.query<T>(sql)).rows;
    for (const r of await q<{ sha256: string; size: string; csize: string | null }>(
      "SELECT b.sha256, b.size::text AS size, c.size::text AS csize FROM blobs b LEFT JOIN blob_contents c ON c.sha256 = b.sha256",
    )) {
      if (r.csize === null) problems.push(`blob row without content: ${r.sha256}`);
      else if (r.csize !== r.size) problems.push(`blob ${r.sha256}: content size ${r.csize} != ${r.size}`);
    }
    for (const r of await q<{ sha256: string; size: string; chunks: number; n: number; bytes: string | null; digest: string | null }>(
      `SELECT c.sha256, c.size::text AS size, c.chunks, count(k.seq)::int AS n, sum(length(k.data))::text AS bytes,
              encode(sha256(string_agg(k.data, ''::bytea ORDER BY k.seq)), 'hex') AS digest
         FROM blob_contents c LEFT JOIN blob_chunks k ON k.sha256 = c.sha256 GROUP BY c.sha256, c.size, c.chunks`,
    )) {
      if (r.n !== r.chunks) problems.push(`blob ${r.sha256}: ${r.n} chunks stored, ${r.chunks} listed`);
      if ((r.bytes ?? "0") !== r.size) problems.push(`blob ${r.sha256}: ${r.bytes ?? 0} bytes stored, size ${r.size}`);
      if (r.n > 0 && r.digest !== r.sha256) problems.push(`blob ${r.sha256}: content does not match its name`);
    }
    const orphans = await q<{ sha256: string }>("SELECT DISTINCT k.sha256 FROM blob_chunks k LEFT JOIN blob_contents c ON c.sha256 = k.sha256 WHERE c.sha256 IS NULL");
    for (const o of orphans) problems.push(`chunks without a blob_contents row: ${o.sha256}`);
    for (const p of await q<{ id: string; repo_state: string; metadata_json: string }>("SELECT id, repo_state, metadata_json FROM patches")) {
      if (!["Available", "Applied", "Committed"].includes(p.repo_state)) problems.push(`patch ${p.id}: bad repo_state ${p.repo_state}`);
      const contents = (JSON.parse(p.metadata_json) as { contents: string[] }).contents;
      const pk = (await c.query<{ file_name: string }>("SELECT file_name FROM patch_packages WHERE patch_id = $1", [p.id])).rows.map((r) => r.file_name);
      if (p.repo_state !== "Committed" && pk.length !== contents.length) problems.push(`patch ${p.id}: ${pk.length} packages stored, ${contents.length} listed`);
      for (const f of pk) if (!contents.includes(f)) problems.push(`patch ${p.id}: stored package ${f} not in its contents`);
    }
    const [ev] = await q<{ n: string; lo: string | null; hi: string | null }>("SELECT count(*)::text AS n, min(seq)::text AS lo, max(seq)::text AS hi FROM events");
    if (ev && ev.lo !== null && Number(ev.hi) - Number(ev.lo) + 1 !== Number(ev.n)) problems.push(`event log has holes: ${ev.n} events in ${ev.lo}..${ev.hi}`);
    const [st] = await q<{ n: number }>("SELECT count(*)::int AS n FROM strategy");
    if (st && st.n > 1) problems.push(`${st.n} strategies`);
    const [lease] = await q<{ n: number }>("SELECT count(*)::int AS n FROM controller_lease");
    if (lease?.n !== 1) problems.push(`${lease?.n ?? 0} lease rows`);
    await c.query("COMMIT");
  } finally {
    await c.end();
  }
  return problems;
}

/** The patches' repo states as stored: id → Available | Applied | Committed. */
export async function storedPatchStates(url: string): Promise<Map<string, string>> {
  const c = new Client({ connectionString: url });
  c.on("error", () => undefined);
  await c.connect();
  try {
    return new Map((await c.query<{ id: string; repo_state: string }>("SELECT id, repo_state FROM patches")).rows.map((r) => [r.id, r.repo_state]));
  } finally {
    await c.end();
  }
}
