"use strict";
// Loads a built command module and runs its exported `main(argv)`; the exit code is what it returns.
// A module that does not exist yet (a command whose issue has not landed) says so in one line.
const fs = require("node:fs");

// grpc-js sends the dialled host as TLS server name, and Node warns (DEP0123) when that is an IP
// address; the certificate is still checked against the IP. The warning would be a stray line on a
// command's stderr (and a non-JSON line in the agent's log), so the launcher drops that one code.
function ignoreIpServernameWarning() {
  const emit = process.emitWarning.bind(process);
  process.emitWarning = function emitWarning(warning, options, code) {
    const c = options !== null && typeof options === "object" ? options.code : code;
    if (c === "DEP0123") return;
    return emit.apply(process, arguments);
  };
}

exports.runMain = function runMain(modulePath) {
  ignoreIpServernameWarning();
  if (!fs.existsSync(modulePath)) {
    process.stderr.write(`Error: ${modulePath} is not built; run "npm run build" first\n`);
    process.exit(1);
  }
  const mod = require(modulePath);
  Promise.resolve(mod.main(process.argv.slice(2))).then(
    (code) => {
      process.exitCode = typeof code === "number" ? code : 0;
    },
    (err) => {
      process.stderr.write(`Error: ${err && err.message ? err.message : String(err)}\n`);
      process.exitCode = 1;
    },
  );
};
