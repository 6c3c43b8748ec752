/** Result of a rule: the normalised value, or why it was refused. */
export type Checked<T> = { ok: true; value: T } | { ok: false; reason: string };

export const ok = <T>(value: T): Checked<T> => ({ ok: true, value });
export const bad = <T>(reason: string): Checked<T> => ({ ok: false, reason });
