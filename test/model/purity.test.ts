import fs from 'node:fs';
import path from 'node:path';

// model/ is the pure core (docs/architecture.md "Pure core, I/O at the edges"): plain data in, plain data out; no I/O modules.
describe('model/ is pure', () => {
  const dir = path.join(__dirname, '../../src/model');
  const files = fs.readdirSync(dir).filter((f) => f.endsWith('.ts'));
  test.each(files)('%s imports no node:*, knex, pg, dns2 or fastify', (f) => {
    const src = fs.readFileSync(path.join(dir, f), 'utf8');
    const imports = [...src.matchAll(/from '([^']+)'/g)].map((m) => m[1]);
    for (const i of imports) expect(i).not.toMatch(/^(node:|knex|pg|dns2|fastify|fs|net|dns|child_process)/);
  });
});
