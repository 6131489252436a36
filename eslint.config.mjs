// ESLint flat config: correctness rules (eslint + typescript-eslint `recommended`, not the type-checked sets:
// those build a TypeScript program per run, about 30 s more on 2 cores, while `tsc --noEmit` already runs in
// `npm run lint`) and the import-boundary rules that keep the layers of ARCHITECTURE.md ("imports point one
// way") true. docs/checks.md describes the checks; test/unit/ci/lint-boundaries.test.ts tests the boundaries.
// Formatting belongs to prettier (.prettierrc.json); no rule here restates it.
import { readdirSync } from "node:fs";
import js from "@eslint/js";
import { defineConfig, globalIgnores } from "eslint/config";
import tseslint from "typescript-eslint";

// bin/ holds extensionless CommonJS launchers; ESLint lints a file without an extension only when a config
// names it, and a pattern ending in "*" does not count, so name each one.
const BIN_FILES = readdirSync(new URL("./bin/", import.meta.url)).map((name) => `bin/${name}`);

// ---- import boundaries --------------------------------------------------------------------------------
// The code imports project files by relative path ("../../storage/db.js"), so each pattern is a regex over the
// specifier as written. A file's folder depth fixes how many "../" reach a given folder, so the rules are built
// per depth (one config block per depth below each layer folder): from server/domain/hosts/x.ts, server/storage
// is exactly "../../storage" or "../../../server/storage", and a folder that merely has the same name
// (say server/domain/x/storage/) is not mistaken for the layer.
const MAX_DEPTH = 10; // folders below a layer folder; the tree's deepest today is 4 (clients/cli/sw-manager/commands/patch-strategy)

const segs = (p) => p.split("/").filter(Boolean);
const esc = (p) => p.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/**
 * Regex matching every relative specifier that, written in a file `depth` folders below `base`, reaches the
 * repository path `target` (then `tail`, a regex: by default the end or a "/").
 * @param {string} base @param {number} depth @param {string} target @param {string} [tail]
 */
function reach(base, depth, target, tail = "(?:/|$)") {
  const b = segs(base);
  const t = segs(target);
  const alternatives = [];
  // Going up m folders from the file lands on an ancestor; depth + 1 ups or more leave `base`.
  for (let m = depth + 1; m <= depth + b.length; m++) {
    const ancestor = b.slice(0, b.length - (m - depth));
    if (ancestor.some((seg, i) => t[i] !== seg)) continue;
    const rest = t.slice(ancestor.length);
    alternatives.push(`(?:\\.\\./){${m}}${esc(rest.join("/"))}`);
  }
  if (alternatives.length === 0) throw new Error(`eslint.config.mjs: ${target} is not reachable from ${base} by "../"`);
  return `^(?:${alternatives.join("|")})${tail}`;
}

/**
 * A rule option that forbids `targets` (repository paths) from files `depth` folders below `base`.
 * @param {string[]} targets @param {string} message @param {{tail?: string, allowTypeImports?: boolean}} [options]
 */
const forbid =
  (targets, message, { tail, ...extra } = {}) =>
  (base, depth) => ({ regex: targets.map((t) => reach(base, depth, t, tail)).join("|"), message, ...extra });

/** A rule option for a package name pattern (same at every depth). */
const forbidPackage = (regex, message) => () => ({ regex, message });

const DOMAIN = [
  forbid(["server/storage"], "domain must not import storage: declare a port (interface) in the domain and let storage implement it."),
  forbid(["server/transport"], "domain must not import transport: transport calls the domain, never the reverse."),
  forbid(["server/controller"], "domain must not import the controller: it is the composition root that wires the domain."),
  forbid(["server/config"], "domain must not import server/config: take the values it needs as constructor/function options."),
  forbid(["clients"], "domain must not import clients/ (generated wire types included): use domain types; transport maps them to the wire."),
  forbidPackage("^sqlite3$", "domain must not use sqlite: SQL lives in server/storage behind a domain port."),
  forbidPackage("^(nice-grpc.*|@grpc/.*)$", "domain must not use gRPC: the wire belongs to server/transport."),
];

const STORAGE = [
  // The one runtime import allowed: domain/errors.ts (a leaf with no imports), so an adapter can fail with a
  // DomainError kind as STYLE.md asks.
  forbid(["server/domain"], "storage may import domain ports and types only (`import type`): it implements interfaces the domain declares.", {
    tail: "/(?!errors(?:\\.js)?$)",
    allowTypeImports: true,
  }),
  forbid(["server/transport"], "storage must not import transport: storage sits below the domain."),
  forbid(["server/controller"], "storage must not import the controller: storage sits below the domain."),
  forbid(["server/agent", "server/config"], "storage imports only domain ports/types and server/lib."),
  forbid(["clients"], "storage must not import clients/ (generated wire types included): persist domain types."),
];

// server/transport, server/agent, server/controller: the generated wire code is theirs to use, nothing else in clients/.
const SERVER_WIRE_EDGE = [
  forbid(["clients"], "server/ may import only the generated code of clients/ (clients/sdk/src/gen), never the SDK, CLI or web console.", {
    tail: "(?:$|/(?!sdk/src/gen/))",
  }),
];

// The other server folders (config, and anything new) get no clients/ at all.
const SERVER_INNER = [forbid(["clients"], "server/ outside transport, agent and controller must not import clients/ (generated code included).")];

