/**
 * Request bodies (found by test/faults/api-bodies.test.ts): nesting is bounded before parsing, and
 * JSON values keep their types (no Ajv coercion of bodies; query strings still coerce).
 */
import { firstCoerced, MAX_DEPTH, nestingDepth } from '../../src/http/json-body';
import { testApp } from '../support/app';

const deep = (n: number) => `${'{"a":'.repeat(n)}1${'}'.repeat(n)}`;

describe('nestingDepth', () => {
  it('counts braces and brackets outside strings only', () => {
    expect(nestingDepth('{"a":[1,{"b":2}]}')).toBe(3);
    expect(nestingDepth('{"a":"{{{[[[\\"{{"}')).toBe(1);
    expect(nestingDepth('1')).toBe(0);
    expect(nestingDepth(deep(100_000))).toBe(MAX_DEPTH + 1); // stops counting early
  });
});

describe('firstCoerced', () => {
  it('finds a value whose type changed, ignoring keys only defaults added', () => {
    expect(firstCoerced({ a: ['/x'] }, { a: '/x' })).toEqual({ path: '/a', sent: 'array', wanted: 'string' });
    expect(firstCoerced({ a: [{ b: 1 }] }, { a: [{ b: true }] })).toEqual({ path: '/a/0/b', sent: 'number', wanted: 'boolean' });
    expect(firstCoerced({ a: 1 }, { a: 1, b: 900 })).toBeNull();
    expect(firstCoerced(null, null)).toBeNull();
  });
});

describe('JSON bodies in the API', () => {
  const build = () =>
    testApp((app) => {
      app.post(
        '/echo',
        {
          schema: {
            body: {
              type: 'object',
              additionalProperties: false,
              properties: { s: { type: 'string' }, n: { type: 'integer' }, b: { type: 'boolean' }, d: { type: 'integer', default: 7 } },
            },
          },
        },
        async (req) => req.body,
      );
      app.post('/free', { schema: { body: { type: 'object', additionalProperties: true } } }, async (req) => req.body);
      app.get('/q', { schema: { querystring: { type: 'object', properties: { n: { type: 'integer' } } } } }, async (req) => req.query);
    });

  it('answers 400 for a wrong type instead of coercing it', async () => {
    const app = await build();
    for (const payload of [{ s: ['x'] }, { s: 1 }, { s: null }, { n: '5' }, { b: 1 }, { b: 'true' }]) {
      const r = await app.inject({ method: 'POST', url: '/echo', payload });
      expect({ payload, status: r.statusCode, code: r.json().code }).toEqual({ payload, status: 400, code: 'BAD_REQUEST' });
    }
    expect((await app.inject({ method: 'POST', url: '/echo', payload: { s: ['x'] } })).json().message).toBe('invalid body: body/s must be string, not array');
    expect((await app.inject({ method: 'POST', url: '/echo', payload: { s: 'x', n: 5 } })).json()).toEqual({ s: 'x', n: 5, d: 7 });
    expect((await app.inject({ method: 'GET', url: '/q?n=5' })).json()).toEqual({ n: 5 }); // query strings are text: coerced
    await app.close();
  });

  it('refuses bodies nested deeper than the limit with 400, before parsing them', async () => {
    const app = await build();
    const r = await app.inject({ method: 'POST', url: '/free', headers: { 'content-type': 'application/json' }, payload: `{"x":${deep(100_000)}}` });
    expect([r.statusCode, r.json().code, r.json().message]).toEqual([400, 'BAD_REQUEST', `request body is nested deeper than ${MAX_DEPTH} levels`]);
    expect(
      (await app.inject({ method: 'POST', url: '/free', headers: { 'content-type': 'application/json' }, payload: `{"x":${deep(MAX_DEPTH - 1)}}` })).statusCode,
    ).toBe(200);
    await app.close();
  });

  it('names prototype poisoning, keeps other JSON errors, still takes a charset parameter', async () => {
    const app = await build();
    const post = (payload: string, type = 'application/json') => app.inject({ method: 'POST', url: '/free', headers: { 'content-type': type }, payload });
    expect((await post('{"__proto__":{"x":1}}')).json()).toMatchObject({ code: 'BAD_REQUEST', message: expect.stringContaining('__proto__') });
    expect((await post('{"a":')).json()).toMatchObject({ code: 'BAD_REQUEST', message: expect.stringContaining('not valid JSON') });
    expect((await post('{"a":1}', 'application/json; charset=utf-8')).statusCode).toBe(200);
    expect((await post('{"a":1}', 'text/plain')).statusCode).toBe(415);
    await app.close();
  });
});
