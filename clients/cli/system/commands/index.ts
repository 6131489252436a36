import type { Command } from "../../sw-patch/command.js";
import { command as hostList } from "./host-list.js";
import { command as hostShow } from "./host-show.js";
import { command as hostLock } from "./host-lock.js";
import { command as hostUnlock } from "./host-unlock.js";
import { command as hostSwact } from "./host-swact.js";

/** Every `system` subcommand, in help order. */
export const SYSTEM_COMMANDS: readonly Command[] = [hostList, hostShow, hostLock, hostUnlock, hostSwact];
