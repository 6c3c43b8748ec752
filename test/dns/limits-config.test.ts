/** The DNS abuse-limit settings: documented defaults, parsed values, and a start-up error naming each bad variable. */
import { ConfigError, loadConfig } from '../../src/config/load';

const problems = (env: Record<string, string>): string[] => {
  try {
    loadConfig(env);
  } catch (e) {
    if (e instanceof ConfigError) return e.problems;
    throw e;
  }
  return [];
};

describe('DNS abuse-limit settings', () => {
  it('default to safe limits', () => {
    expect(loadConfig({}).dnsLimits).toEqual({
      tcpDeadlineMs: 10_000,
      tcpIdleMs: 5_000,
      tcpMaxConnections: 256,
      tcpPerSource: 16,
      rrlResponsesPerSecond: 1000,
      rrlWindowSeconds: 5,
      rrlSlip: 2,
      udpAmplificationMax: 10,
    });
  });

  it('are read from the environment; 0 turns rate limiting and the amplification limit off', () => {
    expect(
      loadConfig({
        BERTH_DNS_TCP_DEADLINE_MS: '3000',
        BERTH_DNS_TCP_IDLE_MS: '1000',
        BERTH_DNS_TCP_MAX: '64',
        BERTH_DNS_TCP_PER_SOURCE: '4',
        BERTH_DNS_RRL_RESPONSES_PER_SECOND: '0',
        BERTH_DNS_RRL_WINDOW_S: '15',
        BERTH_DNS_RRL_SLIP: '1',
        BERTH_DNS_UDP_AMPLIFICATION_MAX: '0',
      }).dnsLimits,
    ).toEqual({
      tcpDeadlineMs: 3000,
      tcpIdleMs: 1000,
      tcpMaxConnections: 64,
      tcpPerSource: 4,
      rrlResponsesPerSecond: 0,
      rrlWindowSeconds: 15,
      rrlSlip: 1,
      udpAmplificationMax: 0,
    });
  });

  it('refuse to start on bad values, naming every variable', () => {
    const p = problems({
      BERTH_DNS_TCP_DEADLINE_MS: '0',
      BERTH_DNS_TCP_IDLE_MS: '1e3',
      BERTH_DNS_TCP_MAX: '0',
      BERTH_DNS_TCP_PER_SOURCE: '-1',
      BERTH_DNS_RRL_RESPONSES_PER_SECOND: 'lots',
      BERTH_DNS_RRL_WINDOW_S: '0',
      BERTH_DNS_RRL_SLIP: '2.5',
      BERTH_DNS_UDP_AMPLIFICATION_MAX: '-3',
    });
    expect(p.map((x) => x.split(':')[0]).sort()).toEqual([
      'BERTH_DNS_RRL_RESPONSES_PER_SECOND',
      'BERTH_DNS_RRL_SLIP',
      'BERTH_DNS_RRL_WINDOW_S',
      'BERTH_DNS_TCP_DEADLINE_MS',
      'BERTH_DNS_TCP_IDLE_MS',
      'BERTH_DNS_TCP_MAX',
      'BERTH_DNS_TCP_PER_SOURCE',
      'BERTH_DNS_UDP_AMPLIFICATION_MAX',
    ]);
    expect(p).toContain('BERTH_DNS_TCP_MAX: must be an integer ≥ 1 and ≤ 65535, got "0"');
  });
});
