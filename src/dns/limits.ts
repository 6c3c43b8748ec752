/**
 * The DNS server's abuse limits and their defaults (one place: the configuration's defaults and
 * `DnsServer`'s come from here). What each does: README "DNS abuse limits".
 */
export interface DnsLimits {
  /** Whole TCP connection deadline from accept, ms (traffic never extends it). */
  tcpDeadlineMs: number;
  /** TCP: time allowed for the next complete query, ms (bytes of a partial one do not restart it). */
  tcpIdleMs: number;
  /** TCP connections in all; a new one sheds the oldest idle connection. */
  tcpMaxConnections: number;
  /** TCP connections per client address. */
  tcpPerSource: number;
  /** UDP responses per second per client prefix (/24, /56) and class (answer, negative, error); 0: off. */
  rrlResponsesPerSecond: number;
  /** Seconds over which a prefix over its limit must average back under it. */
  rrlWindowSeconds: number;
  /** Every Nth rate-limited response goes out truncated (TC=1) instead of dropped; 0: drop all. */
  rrlSlip: number;
  /** A UDP answer larger than this × the query goes out lean or truncated unless the client proved its address over TCP; 0: off. */
  udpAmplificationMax: number;
}

export const DNS_LIMIT_DEFAULTS: Readonly<DnsLimits> = Object.freeze({
  tcpDeadlineMs: 10_000,
  tcpIdleMs: 5_000,
  tcpMaxConnections: 256,
  tcpPerSource: 16,
  rrlResponsesPerSecond: 1000,
  rrlWindowSeconds: 5,
  rrlSlip: 2,
  udpAmplificationMax: 10,
});

/** Clients verified over TCP are remembered for this long after their last TCP query… */
export const VERIFIED_TTL_MS = 10 * 60_000;
/** …and at most this many of them (the oldest forgotten first). */
export const VERIFIED_MAX = 4096;
