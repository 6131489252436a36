#!/usr/bin/env node
"use strict";
// pretest: makes sure the Debian tools the tests drive are present. As root it installs the
// missing ones with apt-get; otherwise it names exactly what to install and fails.
const { execFileSync, spawnSync } = require("node:child_process");

const NEEDED = [
  { cmd: "rpm", pkg: "rpm" },
  { cmd: "rpmbuild", pkg: "rpm" },
  { cmd: "openssl", pkg: "openssl" },
  { cmd: "md5sum", pkg: "coreutils" },
  { cmd: "gzip", pkg: "gzip" },
  { cmd: "sqlite3", pkg: "sqlite3" },
  { cmd: "/bin/busybox", pkg: "busybox-static", path: true },
  { cmd: "protoc", pkg: "protobuf-compiler" },
  { cmd: "/usr/bin/grpc_python_plugin", pkg: "protobuf-compiler-grpc", path: true },
  // protoc's well-known types (google/protobuf/timestamp.proto) for `npm run generate:python --check`.
  { cmd: "/usr/include/google/protobuf/timestamp.proto", pkg: "libprotobuf-dev", path: true },
  { py: "grpc", pkg: "python3-grpcio" },
  { py: "google.protobuf", pkg: "python3-protobuf" },
  // issue 21 (TRUSTROOT): test/lib/python/*.py read patches as the reference does and verify DSSE envelopes.
  { py: "cryptography", pkg: "python3-cryptography" },
  // The Python client's test pip-installs it into a venv, offline (docs/python.md).
  { py: "ensurepip", pkg: "python3-venv" },
  { py: "pip", pkg: "python3-pip" },
  { py: "setuptools", pkg: "python3-setuptools" },
  { py: "wheel", pkg: "python3-wheel" },
  { cmd: "/usr/bin/chromium", pkg: "chromium", path: true },
  // A real Keystone for test/integration/keystone.test.ts (test/lib/keystone.ts runs its own, on loopback).
  { cmd: "/usr/bin/keystone-manage", pkg: "keystone", path: true },
  { cmd: "/usr/bin/uwsgi", pkg: "uwsgi", path: true },
  { cmd: "/usr/lib/uwsgi/plugins/python3_plugin.so", pkg: "uwsgi-plugin-python3", path: true },
  // A real PostgreSQL for the PostgreSQL store's tests (test/lib/postgres.ts runs its own cluster, on loopback).
  { cmd: "postgresql server (initdb)", pkg: "postgresql", fn: () => postgresInitdb() },
  // The multi-host test (test/integration/multi-host-tls.test.ts): network namespaces and a capture on their veth.
  { cmd: "ip", pkg: "iproute2" },
  { cmd: "tcpdump", pkg: "tcpdump" },
];

/** True when some /usr/lib/postgresql/<version>/bin has initdb and postgres (the client package alone has neither). */
function postgresInitdb() {
  const fs = require("node:fs");
  const base = "/usr/lib/postgresql";
  if (!fs.existsSync(base)) return false;
  return fs.readdirSync(base).some((v) => fs.existsSync(`${base}/${v}/bin/initdb`) && fs.existsSync(`${base}/${v}/bin/postgres`));
}

function have(entry) {
  if (entry.fn) return entry.fn();
  if (entry.py) return spawnSync("/usr/bin/python3", ["-c", `import ${entry.py}`], { stdio: "ignore" }).status === 0;
  if (entry.path) return require("node:fs").existsSync(entry.cmd);
  return spawnSync("sh", ["-c", `command -v ${entry.cmd}`], { stdio: "ignore" }).status === 0;
}

/**
 * keystone's postinst enables its service (uwsgi on *:5000) and starts it where services may start
 * (not under a policy-rc.d that denies it). The tests run their own Keystone on loopback: stop and
 * disable the packaged one (its enabled unit also makes `systemd-analyze verify` of our units warn).
 */
function quietKeystone() {
  const fs = require("node:fs");
  if (!fs.existsSync("/etc/systemd/system/multi-user.target.wants/keystone.service") && !fs.existsSync("/run/uwsgi/app/keystone")) return;
  if (!(typeof process.getuid === "function" && process.getuid() === 0)) return;
  const script =
    "command -v systemctl >/dev/null && systemctl disable keystone.service; [ -d /run/systemd/system ] && systemctl stop keystone.service; invoke-rc.d keystone stop; true";
  spawnSync("sh", ["-c", script], { stdio: "ignore" });
}

const missing = [...new Set(NEEDED.filter((e) => !have(e)).map((e) => e.pkg))];
quietKeystone();
if (missing.length === 0) process.exit(0);
const isRoot = typeof process.getuid === "function" && process.getuid() === 0;
if (!isRoot) {
  process.stderr.write(`The tests need these Debian packages: ${missing.join(" ")}\n` + `Install them with: sudo apt-get install -y ${missing.join(" ")}\n`);
  process.exit(1);
}
process.stdout.write(`Installing test dependencies: ${missing.join(" ")}\n`);
const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
execFileSync("apt-get", ["update", "-qq"], { stdio: "inherit", env });
execFileSync("apt-get", ["install", "-y", "-qq", "--no-install-recommends", ...missing], { stdio: "inherit", env });
quietKeystone();
const still = NEEDED.filter((e) => !have(e));
if (still.length) {
  process.stderr.write(`Still missing after install: ${still.map((e) => e.cmd || e.py).join(" ")}\n`);
  process.exit(1);
}
