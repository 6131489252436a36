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
// The code imports project files by relative path ("../../storage/db.js"), so every pattern is a regex over
// the specifier as written: one or more "../" and then the folder the file must not reach. The folder names
// are unique in the tree (there is no server/domain/storage etc.), so "any number of ../" cannot
// mistake a sibling for the forbidden layer.
const up = "^(\\.\\./)+";

/**
 * A pattern that forbids reaching any of `list` (folder names) through relative imports.
 * @param {string[]} list @param {string} message @param {object} [extra] more pattern options
 */
const folders = (list, message, extra = {}) => ({ regex: `${up}(${list.join("|")})(/|$)`, message, ...extra });

const DOMAIN = [
  folders(["storage"], "domain must not import storage: declare a port (interface) in the domain and let storage implement it."),
  folders(["transport"], "domain must not import transport: transport calls the domain, never the reverse."),
  folders(["controller"], "domain must not import the controller: it is the composition root that wires the domain."),
  folders(["config"], "domain must not import server/config: take the values it needs as constructor/function options."),
  {
    regex: `${up}clients(/|$)`,
    message: "domain must not import clients/ (generated wire types included): use domain types; transport maps them to the wire.",
  },
  { regex: "^sqlite3$", message: "domain must not use sqlite: SQL lives in server/storage behind a domain port." },
  { regex: "^(nice-grpc.*|@grpc/.*)$", message: "domain must not use gRPC: the wire belongs to server/transport." },
];

const STORAGE = [
  {
    // The one runtime import allowed: domain/errors.ts (a leaf with no imports), so an adapter can fail with a
    // DomainError kind as STYLE.md asks.
    regex: `${up}domain/(?!errors(\\.js)?$)`,
    message: "storage may import domain ports and types only (`import type`): it implements interfaces the domain declares.",
    allowTypeImports: true,
  },
  folders(["transport"], "storage must not import transport: storage sits below the domain."),
  folders(["controller"], "storage must not import the controller: storage sits below the domain."),
  folders(["agent", "config"], "storage imports only domain ports/types and server/lib."),
  { regex: `${up}clients(/|$)`, message: "storage must not import clients/ (generated wire types included): persist domain types." },
];

// server/transport, server/agent, server/controller: the generated wire code is theirs to use, nothing else in clients/.
const SERVER_WIRE_EDGE = [
  {
    regex: `${up}clients/(?!sdk/src/gen/)`,
    message: "server/ may import only the generated code of clients/ (clients/sdk/src/gen), never the SDK, CLI or web console.",
  },
];

// The other server folders (config, and anything new) get no clients/ at all.
const SERVER_INNER = [{ regex: `${up}clients(/|$)`, message: "server/ outside transport, agent and controller must not import clients/ (generated code included)." }];

// Leaf utilities: server/lib is flat, so any "../" leaves it.
const LIB = [
  {
    regex: "^\\.\\.(/|$)",
    message: "server/lib holds leaf utilities: it must not import other project folders (move the shared piece into server/lib).",
  },
];

const CLIENTS = [
  folders(["server"], "clients/ must not import server/: talk to the controller over the wire (the SDK), share only clients/sdk/src/gen."),
  folders(["tools", "test"], "clients/ must not import tools/ or test/: they are not shipped with the clients."),
];

/**
 * The boundary rule for one folder. typescript-eslint's variant of no-restricted-imports understands
 * `import type` (allowTypeImports); the core rule is switched off so the two never both report.
 * @param {object[]} patterns
 */
const restrict = (patterns) => ({
  "no-restricted-imports": "off",
  "@typescript-eslint/no-restricted-imports": ["error", { patterns }],
});

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
  { files: ["server/**/*.ts"], rules: restrict(SERVER_INNER) },
  { files: ["server/transport/**/*.ts", "server/agent/**/*.ts", "server/controller/**/*.ts"], rules: restrict(SERVER_WIRE_EDGE) },
  { files: ["server/domain/**/*.ts"], rules: restrict(DOMAIN) },
  { files: ["server/storage/**/*.ts"], rules: restrict(STORAGE) },
  { files: ["server/lib/**/*.ts"], rules: restrict(LIB) },
  { files: ["clients/**/*.ts", "clients/**/*.tsx"], rules: restrict(CLIENTS) },
);
