/** Pure: the `docker network create` command matching a pool (docs/ipam.md). */
import type { Pool } from './types';

// Every value was validated on pool creation ([A-Za-z0-9_.:/-] only); quoting is defence in depth.
const quote = (s: string): string => (/^[A-Za-z0-9_.:/=@%+,-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);

/** argv and a shell line creating the pool's Docker bridge network. */
export function dockerNetworkCommand(pool: Pool): { argv: string[]; command: string; network: string } {
  const network = pool.dockerNetwork ?? pool.name;
  const argv = ['docker', 'network', 'create', '--driver', 'bridge'];
  if (pool.family === 6) argv.push('--ipv6');
  argv.push('--subnet', pool.cidr);
  if (pool.gateway) argv.push('--gateway', pool.gateway);
  // Docker hands addresses from --ip-range to containers started without --ip; berth keeps that
  // range reserved, so its fixed IPs never collide with Docker's dynamic ones (moby #49781).
  if (pool.ipRange) argv.push('--ip-range', pool.ipRange);
  for (const [host, ip] of Object.entries(pool.auxAddresses)) argv.push('--aux-address', `${host}=${ip}`);
  if (pool.bridgeName) argv.push('--opt', `com.docker.network.bridge.name=${pool.bridgeName}`);
  argv.push(network);
  return { argv, command: argv.map(quote).join(' '), network };
}
