import type { Command } from "../../sw-patch/command.js";
import { command as alarmList } from "./alarm-list.js";
import { command as alarmShow } from "./alarm-show.js";
import { command as alarmDelete } from "./alarm-delete.js";
import { command as alarmRaise } from "./alarm-raise.js";

/** Every `fm` subcommand, in help order. */
export const FM_COMMANDS: readonly Command[] = [alarmList, alarmShow, alarmDelete, alarmRaise];
