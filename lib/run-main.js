"use strict";
// Loads a built command module and runs its exported `main(argv)`; the exit code is what it returns.
// A module that does not exist yet (a command whose issue has not landed) says so in one line.
const fs = require("node:fs");
exports.runMain = function runMain(modulePath) {
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
