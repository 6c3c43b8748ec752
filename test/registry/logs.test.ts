import pino from 'pino';
import { anApp, aStatus, aTask, withDomain, withTasks } from '../support/builders';
import { describeEachEngine } from '../support/db';
import { applyEvent, openRegistry, resetRegistryTables } from './helpers';

describeEachEngine('registry logs', (db) => {
  beforeEach(async () => resetRegistryTables(db().knex));

  test('a new service is logged at info; task churn on a known one only at debug', async () => {
    const lines: Array<{ level: number; msg: string; appId?: string }> = [];
    const logger = pino({ level: 'debug' }, { write: (s: string) => lines.push(JSON.parse(s)) });
    const { registry } = await openRegistry(db().knex, { logger });
    await registry.applySnapshot([anApp({ id: '/web' }, withDomain('web.berth.internal'), withTasks(aTask({ id: 'web.1', host: '10.0.0.1' })))]);
    expect(lines.filter((l) => l.level >= 30).map((l) => [l.msg, l.appId])).toContainEqual(['service added', '/web']);

    lines.length = 0;
    await applyEvent(registry, aStatus('/web', 'web.2', 'TASK_RUNNING', { host: '10.0.0.2', ports: [31002] }));
    expect(registry.findService('default', 'web.berth.internal')?.endpoints).toHaveLength(2);
    expect(lines.filter((l) => l.level >= 30)).toEqual([]);
    expect(lines.map((l) => [l.msg, l.appId])).toContainEqual(['endpoints changed', '/web']);
  });
});
