import { recordFromApp } from '../../src/model/catalog';
import { hostsToResolve, serviceOf } from '../../src/model/endpoints';
import type { App } from '../../src/marathon/types';
import {
  anApp,
  aTask,
  withBridgeMappings,
  withContainerNetwork,
  withDocker14,
  withDockerParam,
  withDomain,
  withPortDefinitions,
  withTasks,
} from '../support/builders';

const lookup = (h: string): string | undefined => ({ 'agent-1.dc': '10.0.0.11' })[h];

function endpointsOf(app: App): Array<{ address: string; port: number }> {
  const r = recordFromApp(app, undefined, { defaultEnv: 'default' }, 0);
  if (!r.spec) throw new Error(`no spec: ${JSON.stringify(r.problems)}`);
  return serviceOf(r.spec, r.tasks.values(), lookup).endpoints.map(({ address, port }) => ({ address, port }));
}

describe('endpoint resolution', () => {
  const cases: Array<{ desc: string; app: App; want: Array<{ address: string; port: number }> }> = [
    {
      desc: 'fixed IP (label): that IP and the chosen container port, whatever Marathon thinks the network is',
      app: anApp(
        { id: '/a' },
        withDomain('a.com', { 'berth.ip': '10.1.0.7', 'berth.port': '6379' }),
        withPortDefinitions(),
        withTasks(aTask({ id: 'a.1', host: 'agent-1.dc', ports: [], ipAddresses: [{ ipAddress: '10.1.0.7', protocol: 'IPv4' }] })),
      ),
      want: [{ address: '10.1.0.7', port: 6379 }],
    },
    {
      desc: 'fixed IP (docker parameter) with a declared port',
      app: anApp(
        { id: '/a' },
        withDomain('a.com'),
        withDockerParam('ip', '10.1.0.8'),
        withPortDefinitions({ port: 80 }),
        withTasks(aTask({ id: 'a.1', ports: [31555] })),
      ),
      want: [{ address: '10.1.0.8', port: 80 }],
    },
    {
      desc: '1.5 container network: first ipAddresses entry + container port',
      app: anApp(
        { id: '/a' },
        withDomain('a.com'),
        withContainerNetwork('ovl', { containerPort: 5000 }),
        withTasks(
          aTask({
            id: 'a.1',
            ipAddresses: [
              { ipAddress: '9.9.0.2', protocol: 'IPv4' },
              { ipAddress: '9.9.0.3', protocol: 'IPv4' },
            ],
          }),
        ),
      ),
      want: [{ address: '9.9.0.2', port: 5000 }],
    },
    {
      desc: '1.4 USER network',
      app: anApp(
        { id: '/a' },
        withDomain('a.com'),
        withDocker14('USER', { containerPort: 5000 }),
        withTasks(aTask({ id: 'a.1', ipAddresses: [{ ipAddress: 'fd00::2', protocol: 'IPv6' }] })),
      ),
      want: [{ address: 'fd00::2', port: 5000 }],
    },
    {
      desc: 'container network task without an address yet is not an endpoint',
      app: anApp({ id: '/a' }, withDomain('a.com'), withContainerNetwork('ovl', { containerPort: 5000 }), withTasks(aTask({ id: 'a.1', ipAddresses: [] }))),
      want: [],
    },
    {
      desc: 'bridge: agent host + host port of the chosen mapping (index)',
      app: anApp(
        { id: '/a' },
        withDomain('a.com', { 'berth.port': 'admin' }),
        withBridgeMappings({ containerPort: 80, name: 'web' }, { containerPort: 9000, name: 'admin' }),
        withTasks(aTask({ id: 'a.1', host: '10.0.0.5', ports: [31001, 31002] })),
      ),
      want: [{ address: '10.0.0.5', port: 31002 }],
    },
    {
      desc: 'host networking with a named agent: resolved through the cache',
      app: anApp({ id: '/a' }, withDomain('a.com'), withTasks(aTask({ id: 'a.1', host: 'agent-1.dc', ports: [31000] }))),
      want: [{ address: '10.0.0.11', port: 31000 }],
    },
    {
      desc: 'unresolvable agent name: skipped',
      app: anApp({ id: '/a' }, withDomain('a.com'), withTasks(aTask({ id: 'a.1', host: 'ghost.dc', ports: [31000] }))),
      want: [],
    },
    {
      desc: 'host task without its host port: skipped',
      app: anApp({ id: '/a' }, withDomain('a.com'), withTasks(aTask({ id: 'a.1', host: '10.0.0.5', ports: [] }))),
      want: [],
    },
    {
      desc: 'a task id outside the safe alphabet is not published',
      app: anApp({ id: '/a' }, withDomain('a.com'), withTasks(aTask({ id: 'a.1;\nserver evil', host: '10.0.0.5' }))),
      want: [],
    },
    {
      desc: 'endpoints are sorted by task id',
      app: anApp({ id: '/a' }, withDomain('a.com'), withTasks(aTask({ id: 'a.b', host: '10.0.0.2' }), aTask({ id: 'a.a', host: '10.0.0.1' }))),
      want: [
        { address: '10.0.0.1', port: 31000 },
        { address: '10.0.0.2', port: 31000 },
      ],
    },
  ];
  test.each(cases)('$desc', ({ app, want }) => expect(endpointsOf(app)).toEqual(want));

  test('hostsToResolve lists only names of serving host-mode tasks', () => {
    const r = recordFromApp(
      anApp(
        { id: '/a' },
        withDomain('a.com'),
        withTasks(
          aTask({ id: 'a.1', host: 'agent-1.dc' }),
          aTask({ id: 'a.2', host: '10.0.0.1' }),
          aTask({ id: 'a.3', host: 'agent-2.dc', state: 'TASK_STAGING' }),
        ),
      ),
      undefined,
      { defaultEnv: 'default' },
      0,
    );
    expect(hostsToResolve(r.spec!, r.tasks.values())).toEqual(['agent-1.dc']);
  });
});

test('an agent name outside the safe alphabet is blanked in Endpoint.host', () => {
  const r = recordFromApp(
    anApp({ id: '/a' }, withDomain('a.com', { 'berth.ip': '10.1.0.9' }), withTasks(aTask({ id: 'a.1', host: 'bad host;' }))),
    undefined,
    { defaultEnv: 'default' },
    0,
  );
  expect(serviceOf(r.spec!, r.tasks.values(), lookup).endpoints).toEqual([{ taskId: 'a.1', address: '10.1.0.9', port: 8080, host: '' }]);
});
