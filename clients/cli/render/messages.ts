import type { OperationMessages } from "../../sdk/src/index.js";

/**
 * Prints an operation's messages like the reference's print_patch_op_result: `info` verbatim
 * (then a newline, as Python's print adds one), a non-empty `warning` as "Warning:" then the text.
 */
export function renderMessages(messages: OperationMessages | undefined): string {
  if (!messages) return "";
  let out = "";
  if (messages.info) out += messages.info + "\n";
  if (messages.warning) out += "Warning:\n" + messages.warning + "\n";
  return out;
}
