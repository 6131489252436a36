/**
 * GNU getopt_long-style parsing (as Python's getopt.gnu_getopt): `--name value`, `--name=value`,
 * unambiguous prefixes, options and positionals interleaved, `--` ends options.
 */

/** Option table: name -> true if it takes an argument. */
export type LongOptions = Record<string, boolean>;

export class GetoptError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "GetoptError";
  }
}

/** Parse `argv`; returns options in order (value "" for flags) and the positionals. */
export function gnuGetopt(argv: string[], table: LongOptions): { opts: [string, string][]; args: string[] } {
  const opts: [string, string][] = [];
  const args: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--") {
      args.push(...argv.slice(i + 1));
      break;
    }
    if (!a.startsWith("--") || a === "--") {
      if (a.startsWith("-") && a !== "-") throw new GetoptError(`option ${a} not recognized`);
      args.push(a);
      continue;
    }
    const eq = a.indexOf("=");
    const given = eq >= 0 ? a.slice(2, eq) : a.slice(2);
    let name: string;
    if (Object.prototype.hasOwnProperty.call(table, given)) name = given;
    else {
      const cands = Object.keys(table).filter((k) => k.startsWith(given));
      if (cands.length === 0) throw new GetoptError(`option --${given} not recognized`);
      if (cands.length > 1) throw new GetoptError(`option --${given} not a unique prefix`);
      name = cands[0];
    }
    if (table[name]) {
      if (eq >= 0) opts.push([name, a.slice(eq + 1)]);
      else {
        if (i + 1 >= argv.length) throw new GetoptError(`option --${name} requires argument`);
        opts.push([name, argv[++i]]);
      }
    } else {
      if (eq >= 0) throw new GetoptError(`option --${name} must not have an argument`);
      opts.push([name, ""]);
    }
  }
  return { opts, args };
}

/** Python repr() of a str, as the reference's `print("%s: %r")`-style output shows it. */
export function pyRepr(s: string): string {
  const quote = s.includes("'") && !s.includes('"') ? '"' : "'";
  let out = quote;
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (ch === "\\") out += "\\\\";
    else if (ch === quote) out += "\\" + quote;
    else if (ch === "\n") out += "\\n";
    else if (ch === "\r") out += "\\r";
    else if (ch === "\t") out += "\\t";
    else if (c < 0x20 || c === 0x7f) out += "\\x" + c.toString(16).padStart(2, "0");
    else out += ch;
  }
  return out + quote;
}
