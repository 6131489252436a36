import type { OperationMessages } from "../../sdk/src/index.js";
import { safeBlock } from "./safe-text.js";

/**
 * Prints an operation's messages like the reference's print_patch_op_result: `info` verbatim
 * (then a newline, as Python's print adds one), a non-empty `warning` as "Warning:" then the text.
 * Both are server text, printed terminal-safe ({@link safeBlock}: lines kept, controls shown).
 */
export function renderMessages(messages: OperationMessages | undefined): string {
  if (!messages) return "";
  let out = "";
  if (messages.info) out += safeBlock(messages.info) + "\n";
  if (messages.warning) out += "Warning:\n" + safeBlock(messages.warning) + "\n";
  return out;
}
