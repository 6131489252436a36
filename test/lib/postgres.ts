/**
 * A real PostgreSQL server for tests: Debian's `postgresql` binaries, a cluster made with `initdb`
 * in a temp dir (as the `postgres` user when we run as root, since PostgreSQL refuses to run as
 * root), listening on 127.0.0.1 on a free port with a socket directory in the temp dir, trust
 * authentication on loopback only. One server per test file; each test takes a fresh database from
 * {@link PostgresServer.createDatabase}. `stop()` shuts it down (fast mode) and removes the dir.
 *
 *   let pg: PostgresServer;
 *   before(async function () { this.timeout(60_000); pg = await startPostgres(); });
 *   after(() => pg?.stop());
 *   const url = await pg.createDatabase();   // postgres://postgres@127.0.0.1:PORT/swp_test_3
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { Client } from "pg";

/** The newest installed PostgreSQL's bin directory holding `initdb`, or undefined. */
export function postgresBinDir(): string | undefined {
  const base = "/usr/lib/postgresql";
  if (!existsSync(base)) return undefined;
  const versions = readdirSync(base)
    .filter((v) => existsSync(path.join(base, v, "bin", "initdb")) && existsSync(path.join(base, v, "bin", "postgres")))
    .sort((a, b) => Number(b) - Number(a));
  return versions[0] === undefined ? undefined : path.join(base, versions[0], "bin");
}

/** Why a PostgreSQL server cannot be started here, or undefined when it can. */
export function postgresUnavailable(): string | undefined {
  if (!postgresBinDir()) return "PostgreSQL is not installed (Debian package postgresql; npm test's pretest installs it as root)";
  if (process.getuid?.() === 0 && spawnSync("id", ["-u", "postgres"]).status !== 0) return "running as root but there is no postgres user to run the server as";
  return undefined;
}

