/** Servers that misbehave at the TCP/HTTP level, for client tests. */
import http from 'node:http';
import net from 'node:net';

export interface Closable {
  url: string;
  close(): Promise<void>;
}

/** Accepts connections and never answers (pg-pool's connection-timeout test idea). */
export async function silentServer(): Promise<Closable> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((s) => {
    sockets.add(s);
    s.on('error', () => undefined);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as net.AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: async () => {
      sockets.forEach((s) => s.destroy());
      await new Promise((r) => server.close(r));
    },
  };
}

/** Answers every request with a 302 to `target` + the same path (a load balancer or standby). */
export async function redirector(target: string): Promise<Closable & { hits: string[] }> {
  const hits: string[] = [];
  const server = http.createServer((req, res) => {
    hits.push(`${req.url} ${req.headers.authorization ?? '-'}`);
    res.writeHead(302, { Location: `${target}${req.url}` });
    res.end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as net.AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    hits,
    close: async () => {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    },
  };
}

/** A closed port: connection refused. */
export async function deadUrl(): Promise<string> {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((r) => server.close(r));
  return `http://127.0.0.1:${port}`;
}
