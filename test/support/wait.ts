/**
 * Polls `probe` until it returns a value other than undefined/false, or fails after `timeoutMs`
 * with `describe()` in the message. Condition-based waiting, not a sleep: it returns as soon as
 * the condition holds.
 */
export async function waitFor<T>(
  probe: () => T | undefined | false | Promise<T | undefined | false>,
  timeoutMs = 10000,
  describe?: () => string,
  intervalMs = 20,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined && v !== false) return v as T;
    } catch (e) {
      lastError = e;
    }
    if (Date.now() > deadline) {
      const extra = describe ? `\n${describe()}` : lastError ? `\nlast error: ${String(lastError)}` : '';
      throw new Error(`condition not met within ${timeoutMs} ms${extra}`);
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