/** A running test server. */
export interface PostgresServer {
  readonly host: string;
  readonly port: number;
  /** The postmaster's process id (its backends are its children), undefined while stopped. */
  readonly pid: number | undefined;
  /** `postgres://postgres@127.0.0.1:PORT/postgres`. */
  readonly adminUrl: string;
  /** Creates an empty database and returns its URL. */
  createDatabase(name?: string): Promise<string>;
  /**
   * Stops the server (with SIGKILL when `crash`: a crash) and starts it again on the same port and
   * data; `whileDown` runs between the two (what clients see while there is no server).
   */
  restart(opts?: { crash?: boolean; whileDown?: () => Promise<void> }): Promise<void>;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

async function sleep(ms: number): Promise<void> {
  await new Promise((r) => setTimeout(r, ms));
}

let databases = 0;

/**
 * Starts a fresh cluster. Throws with initdb's/postgres's output when it cannot.
 * @param opts.settings extra `-c name=value` server settings.
 * @param opts.hba pg_hba.conf lines matched before the loopback trust lines (e.g. a role that must give a password).
 */
export async function startPostgres(opts: { settings?: Record<string, string>; hba?: string[] } = {}): Promise<PostgresServer> {
  const bin = postgresBinDir();
  const why = postgresUnavailable();
  if (!bin || why) throw new Error(why ?? "PostgreSQL is not installed");
  const asRoot = process.getuid?.() === 0;
  const dir = mkdtempSync(path.join(os.tmpdir(), "swpatch-pg-"));
  const data = path.join(dir, "data");
  // As root the server runs as the postgres user (spawned with its uid/gid, so that the child is the postmaster itself).
  const ids = asRoot
    ? {
        uid: Number(spawnSync("id", ["-u", "postgres"], { encoding: "utf8" }).stdout.trim()),
        gid: Number(spawnSync("id", ["-g", "postgres"], { encoding: "utf8" }).stdout.trim()),
      }
    : {};
  if (ids.uid !== undefined) chownSync(dir, ids.uid, ids.gid!);
  chmodSync(dir, 0o700);
  const init = spawnSync(path.join(bin, "initdb"), ["-D", data, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync"], {
    encoding: "utf8",
    cwd: dir,
    ...ids,
  });
  if (init.status !== 0) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`initdb failed (${init.status}): ${init.stderr || init.stdout}`);
  }
  // Loopback only, trust: nothing outside this machine can reach it.
  writeFileSync(
    path.join(data, "pg_hba.conf"),
    [...(opts.hba ?? []), "local all all trust", "host all all 127.0.0.1/32 trust", "host all all ::1/128 trust", ""].join("\n"),
  );
  const settings: Record<string, string> = {
    listen_addresses: "127.0.0.1",
    unix_socket_directories: dir,
    // fsync off: only the machine crashing could lose data, which tests never do. synchronous_commit stays on,
    // so a kill -9 of the server (a test's crash) loses no acknowledged commit.
    fsync: "off",
    full_page_writes: "off",
    max_connections: "200",
    shared_buffers: "32MB",
    log_min_messages: "warning",
    ...opts.settings,
  };
  let port = 0;
  let child: ChildProcess | undefined;
  let log = "";

  const launch = async (): Promise<void> => {
    let stale = 0;
    for (let attempt = 0; ; attempt++) {
      if (port === 0 || attempt > 0) port = await freePort();
      const args = ["-D", data, "-p", String(port), ...Object.entries(settings).flatMap(([k, v]) => ["-c", `${k}=${v}`])];
      log = "";
      const proc = spawn(path.join(bin, "postgres"), args, { stdio: ["ignore", "pipe", "pipe"], cwd: dir, ...ids });
      proc.stdout!.on("data", (d: Buffer) => (log += d.toString()));
      proc.stderr!.on("data", (d: Buffer) => (log += d.toString()));
      let exited = false;
      proc.once("exit", () => (exited = true));
      const deadline = Date.now() + 30_000;
      while (!exited && Date.now() < deadline) {
        const c = new Client({ host: "127.0.0.1", port, user: "postgres", database: "postgres", connectionTimeoutMillis: 1000 });
        c.on("error", () => undefined);
        try {
          await c.connect();
          await c.query("SELECT 1");
          await c.end();
          child = proc;
          return;
        } catch {
          await c.end().catch(() => undefined);
          await sleep(100);
        }
      }
      if (!exited) proc.kill("SIGKILL");
      // After a kill -9 the old server's backends take a moment to notice and exit: wait for them.
      if (attempt < 50 && /lock file .* already exists|shared memory block is still in use/i.test(log)) {
        await sleep(200);
        attempt--;
        stale++;
        if (stale > 50) throw new Error(`postgres did not start: the previous server did not go away: ${log.trim()}`);
        continue;
      }
      if (attempt >= 2 || !/could not bind|Address already in use/i.test(log)) throw new Error(`postgres did not start on 127.0.0.1:${port}: ${log.trim()}`);
    }
  };

  const halt = async (signal: NodeJS.Signals): Promise<void> => {
    const proc = child;
    child = undefined;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    const gone = new Promise<void>((r) => proc.once("exit", () => r()));
    // SIGINT is PostgreSQL's fast shutdown; SIGKILL a crash (its backends exit when they notice).
    proc.kill(signal);
    const timer = setTimeout(() => proc.kill("SIGKILL"), 10_000);
    await gone;
    clearTimeout(timer);
  };

  await launch();
  const adminUrl = () => `postgres://postgres@127.0.0.1:${port}/postgres`;
  return {
    host: "127.0.0.1",
    get port() {
      return port;
    },
    get pid() {
      return child?.pid;
    },
    get adminUrl() {
      return adminUrl();
    },
    async createDatabase(name?: string): Promise<string> {
      const db = name ?? `swp_test_${process.pid}_${++databases}`;
      if (!/^[a-z_][a-z0-9_]*$/.test(db)) throw new Error(`bad database name ${db}`);
      const c = new Client({ connectionString: adminUrl() });
      await c.connect();
      try {
        await c.query(`CREATE DATABASE ${db}`);
      } finally {
        await c.end();
      }
      return `postgres://postgres@127.0.0.1:${port}/${db}`;
    },
    async restart(o: { crash?: boolean; whileDown?: () => Promise<void> } = {}): Promise<void> {
      const keep = port;
      await halt(o.crash ? "SIGKILL" : "SIGINT");
      port = keep;
      if (o.whileDown) {
        try {
          await o.whileDown();
        } finally {
          await launch();
        }
        return;
      }
      await launch();
    },
    async stop(): Promise<void> {
      await halt("SIGINT");
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * In a mocha `before(function () {...})`: starts a server, or skips the suite saying why one cannot run here.
 *   before(async function () { pg = await startPostgresOrSkip(this); });
 */
export async function startPostgresOrSkip(ctx: { skip(): never }, opts?: Parameters<typeof startPostgres>[0]): Promise<PostgresServer> {
  const why = postgresUnavailable();
  if (why) {
    console.log(`      skipped: ${why}`);
    ctx.skip();
  }
  return startPostgres(opts);
}
