/**
 * Real loopback servers behind the demo's simulated tasks, so that DNS answers and Nginx upstreams
 * point at something that answers: HTTP services say who they are, the TCP service speaks enough
 * of the Redis protocol for `PING`.
 */
import http from 'node:http';
import net from 'node:net';

/** One listening backend. */
export interface Backend {
  address: string;
  port: number;
  close(): Promise<void>;
}

/** Listens on `address:port`; when `port` is taken (or not given), on an ephemeral port of that address. */
async function listen(server: net.Server, address: string, port: number): Promise<number> {
  const attempt = (p: number) =>
    new Promise<number>((resolve, reject) => {
      const onError = (err: Error) => reject(err);
      server.once('error', onError);
      server.listen(p, address, () => {
        server.off('error', onError);
        resolve((server.address() as net.AddressInfo).port);
      });
    });
  if (port === 0) return attempt(0);
  try {
    return await attempt(port);
  } catch (err) {
    // Something (often a wildcard listener) holds the port: any free port on the address will do,
    // the app definition is built from the port we actually got.
    if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw err;
    return attempt(0);
  }
}

function closer(server: net.Server, sockets: Set<net.Socket>): () => Promise<void> {
  return () =>
    new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    });
}

function track(server: net.Server): Set<net.Socket> {
  const sockets = new Set<net.Socket>();
  server.on('connection', (s: net.Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  return sockets;
}

/** An HTTP backend answering `hello from <appId> task <index>`. */
export async function startHttpBackend(appId: string, index: number, address = '127.0.0.1', port = 0): Promise<Backend> {
  const server = http.createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain', 'x-demo-app': appId });
    res.end(`hello from ${appId} task ${index} (${req.headers.host ?? '-'} ${req.method} ${req.url})\n`);
  });
  const sockets = track(server);
  const bound = await listen(server, address, port);
  return { address, port: bound, close: closer(server, sockets) };
}

/**
 * A tiny Redis-like server: inline or RESP commands; `PING` → `+PONG`, `ECHO x` → `$n x`,
 * `QUIT` → `+OK` and close (so `printf 'PING\r\nQUIT\r\n' | curl telnet://…` ends by itself).
 */
export async function startRedisLike(name: string, address = '127.0.0.1', port = 0): Promise<Backend> {
  const server = net.createServer((socket) => {
    let buffer = '';
    socket.on('error', () => socket.destroy());
    socket.on('data', (chunk) => {
      buffer += chunk.toString('latin1');
      // Bounded: a client that never sends a newline cannot grow the buffer forever.
      if (buffer.length > 64 * 1024) return socket.destroy();
      let nl: number;
      while ((nl = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, nl).replace(/\r$/, '');
        buffer = buffer.slice(nl + 1);
        // RESP array framing (`*1`, `$4`) carries no command words of its own; skip it.
        if (/^[*$]\d+$/.test(line) || line === '') continue;
        const [cmd, ...args] = line.split(/\s+/);
        switch (cmd.toUpperCase()) {
          case 'PING':
            socket.write(args.length ? `$${Buffer.byteLength(args.join(' '))}\r\n${args.join(' ')}\r\n` : '+PONG\r\n');
            break;
          case 'ECHO':
            socket.write(`$${Buffer.byteLength(args.join(' '))}\r\n${args.join(' ')}\r\n`);
            break;
          case 'INFO':
            socket.write(`$${Buffer.byteLength(`# demo\r\nserver:${name}`)}\r\n# demo\r\nserver:${name}\r\n`);
            break;
          case 'QUIT':
            socket.end('+OK\r\n');
            return;
          default:
            // Only PING/ECHO/INFO/QUIT are spoken; anything else (including RESP arguments) gets a Redis-style error.
            socket.write(`-ERR unknown command '${cmd.slice(0, 32)}'\r\n`);
        }
      }
    });
  });
  const sockets = track(server);
  const bound = await listen(server, address, port);
  return { address, port: bound, close: closer(server, sockets) };
}
