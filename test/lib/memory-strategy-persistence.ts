import type { NewEvent } from "../../server/domain/events/event-log.js";
import type { Strategy } from "../../server/domain/orchestration/model.js";
import type { StrategyPersistence } from "../../server/domain/orchestration/persistence.js";

/** In-memory strategy persistence for tests: the JSON document and every event saved. */
export function createMemoryStrategyPersistence(): StrategyPersistence & { json: string | undefined; events: NewEvent[] } {
  const p = {
    json: undefined as string | undefined,
    events: [] as NewEvent[],
    async load() {
      return p.json ? (JSON.parse(p.json) as Strategy) : undefined;
    },
    async save(strategy: Strategy | undefined, events: readonly NewEvent[]) {
      p.json = strategy ? JSON.stringify(strategy) : undefined;
      p.events.push(...events);
    },
  };
  return p;
}
