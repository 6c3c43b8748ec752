import { instanceIdOfTask, plainInstanceId } from '../../src/marathon/ids';
import { type Simulator, startSimulator } from '../../src/sim';
import { HTTP_HEALTH, bridgeApp } from '../sim/helpers';

describe('Marathon id formats', () => {
  it.each([
    {
      desc: '1.4 app task',
      task: 'asgard-dev_bla.0139427f-b042-11e8-9638-0242ac12001f',
      instance: 'asgard-dev_bla.marathon-0139427f-b042-11e8-9638-0242ac12001f',
    },
    { desc: '1.8+ app task', task: 'svc.instance-c0caec0a-49b2-11e9-b8cd-1aeaf266c008._app.42', instance: 'svc.instance-c0caec0a-49b2-11e9-b8cd-1aeaf266c008' },
    { desc: 'pod task', task: 'pod.instance-c0caec0a-49b2-11e9-b8cd-1aeaf266c008.web', instance: 'pod.instance-c0caec0a-49b2-11e9-b8cd-1aeaf266c008' },
    { desc: 'unknown format', task: 'whatever', instance: null },
  ])('$desc', ({ task, instance }) => {
    expect(instanceIdOfTask(task)).toBe(instance);
  });

  it('unwraps 1.6+ health result instance ids', () => {
    expect(plainInstanceId('instance [spark.marathon-c0efd47d-49b2-11e9-b8cd-1aeaf266c008]')).toBe('spark.marathon-c0efd47d-49b2-11e9-b8cd-1aeaf266c008');
    expect(plainInstanceId('x.marathon-1')).toBe('x.marathon-1');
  });

  describe.each(['1.4', '1.10'] as const)('against simulator ids (Marathon %s)', (flavour) => {
    let sim: Simulator;
    beforeEach(async () => {
      sim = await startSimulator({ flavour });
    });
    afterEach(async () => {
      await sim.close();
    });

    it('maps every task to the instance its health events name', async () => {
      const tasks = await sim.control.deploy(bridgeApp('/team/web', { instances: 2, ...HTTP_HEALTH }));
      for (const t of tasks) expect(instanceIdOfTask(t.id)).toBe(t.instanceId);
    });
  });
});
