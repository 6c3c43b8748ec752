import fs from 'node:fs';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '../..');
const FILE = path.join(ROOT, 'deploy/Dockerfile');
const text = fs.readFileSync(FILE, 'utf8');

/** Instructions with line continuations joined: [{ op, args }]. */
function instructions(): Array<{ op: string; args: string }> {
  const joined = text
    .replace(/\\\n/g, ' ')
    .split('\n')
    .filter((l) => l.trim() && !l.trim().startsWith('#'));
  return joined.map((l) => {
    const m = /^\s*([A-Za-z]+)\s+(.*)$/.exec(l);
    if (!m) throw new Error(`not an instruction: ${l}`);
    return { op: m[1].toUpperCase(), args: m[2].trim() };
  });
}

describe('Dockerfile (deploy/Dockerfile)', () => {
  it('passes the dockerfile-utils linter with no warning', async () => {
    let lint: typeof import('dockerfile-utils') | undefined;
    try {
      lint = await import('dockerfile-utils');
    } catch {
      if (process.env.CI) throw new Error('dockerfile-utils is a devDependency: run npm ci');
      console.log('dockerfile-utils not installed (npm ci): structural checks only');
      return;
    }
    const problems = lint.validate(text).map((d) => `line ${d.range.start.line + 1}: ${d.message}`);
    expect(problems).toEqual([]);
  });

  it('builds in two stages and runs as a non-root user with a /healthz health check', () => {
    const ins = instructions();
    const froms = ins.filter((i) => i.op === 'FROM');
    expect(froms).toHaveLength(2);
    expect(froms[0].args).toMatch(/ AS build$/);
    const runtime = ins.slice(ins.indexOf(froms[1]));
    const user = runtime.filter((i) => i.op === 'USER').pop();
    expect(user?.args).toBeDefined();
    expect(['root', '0', '0:0']).not.toContain(user?.args);
    expect(runtime.find((i) => i.op === 'HEALTHCHECK')?.args).toMatch(/\/healthz/);
    expect(runtime.find((i) => i.op === 'ENTRYPOINT')?.args).toContain('bin/berth.js');
    // Nothing from the build stage's dev dependencies or sources beyond what runs.
    expect(runtime.filter((i) => i.op === 'COPY').every((i) => i.args.startsWith('--from=build'))).toBe(true);
  });

  it('copies only paths that exist, and the dockerignore lets them through', () => {
    const ignore = fs.readFileSync(path.join(ROOT, 'deploy/Dockerfile.dockerignore'), 'utf8');
    for (const { args } of instructions().filter((i) => i.op === 'COPY' && !i.args.startsWith('--from'))) {
      const sources = args.split(/\s+/).slice(0, -1);
      for (const src of sources) {
        expect(fs.existsSync(path.join(ROOT, src))).toBe(true);
        expect(ignore).toContain(`!${fs.statSync(path.join(ROOT, src)).isDirectory() ? `${src.replace(/\/$/, '')}/` : src}`);
      }
    }
  });
});
