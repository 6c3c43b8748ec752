/**
 * Names berth answers itself and no app may claim: each zone apex (SOA, NS), the name server
 * (`ns.<zone>` for every zone, and the configured NS name), the SOA mailbox (`hostmaster.<zone>`),
 * the per-task names berth generates under every domain (`t-<8 hex>`), and the reverse tree.
 */

/** What berth serves in DNS, from configuration. */
export interface ReservedNames {
  zones: readonly string[];
  /** The NS target when it is not `ns.<first zone>`. */
  nsName?: string;
}

/** First label of the per-task names the DNS index makes (`t-` + 8 hex, `-<n>` on a clash). */
export const TASK_LABEL = /^t-[0-9a-f]{8}(?:-[0-9]+)?$/;

/** Why `domain` (normalised) is reserved, or null. */
export function reservedReason(domain: string, r: ReservedNames | undefined): string | null {
  if (domain === 'arpa' || domain.endsWith('.arpa')) return `${domain} is in the reverse tree berth answers PTR for`;
  const first = domain.split('.', 1)[0];
  if (TASK_LABEL.test(first) && domain.includes('.')) return `${domain} has the form of a task name berth generates (t-<8 hex>.<domain>)`;
  if (!r) return null;
  if (r.nsName !== undefined && domain === r.nsName.toLowerCase().replace(/\.$/, '')) return `${domain} is berth's name server`;
  for (const z of r.zones) {
    if (domain === z) return `${domain} is the apex of zone ${z}`;
    if (domain === `ns.${z}`) return `${domain} is berth's name server in zone ${z}`;
    if (domain === `hostmaster.${z}`) return `${domain} is the SOA mailbox of zone ${z}`;
  }
  return null;
}
