/**
 * Keeps object identity for servers whose data did not change between two pushes.
 *
 * Every push is decoded into brand-new objects; without this, every memoised row and every
 * selector would see a change on every push. Comparing ~35 scalars per server is far cheaper
 * than re-rendering the row.
 */
import type { VpsListItemResponse } from "../types";

/** Same own keys with `Object.is`-equal values, ignoring the keys in `skip`. */
function shallowEqual(a: object, b: object, skip: readonly string[] = []): boolean {
  const aRecord = a as Record<string, unknown>;
  const bRecord = b as Record<string, unknown>;
  const keys = Object.keys(bRecord);
  if (keys.length !== Object.keys(aRecord).length) return false;
  for (const key of keys) {
    if (!skip.includes(key) && !Object.is(aRecord[key], bRecord[key])) return false;
  }
  return true;
}

/** True when two servers carry the same values (top level plus `latestMetrics`). */
export function sameServer(a: VpsListItemResponse, b: VpsListItemResponse): boolean {
  if (a === b) return true;
  if (!shallowEqual(a, b, ["latestMetrics", "tags"])) return false;
  // Tags are a fresh array on every push: compare their names.
  if ((a.tags ?? []).join("\n") !== (b.tags ?? []).join("\n")) return false;
  const aMetrics = a.latestMetrics;
  const bMetrics = b.latestMetrics;
  if (aMetrics === null || bMetrics === null) return aMetrics === bMetrics;
  return shallowEqual(aMetrics, bMetrics);
}

/**
 * `next` with each unchanged server replaced by its previous object. Returns `previous`
 * itself when nothing changed at all, so subscribers to the array are not woken.
 */
/** Lists whose unchanged servers already are the previous list's objects (monitord.v2 deltas). */
const reconciled = new WeakSet<readonly VpsListItemResponse[]>();

/**
 * Marks `list` as built from the previous list with every unchanged server kept as the same
 * object, so `reuseUnchanged` need not compare 10,000 servers again. Returns `list`.
 */
export function markReconciled(list: readonly VpsListItemResponse[]): readonly VpsListItemResponse[] {
  reconciled.add(list);
  return list;
}

export function reuseUnchanged(
  previous: readonly VpsListItemResponse[],
  next: readonly VpsListItemResponse[],
): readonly VpsListItemResponse[] {
  if (next === previous || reconciled.has(next)) return next;
  const previousById = new Map<number, VpsListItemResponse>();
  for (const server of previous) previousById.set(server.id, server);
  let allSame = previous.length === next.length;
  const result = next.map((server, index) => {
    const old = previousById.get(server.id);
    if (old !== undefined && sameServer(old, server)) {
      if (previous[index] !== old) allSame = false;
      return old;
    }
    allSame = false;
    return server;
  });
  return allSame ? previous : result;
}
