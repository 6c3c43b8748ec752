/**
 * The least any DNS server written for Node can do per query, as a baseline beside berth: a UDP
 * socket that copies each question and appends three fixed A records (the size of berth's answer
 * for a service with three tasks). No parsing beyond the question's end, no lookup, no rate limit.
 * Whatever berth costs above this row is berth's; what this row costs is Node's (one recvmsg and
 * one sendmsg per query, no batching), which a server in C such as NSD does not pay.
 *
 *   node <bundle of this file> PORT
 */
import dgram from 'node:dgram';

const port = Number(process.argv[2] ?? 5460);
const RECORDS = 3;
const answer = Buffer.alloc(16 * RECORDS);
for (let i = 0; i < RECORDS; i++)
  // Owner: a pointer to the question name (0xc00c); A, IN, TTL 30, 4 bytes: 10.0.0.<i+1>.
  Buffer.from([0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 30, 0, 4, 10, 0, 0, i + 1]).copy(answer, 16 * i);

const socket = dgram.createSocket('udp4');
socket.on('message', (msg, from) => {
  let end = 12;
  while (end < msg.length && msg[end] !== 0) end += msg[end] + 1;
  end += 5; // the root label, QTYPE, QCLASS
  if (msg.length < 17 || end > msg.length) return;
  const out = Buffer.allocUnsafe(end + answer.length);
  msg.copy(out, 0, 0, end);
  out[2] = 0x84 | (msg[2] & 0x01); // QR, AA, the client's RD
  out[3] = 0;
  out.writeUInt16BE(1, 4);
  out.writeUInt16BE(RECORDS, 6);
  out.writeUInt32BE(0, 8);
  answer.copy(out, end);
  socket.send(out, from.port, from.address);
});
socket.bind(port, '127.0.0.1', () => console.log('ready names=0'));
process.on('SIGTERM', () => socket.close(() => process.exit(0)));
