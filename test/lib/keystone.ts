/**
 * A real Keystone for the tests (Debian's `keystone` package, served by uwsgi): in a temp dir, a
 * keystone.conf with an sqlite database and the fernet/credential key repositories there, logging
 * to stderr only; `keystone-manage db_sync`, `fernet_setup`, `credential_setup`, `bootstrap`
 * (admin user/project/role, region RegionOne); then, over its own API, region SystemController,
 * the catalog (our `patching` service and the VIM, type `nfv`) and users with our roles. Served on
 * 127.0.0.1 with a free port by `uwsgi --http-socket` running keystone-wsgi-public.
 */
import { spawn, execFile, type ChildProcess } from "node:child_process";
import { cpSync, existsSync, mkdtempSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import * as http from "node:http";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

/** The Debian packages the harness needs (tools/ci/setup-test-env.js installs them). */
export const KEYSTONE_BINARIES = ["/usr/bin/keystone-manage", "/usr/bin/keystone-wsgi-public", "/usr/bin/uwsgi"];
export const ADMIN_PASSWORD = "admin-secret";
/** Users the harness creates in project `admin` besides `admin`: name → role. */
export const KEYSTONE_USERS = { oper: "member", viewer: "reader", legacy: "_member_", outsider: "heat_stack_user" } as const;
export const USER_PASSWORD = "user-secret";

/** A running Keystone. */
export interface KeystoneHandle {
  /** `http://127.0.0.1:PORT` (the auth URL is `${url}/v3`). */
  readonly url: string;
  /** A project-scoped token of the admin user (for the harness' own calls). */
  readonly adminToken: string;
  /** A new project-scoped token (`X-Subject-Token`) of `user`, and the token document Keystone answered. */
  issue(user: string, password?: string): Promise<{ token: string; body: KeystoneTokenBody }>;
  /** Revokes a token (`DELETE /v3/auth/tokens`). */
  revoke(token: string): Promise<void>;
  /** Adds the `patching` and `nfv` (VIM) endpoints (public, internal, admin) in SystemController and RegionOne. */
  registerCatalog(urls: { patching: string; nfv: string }): Promise<void>;
  /** Token validations (`GET /v3/auth/tokens`) Keystone served so far, counted in its request log. */
  validations(): number;
  /**
   * Resolves once Keystone has logged every request it served before this call (it serves one at a
   * time: a marker request's log line comes after theirs).
   */
  sync(): Promise<void>;
  /** Everything uwsgi/Keystone wrote so far. */
  log(): string;
  /** Stops Keystone (SIGTERM, SIGKILL after 5 s) and removes its temp dir. */
  stop(): Promise<void>;
}

/** The parts of a token document the tests read. */
export interface KeystoneTokenBody {
  token: {
    expires_at: string;
    user: { name: string };
    roles?: { name: string }[];
    catalog?: { type: string; name: string; endpoints: { interface: string; region: string; region_id: string; url: string }[] }[];
  };
}

/** Why Keystone cannot run here, or undefined when its binaries are installed. */
export function keystoneMissing(): string | undefined {
  const missing = KEYSTONE_BINARIES.filter((b) => !existsSync(b));
  return missing.length ? `missing ${missing.join(", ")}: apt-get install -y keystone uwsgi uwsgi-plugin-python3` : undefined;
}

async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

/** One request on a fresh connection (uwsgi's --http-socket closes each connection after its answer). */
function call(
  method: string,
  url: string,
  o: { token?: string; subject?: string; body?: unknown } = {},
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- Keystone's JSON, read field by field
): Promise<{ status: number; headers: http.IncomingHttpHeaders; json: any }> {
  const headers: Record<string, string> = { accept: "application/json" };
  if (o.token) headers["x-auth-token"] = o.token;
  if (o.subject) headers["x-subject-token"] = o.subject;
  const body = o.body === undefined ? undefined : Buffer.from(JSON.stringify(o.body));
  if (body) {
    headers["content-type"] = "application/json";
    headers["content-length"] = String(body.length);
  }
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, headers, agent: false }, (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (d: string) => (text += d));
      res.on("end", () => {
        let json: unknown;
        try {
          json = text ? JSON.parse(text) : undefined;
        } catch {
          json = text;
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, json });
      });
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end(body);
  });
}

/** `POST /v3/auth/tokens` with a password, scoped to project admin (what keystoneauth's V3Password does). */
export async function passwordToken(authUrl: string, user: string, password: string): Promise<{ token: string; body: KeystoneTokenBody }> {
  const r = await call("POST", `${authUrl.replace(/\/+$/, "")}/auth/tokens`, {
    body: {
      auth: {
        identity: { methods: ["password"], password: { user: { name: user, domain: { id: "default" }, password } } },
        scope: { project: { name: "admin", domain: { id: "default" } } },
      },
    },
  });
  if (r.status !== 201) throw new Error(`Keystone token for ${user}: ${r.status} ${JSON.stringify(r.json)}`);
  return { token: r.headers["x-subject-token"] as string, body: r.json as KeystoneTokenBody };
}

