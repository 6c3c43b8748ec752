import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import type tls from 'node:tls';
import { udpPortFree } from '../../src/demo/procs';

/** `n` distinct loopback ports free for TCP and UDP right now (nginx and dig cannot use port 0). */
export async function freePorts(n: number): Promise<number[]> {
  const out: number[] = [];
  for (let attempts = 0; out.length < n && attempts < 50; attempts++) {
    const srv = net.createServer();
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    const { port } = srv.address() as net.AddressInfo;
    await new Promise((r) => srv.close(r));
    if (!out.includes(port) && (await udpPortFree('127.0.0.1', port))) out.push(port);
  }
  if (out.length < n) throw new Error('no free loopback ports');
  return out;
}

/** For a panel line `curl -s -H 'Host: <name>' <url>`: the body of that request, made from Node. */
export function getWithHost(curlLine: string): Promise<string> {
  const m = /-H 'Host: ([^']+)' (http:\/\/\S+)/.exec(curlLine);
  if (!m) return Promise.reject(new Error(`not a curl line with a Host header: ${curlLine}`));
  return new Promise((resolve, reject) => {
    const req = http.get(m[2], { headers: { host: m[1] }, agent: false, timeout: 5000 }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve(body.trim()));
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', reject);
  });
}

export interface Fetched {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
  /** Over HTTPS: the certificate the server presented. */
  peer?: tls.PeerCertificate;
}

function collect(req: http.ClientRequest, secure: boolean): Promise<Fetched> {
  return new Promise((resolve, reject) => {
    req.on('response', (res) => {
      const peer = secure ? (res.socket as tls.TLSSocket).getPeerCertificate() : undefined;
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body, peer }));
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', reject);
  });
}

/** `GET path` on loopback `port` with a Host header, plain HTTP. */
export function plainGet(port: number, host: string, path: string): Promise<Fetched> {
  return collect(http.get({ host: '127.0.0.1', port, path, headers: { host }, agent: false, timeout: 5000 }), false);
}

/** `GET path` over HTTPS on loopback `port` with SNI (and Host) `servername`, trusting only `ca`. */
export function httpsGet(port: number, servername: string, path: string, ca: Buffer): Promise<Fetched> {
  return collect(https.get({ host: '127.0.0.1', port, path, servername, headers: { host: servername }, ca, agent: false, timeout: 5000 }), true);
}
