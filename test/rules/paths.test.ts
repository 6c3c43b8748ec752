/** `berth.path` grammar (src/rules/paths.ts): what is accepted, how it is normalised, and hostile values. */
import { checkPathList, checkPathPrefix, isPathPrefix, PATH_LIMITS } from '../../src/rules';

describe('berth.path prefixes', () => {
  test.each([
    ['/api', '/api'],
    ['/api/', '/api'],
    [' /api/v2 ', '/api/v2'],
    ['/Static.files/v1~x', '/Static.files/v1~x'],
    ['/a@b+c:d!e=f-g_h', '/a@b+c:d!e=f-g_h'],
  ])('%j is accepted as %j', (raw, value) => {
    expect(checkPathPrefix(raw)).toEqual({ ok: true, value });
    expect(isPathPrefix(value)).toBe(true);
  });

  test.each([
    ['', 'empty'],
    ['api', 'must start with /'],
    ['/', 'default app'],
    ['//', 'default app'],
    ['//api', 'empty segment'],
    ['/api//v2', 'empty segment'],
    ['/..', '.. segment'],
    ['/a/../b', '.. segment'],
    ['/./a', '. segment'],
    ['/a;}server{', 'character'],
    ['/a;', 'character'],
    ['/a b', 'character'],
    ['/a\tb', 'character'],
    ['/a\u0000b', 'character'],
    ['/a{', 'character'],
    ['/a}', 'character'],
    ['/a"b', 'character'],
    ["/a'b", 'character'],
    ['/$uri', 'character'],
    ['/a\\b', 'character'],
    ['/a#b', 'character'],
    ['/a%20b', 'character'],
    ['/a*', 'character'],
    ['/(a|b)', 'character'],
    ['/a?x=1', 'character'],
    ['/ä', 'character'],
    ['~/a', 'must start with /'],
    ['= /a', 'must start with /'],
    [`/${'a'.repeat(PATH_LIMITS.length)}`, 'longer than'],
    [`/${'a/'.repeat(PATH_LIMITS.segments)}b`, 'segments'],
  ])('%j is refused (%s)', (raw, why) => {
    const c = checkPathPrefix(raw);
    expect(c.ok).toBe(false);
    if (!c.ok) {
      expect(c.reason).toContain(why);
      // The refused value is shown escaped and short: never a raw control character in a message.
      // eslint-disable-next-line no-control-regex -- the point is to find raw control characters
      expect(c.reason).not.toMatch(/[\u0000-\u001f]/);
      expect(c.reason.length).toBeLessThan(200);
    }
  });

  test('a list is deduplicated after normalisation and bounded in count', () => {
    expect(checkPathList('/api,/static/,/api/')).toEqual({ ok: true, value: ['/api', '/static'] });
    const many = Array.from({ length: 1000 }, (_, i) => `/p${i}`).join(',');
    const c = checkPathList(many);
    expect(c).toEqual({ ok: false, reason: `at most ${PATH_LIMITS.count} prefixes, got 1000` });
    expect(checkPathList(Array.from({ length: PATH_LIMITS.count }, (_, i) => `/p${i}`).join(',')).ok).toBe(true);
    expect(checkPathList('/api,').ok).toBe(false);
    expect(checkPathList('/api,/a b').ok).toBe(false);
  });

  test('a huge value is refused quickly with a short message', () => {
    const huge = `/${'a'.repeat(1_000_000)}`;
    const c = checkPathList(huge);
    expect(c.ok).toBe(false);
    if (!c.ok) expect(c.reason.length).toBeLessThan(200);
  });

  test('the render-time check accepts only normalised prefixes', () => {
    for (const v of ['/api/', 'api', '/a b', '/..', 42, null, undefined, ['/api']]) expect(isPathPrefix(v)).toBe(false);
  });
});
