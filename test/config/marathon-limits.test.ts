import { ConfigError, loadConfig } from '../../src/config/load';

function problems(env: Record<string, string>): string[] {
  try {
    loadConfig(env, () => {
      throw new Error('ENOENT: no such file');
    });
  } catch (e) {
    if (e instanceof ConfigError) return e.problems;
    throw e;
  }
  throw new Error('expected a ConfigError');
}

describe('Marathon byte limits in the configuration', () => {
  it('defaults to 384 MiB per answer and 4 MiB per event', () => {
    const c = loadConfig({}, () => {
      throw new Error('ENOENT');
    });
    expect([c.marathon.maxResponseBytes, c.marathon.maxEventBytes]).toEqual([402653184, 4194304]);
  });

  it('takes other values', () => {
    const c = loadConfig({ BERTH_MARATHON_MAX_RESPONSE_BYTES: '1073741824', BERTH_MARATHON_MAX_EVENT_BYTES: '65536' }, () => {
      throw new Error('ENOENT');
    });
    expect([c.marathon.maxResponseBytes, c.marathon.maxEventBytes]).toEqual([1073741824, 65536]);
  });

  it.each([
    ['BERTH_MARATHON_MAX_RESPONSE_BYTES', 'abc'],
    ['BERTH_MARATHON_MAX_RESPONSE_BYTES', '1000'],
    ['BERTH_MARATHON_MAX_RESPONSE_BYTES', '-1'],
    ['BERTH_MARATHON_MAX_EVENT_BYTES', '1.5'],
    ['BERTH_MARATHON_MAX_EVENT_BYTES', '0'],
    ['BERTH_MARATHON_MAX_EVENT_BYTES', '1073741824'],
  ])('refuses %s=%s, naming it', (key, value) => {
    expect(problems({ [key]: value })).toEqual([expect.stringMatching(new RegExp(`^${key}: must be an integer ≥ \\d+`))]);
  });
});
