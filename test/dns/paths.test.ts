/** DNS for a domain shared by path prefix (docs/labels.md "Path prefixes"): a path app leads clients to Nginx only. */
import { serviceRecords } from '../../src/dns/records';
import type { Service } from '../../src/model/types';
import { aService, anEndpoint, withEndpoints } from '../nginx/helpers';

const opts = {
  zoneOf: (n: string) => (n.endsWith('.berth.test') ? 'berth.test' : null),
  environments: { default: { clients: [], proxyAddresses: ['192.0.2.10'] } },
};
const ep = withEndpoints(anEndpoint('10.0.0.5', 8080, 'api.1'), anEndpoint('10.0.0.6', 8080, 'api.2'));

describe('DNS records of a path app', () => {
  test('its domain is answered with the proxy addresses only: no task address, SRV, per-task name or PTR', () => {
    const api: Service = aService({ appId: '/api', domains: ['shop.berth.test'], dns: 'proxy', paths: ['/api'], portName: 'http' }, ep);
    const r = serviceRecords(api, opts);
    expect([...r.names.keys()]).toEqual(['shop.berth.test']);
    expect(r.names.get('shop.berth.test')).toEqual({ zone: 'berth.test', owned: true, a: ['192.0.2.10'] });
    expect(r.ptrs).toEqual([]);
  });

  test('even if a direct DNS mode reached it, a path app never publishes its tasks under the shared name', () => {
    const api: Service = aService({ appId: '/api', domains: ['shop.berth.test'], dns: 'direct', paths: ['/api'] }, ep);
    const r = serviceRecords(api, opts);
    expect(r.names.get('shop.berth.test')?.a).toEqual(['192.0.2.10']);
    expect(r.ptrs).toEqual([]);
  });

  test('berth.dns=none keeps a path app out of DNS; the / app of the domain publishes as it always did', () => {
    expect(serviceRecords(aService({ appId: '/api', domains: ['shop.berth.test'], dns: 'none', paths: ['/api'] }, ep), opts).names.size).toBe(0);
    const web = serviceRecords(aService({ appId: '/web', domains: ['shop.berth.test'], dns: 'proxy', portName: 'http' }, ep), opts);
    expect(web.names.get('shop.berth.test')?.a).toEqual(['192.0.2.10']);
    expect(web.names.has('_http._tcp.shop.berth.test')).toBe(true);
  });
});