/** keystone.conf for a Keystone whose database and key repositories are in `dir`. */
function keystoneConf(dir: string): string {
  return [
    "[DEFAULT]",
    "use_stderr = true",
    "log_file =",
    "log_dir =",
    "[database]",
    `connection = sqlite:///${path.join(dir, "keystone.sqlite")}`,
    "[fernet_tokens]",
    `key_repository = ${path.join(dir, "fernet-keys")}`,
    "[fernet_receipts]",
    `key_repository = ${path.join(dir, "fernet-keys")}`,
    "[credential]",
    `key_repository = ${path.join(dir, "credential-keys")}`,
    "[identity]",
    // bcrypt's minimum cost: a password check in milliseconds instead of ~0.3 s (tests only).
    "password_hash_rounds = 4",
    // Keystone's own in-process cache: a validation in ~20 ms instead of ~200 (a revocation invalidates it).
    "[cache]",
    "enabled = true",
    "backend = dogpile.cache.memory",
    "",
  ].join("\n");
}

/** Bumped when what the template holds changes. */
const TEMPLATE_FORMAT = 1;

/**
 * A bootstrapped Keystone state (sqlite database, fernet and credential keys) made once per
 * machine and Keystone version by `keystone-manage db_sync`, `fernet_setup`, `credential_setup` and
 * `bootstrap` (admin user, project and role; region RegionOne), in os.tmpdir(); each test Keystone
 * starts from a copy. The four commands take 5-15 s (Python start-up and migrations); a copy, ms.
 */
async function bootstrappedTemplate(tick: (what: string) => void): Promise<string> {
  let version: string;
  try {
    version = (await run("dpkg-query", ["-W", "-f", "$" + "{Version}", "python3-keystone"])).stdout.trim();
  } catch {
    version = String(statSync("/usr/bin/keystone-manage").mtimeMs);
  }
  const template = path.join(os.tmpdir(), `swpatch-keystone-template-${TEMPLATE_FORMAT}-${version.replace(/[^A-Za-z0-9.+-]/g, "_")}-${os.userInfo().uid}`);
  if (existsSync(path.join(template, "ready"))) return template;
  const build = mkdtempSync(`${template}.build-`);
  try {
    const conf = path.join(build, "keystone.conf");
    writeFileSync(conf, keystoneConf(build), { mode: 0o600 });
    const group = (await run("id", ["-gn"])).stdout.trim();
    const manage = (...args: string[]) => run("keystone-manage", ["--config-file", conf, ...args], { cwd: build, maxBuffer: 16 * 1024 * 1024 });
    const owner = ["--keystone-user", os.userInfo().username, "--keystone-group", group];
    await Promise.all([manage("db_sync"), manage("fernet_setup", ...owner), manage("credential_setup", ...owner)]);
    tick("db_sync, fernet_setup, credential_setup");
    // WAL: a reader's open transaction does not block Keystone's next write (rollback-journal sqlite does).
    await run("sqlite3", [path.join(build, "keystone.sqlite"), "PRAGMA journal_mode=WAL;"]);
    await manage(
      "bootstrap",
      ...["--bootstrap-password", ADMIN_PASSWORD, "--bootstrap-username", "admin", "--bootstrap-project-name", "admin", "--bootstrap-role-name", "admin"],
      ...["--bootstrap-service-name", "keystone", "--bootstrap-region-id", "RegionOne"],
    );
    tick("bootstrap");
    writeFileSync(path.join(build, "ready"), `${version}\n`);
    try {
      renameSync(build, template);
    } catch {
      // Another test process made it first: use that one.
      rmSync(build, { recursive: true, force: true });
    }
    return template;
  } catch (e) {
    rmSync(build, { recursive: true, force: true });
    throw e;
  }
}

