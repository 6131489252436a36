/**
 * The patch dependency graph: `requires` edges and their reverse index, so what-requires and
 * query-dependencies cost time proportional to their answer, not to the number of patches.
 */
export class DependencyGraph {
  private readonly requires = new Map<string, readonly string[]>();
  private readonly requiredBy = new Map<string, Set<string>>();

  set(id: string, requires: readonly string[]): void {
    this.delete(id);
    this.requires.set(id, [...requires]);
    for (const r of requires) {
      let s = this.requiredBy.get(r);
      if (!s) this.requiredBy.set(r, (s = new Set()));
      s.add(id);
    }
  }

  delete(id: string): void {
    for (const r of this.requires.get(id) ?? []) {
      const s = this.requiredBy.get(r);
      s?.delete(id);
      if (s && s.size === 0) this.requiredBy.delete(r);
    }
    this.requires.delete(id);
  }

  /** Direct dependents of `id`, sorted. */
  dependentsOf(id: string): string[] {
    return [...(this.requiredBy.get(id) ?? [])].sort();
  }

  /** Direct requirements of `id`. */
  requirementsOf(id: string): readonly string[] {
    return this.requires.get(id) ?? [];
  }

  /**
   * The ids plus their direct requirements, or (recursive) the transitive closure, sorted.
   * `onUnknown` is told of every reached id that has no node (a requirement not uploaded).
   */
  closure(ids: readonly string[], recursive: boolean, isKnown: (id: string) => boolean): { ids: string[]; unknown: string[] } {
    const seen = new Set<string>(ids);
    const unknown = new Set<string>();
    const queue = [...ids];
    for (let i = 0; i < queue.length; i++) {
      const id = queue[i]!;
      if (!isKnown(id)) {
        unknown.add(id);
        continue;
      }
      if (!recursive && i >= ids.length) continue;
      for (const r of this.requirementsOf(id)) {
        if (seen.has(r)) continue;
        seen.add(r);
        queue.push(r);
        if (!isKnown(r)) unknown.add(r);
      }
    }
    return { ids: [...seen].sort(), unknown: [...unknown].sort() };
  }
}
