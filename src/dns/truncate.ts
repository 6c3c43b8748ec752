/**
 * A reply cut down to header + question with TC=1 (and its OPT record, if any): what a rate-limited
 * "slip" and a forwarded answer too large for an unverified UDP client become. A real client retries
 * over TCP; a spoofed source gets a packet no larger than the query.
 */
import { TYPE } from './wire';

const OPT_LENGTH = 11;

/** The truncated form of `reply` (one of ours or an upstream's); null when it is not a well-formed reply to read the question from. */
export function truncateReply(reply: Buffer): Buffer | null {
  if (reply.length < 12) return null;
  const qd = reply.readUInt16BE(4);
  let end = 12;
  if (qd === 1) {
    // The question name is never compressed in a reply to our parser's queries (RFC 1035 §4.1.4 allows it, nobody does it).
    for (;;) {
      if (end >= reply.length) return null;
      const len = reply[end];
      if (len === 0) break;
      if (len > 63) return null;
      end += 1 + len;
    }
    end += 5;
    if (end > reply.length) return null;
  } else if (qd !== 0) {
    return null;
  }
  // Our replies and well-behaved upstreams put OPT last; keep it so the client still sees EDNS.
  const ar = reply.readUInt16BE(10);
  const o = reply.length - OPT_LENGTH;
  const opt = ar > 0 && o >= end && reply[o] === 0 && reply.readUInt16BE(o + 1) === TYPE.OPT && reply.readUInt16BE(o + 9) === 0;
  const out = Buffer.allocUnsafe(end + (opt ? OPT_LENGTH : 0));
  reply.copy(out, 0, 0, end);
  if (opt) reply.copy(out, end, o);
  out[2] |= 0x02; // TC
  out.writeUInt16BE(0, 6);
  out.writeUInt16BE(0, 8);
  out.writeUInt16BE(opt ? 1 : 0, 10);
  return out;
}
