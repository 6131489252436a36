import type { NewEvent } from "../events/event-log.js";
import type { Strategy } from "./model.js";

/**
 * Where the engine keeps its strategy: `save` writes the whole document (or removes it when
 * `strategy` is undefined) together with the events describing the change, atomically.
 * (The store-backed implementation: storage/sqlite/strategy-store.ts.)
 */
export interface StrategyPersistence {
  load(): Promise<Strategy | undefined>;
  save(strategy: Strategy | undefined, events: readonly NewEvent[]): Promise<void>;
}
