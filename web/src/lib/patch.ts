/** The fields of `edited` that differ from `original` (compared as JSON): the body of a PATCH.
 *
 * A field the user left alone is not sent, so a redacted value (a channel's URL or secret as the
 * API shows it) goes back only when the user typed a new one. */
export function changedFields<T extends object>(original: T, edited: T): Partial<T> {
  const changes: Partial<T> = {};
  for (const key of Object.keys(edited) as (keyof T)[]) {
    if (JSON.stringify(edited[key] ?? null) !== JSON.stringify(original[key] ?? null)) changes[key] = edited[key];
  }
  return changes;
}