// Leaf utilities: nothing outside server/lib.
const LIB = [
  (base, depth) => ({
    regex: `^(?:\\.\\./){${depth + 1}}`,
    message: "server/lib holds leaf utilities: it must not import other project folders (move the shared piece into server/lib).",
  }),
];

const CLIENTS = [
  forbid(["server"], "clients/ must not import server/: talk to the controller over the wire (the SDK), share only clients/sdk/src/gen."),
  forbid(["tools", "test"], "clients/ must not import tools/ or test/: they are not shipped with the clients."),
];

/**
 * The boundary blocks for the files under `base`, one per folder depth. typescript-eslint's variant of
 * no-restricted-imports understands `import type` (allowTypeImports); the core rule is switched off so the two
 * never both report. A later block replaces the rule for the files it also matches.
 * @param {string} base @param {Array<(base: string, depth: number) => object>} patterns
 */
function boundary(base, patterns) {
  return Array.from({ length: MAX_DEPTH + 1 }, (_, depth) => ({
    files: [`${base}/${"*/".repeat(depth)}*.ts`, `${base}/${"*/".repeat(depth)}*.tsx`],
    rules: {
      "no-restricted-imports": "off",
      "@typescript-eslint/no-restricted-imports": ["error", { patterns: patterns.map((make) => make(base, depth)) }],
    },
  }));
}

// ---- globals for the plain-JS files (CommonJS launchers and tools) -------------------------------------
const nodeGlobals = Object.fromEntries(
  [
    "require",
    "module",
    "exports",
    "__dirname",
    "__filename",
    "process",
    "console",
    "Buffer",
    "URL",
    "setTimeout",
    "clearTimeout",
    "setInterval",
    "clearInterval",
    "setImmediate",
    "clearImmediate",
    "queueMicrotask",
    "structuredClone",
    "TextEncoder",
    "TextDecoder",
    "AbortController",
    "AbortSignal",
  ].map((name) => [name, "readonly"]),
);

export default defineConfig(
  globalIgnores([
    "dist/**",
    "clients/sdk/dist/**",
    "node_modules/**",
    "coverage/**",
    "data/**",
    ".bench/**",
    "clients/sdk/src/gen/**",
    "server/transport/generated/**",
    "clients/python/**",
    "test/browser/screenshots/**",
  ]),
  {
    // Report `// eslint-disable` comments that no longer suppress anything.
    linterOptions: { reportUnusedDisableDirectives: "error" },
  },
  js.configs.recommended,
  tseslint.configs.recommended,
  {
    rules: {
      // The code checks control characters on purpose (XML 1.0 character validity, HTTP header and token
      // grammar, rpm/ASN.1 and gzip field parsing); every hit of this rule is such a deliberate match.
      "no-control-regex": "off",
      // Generator functions that never yield are required by the APIs they implement: nice-grpc streaming
      // handlers that only consume or throw, and stream.pipeline sinks that only read their source.
      "require-yield": "off",
      // `import x = require("m")` is TypeScript's way to get the CommonJS module object itself (not an interop
      // copy), which server/transport/http2-tuning.ts needs; bare `require()` calls stay forbidden in TS.
      "@typescript-eslint/no-require-imports": ["error", { allowAsImport: true }],
      // Object-literal generator methods (nice-grpc handlers in test fakes) cannot be arrows; `self` is the
      // one accepted name for the captured instance.
      "@typescript-eslint/no-this-alias": ["error", { allowedNames: ["self"] }],
      // A few correctness rules outside `recommended` that the code already keeps.
      eqeqeq: ["error", "smart"],
      "no-throw-literal": "error",
      "no-self-compare": "error",
      "no-template-curly-in-string": "error",
      "array-callback-return": "error",
      "no-eval": "error",
      "no-implied-eval": "error",
      // Unused bindings are real dead code; a leading underscore marks the deliberate ones (callback
      // parameters kept for the signature, destructuring that drops a field).
      "@typescript-eslint/no-unused-vars": [
        "error",
        { argsIgnorePattern: "^_", varsIgnorePattern: "^_", caughtErrorsIgnorePattern: "^_", destructuredArrayIgnorePattern: "^_", ignoreRestSiblings: true },
      ],
    },
  },
  {
    files: ["**/*.ts", "**/*.tsx", "**/*.mts", "**/*.cts"],
    rules: {
      // TypeScript resolves names itself (and knows DOM/Node globals per tsconfig); no-undef only misfires on types.
      "no-undef": "off",
    },
  },
  {
    files: ["**/*.js", "**/*.cjs", ...BIN_FILES],
    languageOptions: { sourceType: "commonjs", globals: nodeGlobals },
    rules: {
      // The CommonJS launchers and tools are plain Node scripts: `require` is how they import.
      "@typescript-eslint/no-require-imports": "off",
    },
  },
  {
    files: ["**/*.mjs"],
    languageOptions: { sourceType: "module", globals: nodeGlobals },
  },
  // ---- boundaries, most general first: a later block replaces the rule for the files it matches ---------
  boundary("server", SERVER_INNER),
  ["server/transport", "server/agent", "server/controller"].map((base) => boundary(base, SERVER_WIRE_EDGE)),
  boundary("server/domain", DOMAIN),
  boundary("server/storage", STORAGE),
  boundary("server/lib", LIB),
  boundary("clients", CLIENTS),
);