/** Starts a Keystone (see the file comment): a few seconds (plus the template's once per machine). */
export async function startKeystone(): Promise<KeystoneHandle> {
  const why = keystoneMissing();
  if (why) throw new Error(`Keystone cannot run here: ${why}`);
  const t0 = Date.now();
  const tick = (what: string) => process.env.KEYSTONE_DEBUG && process.stderr.write(`keystone harness: ${what} at ${Date.now() - t0} ms\n`);
  const template = await bootstrappedTemplate(tick);
  const dir = mkdtempSync(path.join(os.tmpdir(), "swpatch-keystone-"));
  let proc: ChildProcess | undefined;
  let debugOut = () => "";
  try {
    for (const f of readdirSync(template)) if (f !== "keystone.conf") cpSync(path.join(template, f), path.join(dir, f), { recursive: true });
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const conf = path.join(dir, "keystone.conf");
    writeFileSync(conf, keystoneConf(dir), { mode: 0o600 });
    // One worker process, a few threads: the tests' load is small; --die-on-term: SIGTERM stops it.
    const uwsgiArgs = ["--plugins", "python3", "--http-socket", `127.0.0.1:${port}`, "--wsgi-file", "/usr/bin/keystone-wsgi-public"];
    uwsgiArgs.push("--master", "--processes", "1", "--threads", "1", "--lazy-apps", "--die-on-term", "--need-app", "--no-orphans", "--buffer-size", "65535");
    const p = spawn("uwsgi", uwsgiArgs, { cwd: dir, stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, OS_KEYSTONE_CONFIG_FILES: conf } });
    proc = p;
    let out = "";
    debugOut = () => out;
    const exited = new Promise<void>((resolve) => p.once("exit", () => resolve()));
    await new Promise<void>((resolve, reject) => {
      const onData = (d: Buffer) => {
        out += d.toString();
        if (/WSGI app 0 \(mountpoint=''\) ready/.test(out)) resolve();
      };
      p.stdout!.on("data", onData);
      p.stderr!.on("data", onData);
      void exited.then(() => reject(new Error(`uwsgi (Keystone) exited before serving:\n${out.slice(-4000)}`)));
    });
    tick("uwsgi ready");
    const v3 = await call("GET", `${url}/v3`);
    if (v3.status !== 200) throw new Error(`Keystone ${url}/v3 answered ${v3.status}:\n${out.slice(-4000)}`);
    const admin = await passwordToken(`${url}/v3`, "admin", ADMIN_PASSWORD);
    const adminToken = admin.token;
    const api = async (method: string, p2: string, body?: unknown) => {
      const r = await call(method, `${url}/v3${p2}`, { token: adminToken, ...(body !== undefined ? { body } : {}) });
      if (r.status >= 300) throw new Error(`Keystone ${method} ${p2}: ${r.status} ${JSON.stringify(r.json)}`);
      return r.json;
    };
    await api("POST", "/regions", { region: { id: "SystemController", description: "the central cloud of a distributed cloud" } });
    const identity =
      ((await api("GET", "/services?type=identity")).services as { id: string }[])[0] ??
      ((await api("POST", "/services", { service: { type: "identity", name: "keystone", enabled: true } })).service as { id: string });
    for (const iface of ["public", "internal", "admin"]) {
      await api("POST", "/endpoints", { endpoint: { service_id: identity.id, interface: iface, region_id: "RegionOne", url: `${url}/v3`, enabled: true } });
    }
    const projects = (await api("GET", "/projects?name=admin")).projects as { id: string }[];
    const roles = new Map<string, string>(((await api("GET", "/roles")).roles as { id: string; name: string }[]).map((r) => [r.name, r.id]));
    for (const [name, role] of Object.entries(KEYSTONE_USERS)) {
      if (!roles.has(role)) roles.set(role, (await api("POST", "/roles", { role: { name: role } })).role.id);
      const user = (await api("POST", "/users", { user: { name, password: USER_PASSWORD, domain_id: "default", enabled: true } })).user as { id: string };
      await api("PUT", `/projects/${projects[0]!.id}/users/${user.id}/roles/${roles.get(role)}`);
    }
    tick("catalog and users");
    let syncs = 0;
    const handle: KeystoneHandle = {
      url,
      adminToken,
      issue: (user, password) => passwordToken(`${url}/v3`, user, password ?? (user === "admin" ? ADMIN_PASSWORD : USER_PASSWORD)),
      async revoke(token) {
        const r = await call("DELETE", `${url}/v3/auth/tokens`, { token: adminToken, subject: token });
        if (r.status !== 204) throw new Error(`Keystone revoke: ${r.status} ${JSON.stringify(r.json)}`);
      },
      async registerCatalog(urls) {
        for (const [type, name, at] of [
          ["patching", "patching", urls.patching],
          ["nfv", "vim", urls.nfv],
        ] as const) {
          const service = (await api("POST", "/services", { service: { type, name, enabled: true } })).service as { id: string };
          for (const region of ["SystemController", "RegionOne"]) {
            for (const iface of ["public", "internal", "admin"]) {
              await api("POST", "/endpoints", { endpoint: { service_id: service.id, interface: iface, region_id: region, url: at, enabled: true } });
            }
          }
        }
      },
      async sync() {
        const marker = `GET /v3?sync=${++syncs} `;
        const logged = new Promise<void>((resolve) => {
          const check = () => {
            if (!out.includes(marker)) return;
            p.stdout!.off("data", check);
            p.stderr!.off("data", check);
            resolve();
          };
          p.stdout!.on("data", check);
          p.stderr!.on("data", check);
          check();
        });
        await call("GET", `${url}/v3?sync=${syncs}`);
        await logged;
      },
      validations: () => (out.match(/\] GET \/v3\/auth\/tokens\b/g) ?? []).length,
      log: () => out,
      async stop() {
        if (p.exitCode === null && p.signalCode === null) {
          p.kill("SIGTERM");
          const timer = setTimeout(() => p.kill("SIGKILL"), 5000);
          await exited;
          clearTimeout(timer);
        }
        rmSync(dir, { recursive: true, force: true });
      },
    };
    return handle;
  } catch (e) {
    if (process.env.KEYSTONE_DEBUG) process.stderr.write(`Keystone log:\n${debugOut()}\n`);
    if (proc && proc.exitCode === null && proc.signalCode === null) proc.kill("SIGKILL");
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
}
