/** Structured logger: JSON lines on stderr (stdout belongs to CLI output). */
export interface Logger {
  debug(message: string, meta?: Record<string, unknown>): void;
  info(message: string, meta?: Record<string, unknown>): void;
  warn(message: string, meta?: Record<string, unknown>): void;
  error(message: string, meta?: Record<string, unknown>): void;
  child(bindings: Record<string, unknown>): Logger;
}

const LEVELS = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 } as const;
export type LogLevel = keyof typeof LEVELS;

/** Keys every line owns; a field of the same name is written as `field_<name>` instead. */
const RESERVED = new Set(["time", "level", "msg"]);

/** Copies `fields` into `line`, renaming a reserved key `k` to `field_k` so it cannot overwrite it. */
function addFields(line: Record<string, unknown>, fields: Record<string, unknown> | undefined): void {
  if (!fields) return;
  for (const [k, v] of Object.entries(fields)) line[RESERVED.has(k) ? `field_${k}` : k] = v;
}

/**
 * A logger writing one JSON object per line: `time`, `level`, `msg`, then the bindings, then the
 * call's fields (a field wins over a binding of the same name). `time`, `level` and `msg` always
 * come from the logger: a field or binding with one of those names is written as `field_time`,
 * `field_level`, `field_msg`.
 */
export function createLogger(opts: { level?: LogLevel; bindings?: Record<string, unknown>; write?: (line: string) => void } = {}): Logger {
  const min = LEVELS[opts.level ?? "info"];
  const write = opts.write ?? ((line: string) => process.stderr.write(line));
  const bindings = opts.bindings ?? {};
  const emit = (level: Exclude<LogLevel, "silent">) => (message: string, meta?: Record<string, unknown>) => {
    if (LEVELS[level] < min) return;
    const line: Record<string, unknown> = { time: new Date().toISOString(), level, msg: message };
    addFields(line, bindings);
    addFields(line, meta);
    write(JSON.stringify(line) + "\n");
  };
  return {
    debug: emit("debug"),
    info: emit("info"),
    warn: emit("warn"),
    error: emit("error"),
    child: (more) => createLogger({ ...opts, bindings: { ...bindings, ...more } }),
  };
}
