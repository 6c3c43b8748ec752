import { dockerNetworkCommand } from '../../src/ipam/docker';
import { applyAllocation, readIpRequest } from '../../src/ipam/prepare';
import type { Allocation, Pool } from '../../src/ipam/types';

const pool: Pool = {
  name: 'blue',
  family: 4,
  cidr: '10.9.0.0/24',
  prefixLength: 24,
  gateway: '10.9.0.1',
  allocationRange: { first: '10.9.0.1', last: '10.9.0.254' },
  reserved: [],
  auxAddresses: {},
  ipRange: null,
  dockerNetwork: 'blue-net',
  bridgeName: null,
  quarantineSeconds: 900,
  createdAt: '2026-01-01T00:00:00.000Z',
};
const allocation: Allocation = {
  pool: 'blue',
  appId: '/web',
  ip: '10.9.0.7',
  prefixLength: 24,
  gateway: '10.9.0.1',
  allocationId: 3,
  allocatedAt: '2026-01-01T00:00:00.000Z',
};
const docker = (parameters?: unknown) => ({ type: 'DOCKER', docker: { image: 'nginx', ...(parameters ? { parameters } : {}) } });

describe('prepare', () => {
  test.each([
    { desc: 'auto', label: 'auto', want: { kind: 'auto', pool: null } },
    { desc: 'auto:<pool>', label: 'auto:blue', want: { kind: 'auto', pool: 'blue' } },
    { desc: 'a literal IP', label: '10.9.0.9', want: { kind: 'none' } },
  ])('reads berth.ip=$desc', ({ label, want }) => {
    expect(readIpRequest({ id: '/web', labels: { 'berth.ip': label }, container: docker() }, 'berth.ip').request).toEqual(want);
  });

  test.each([
    { desc: 'not an object', def: [] },
    { desc: 'more than one instance', def: { id: '/web', instances: 2, labels: { 'berth.ip': 'auto' }, container: docker() } },
    { desc: 'no Docker container', def: { id: '/web', labels: { 'berth.ip': 'auto' } } },
    { desc: 'parameters not a list', def: { id: '/web', labels: { 'berth.ip': 'auto' }, container: docker({ key: 'net' }) } },
    { desc: 'a label that is not a string', def: { id: '/web', labels: { 'berth.ip': 1 }, container: docker() } },
  ])('refuses $desc', ({ def }) => {
    expect(() => readIpRequest(def, 'berth.ip')).toThrow(expect.objectContaining({ code: 'INVALID_APP_DEFINITION' }));
  });

  test('bad app id is INVALID_APP_ID', () => {
    expect(() => readIpRequest({ id: 'web' }, 'berth.ip')).toThrow(expect.objectContaining({ code: 'INVALID_APP_ID' }));
  });

  test('replaces net/ip parameters, keeps others and other fields', () => {
    const def = {
      id: '/web',
      cpus: 0.5,
      labels: { 'berth.ip': 'auto', x: 'y' },
      container: docker([
        { key: 'net', value: 'old' },
        { key: 'env', value: 'A=1' },
      ]),
    };
    const out = applyAllocation(def, 'berth.ip', pool, allocation);
    expect(out).toEqual({
      id: '/web',
      cpus: 0.5,
      labels: { 'berth.ip': '10.9.0.7', x: 'y' },
      container: {
        type: 'DOCKER',
        docker: {
          image: 'nginx',
          parameters: [
            { key: 'env', value: 'A=1' },
            { key: 'net', value: 'blue-net' },
            { key: 'ip', value: '10.9.0.7' },
          ],
        },
      },
    });
    expect(def.labels['berth.ip']).toBe('auto'); // input untouched
  });

  test('IPv6 pools set ip6; a pool without docker network needs the app to name one', () => {
    const v6 = { ...pool, family: 6 as const, dockerNetwork: null };
    const def = { id: '/web', container: docker([{ key: 'net', value: 'mine' }]) };
    const out = applyAllocation(def, 'berth.ip', v6, { ...allocation, ip: 'fd00::7' }) as { container: { docker: { parameters: unknown } } };
    expect(out.container.docker.parameters).toEqual([
      { key: 'net', value: 'mine' },
      { key: 'ip6', value: 'fd00::7' },
    ]);
    expect(() => applyAllocation({ id: '/web', container: docker() }, 'berth.ip', v6, allocation)).toThrow(
      expect.objectContaining({ code: 'INVALID_APP_DEFINITION' }),
    );
  });

  test('docker network command', () => {
    expect(dockerNetworkCommand({ ...pool, family: 6, cidr: 'fd00::/64', gateway: 'fd00::1', dockerNetwork: null, bridgeName: 'br6' }).command).toBe(
      'docker network create --driver bridge --ipv6 --subnet fd00::/64 --gateway fd00::1 --opt com.docker.network.bridge.name=br6 blue',
    );
  });
});
