/** JSON Schemas of the IPAM API; their descriptions become the OpenAPI document. */

const ipValue = { type: 'string', maxLength: 45, description: 'IPv4 dotted quad or IPv6 address' } as const;
// `examples` only on properties: @fastify/swagger turns it into OpenAPI 3.0's `example` there, not inside additionalProperties.
const ip = { ...ipValue, examples: ['10.20.0.7'] } as const;
const appId = {
  type: 'string',
  maxLength: 512,
  description: 'Marathon app id: an absolute path such as /team/app-1 (percent-encode it in a URL path: %2Fteam%2Fapp-1)',
} as const;
const poolName = { type: 'string', pattern: '^[a-z0-9][a-z0-9_.-]{0,62}$', description: 'pool name' } as const;

export const poolParams = { type: 'object', required: ['pool'], properties: { pool: poolName } } as const;
export const allocationParams = { type: 'object', required: ['pool', 'appId'], properties: { pool: poolName, appId } } as const;

export const poolSpecSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['name', 'cidr'],
  description: 'A pool of fixed container IPs. Pools never overlap.',
  properties: {
    name: poolName,
    cidr: {
      type: 'string',
      maxLength: 49,
      description:
        'network in CIDR notation without host bits, IPv4 (at most /12 unless allocationRange) or IPv6 (at most /48); not loopback, link-local, multicast or unspecified (see allowSpecial)',
      examples: ['10.20.0.0/16', 'fd00:20::/64'],
    },
    gateway: { ...ip, description: 'gateway address inside the pool; reserved. Default: the first host' },
    reserved: {
      type: 'array',
      maxItems: 1024,
      items: { type: 'string', maxLength: 100 },
      description: 'addresses kept out of allocation: an address, a CIDR or a first-last range',
    },
    auxAddresses: { type: 'object', maxProperties: 256, additionalProperties: ipValue, description: 'Docker --aux-address host=ip entries; reserved' },
    ipRange: { type: 'string', maxLength: 49, description: 'Docker --ip-range (CIDR inside the pool) for containers started without --ip; reserved' },
    dockerNetwork: { type: 'string', maxLength: 128, description: 'Docker network name (the --net value that /v1/apps/prepare sets)' },
    bridgeName: { type: 'string', maxLength: 15, description: 'Linux bridge name (com.docker.network.bridge.name)' },
    quarantineSeconds: {
      type: 'integer',
      minimum: 0,
      maximum: 604800,
      default: 900,
      description: 'seconds a released address is not handed to another app (ARP, conntrack and DNS caches)',
    },
    allocationRange: {
      type: 'object',
      additionalProperties: false,
      required: ['first', 'last'],
      properties: { first: ip, last: ip },
      description:
        'the addresses allocated from (pre-populated, at most 1,048,576). Default: every host of an IPv4 pool; for IPv6 the first 65,536 addresses after the prefix (prefix::1 …), since a /64 cannot be enumerated',
    },
    allowSpecial: {
      type: 'boolean',
      default: false,
      description:
        'accept a CIDR over loopback (127/8, ::1), link-local (169.254/16, fe80::/10) or 240/4, or wider than IPv4 /8 / IPv6 /48 (refused otherwise with 400 POOL_CIDR_RESERVED / POOL_CIDR_TOO_WIDE). Never lifts /0, unspecified, multicast, broadcast or IPv4-mapped ranges',
    },
  },
} as const;

const usage = {
  type: 'object',
  description: 'address counts computed by the database; available excludes quarantined and reserved addresses',
  properties: {
    capacity: { type: 'integer', description: 'addresses in the allocation window' },
    allocated: { type: 'integer' },
    quarantined: { type: 'integer', description: 'released, not yet reusable by another app' },
    reserved: { type: 'integer' },
    available: { type: 'integer', description: 'free and out of quarantine' },
  },
} as const;

export const poolSchema = {
  type: 'object',
  properties: {
    name: { type: 'string' },
    family: { type: 'integer', enum: [4, 6] },
    cidr: { type: 'string' },
    prefixLength: { type: 'integer' },
    gateway: { type: ['string', 'null'] },
    allocationRange: { type: 'object', properties: { first: { type: 'string' }, last: { type: 'string' } } },
    reserved: { type: 'array', items: { type: 'string' } },
    auxAddresses: { type: 'object', additionalProperties: { type: 'string' } },
    ipRange: { type: ['string', 'null'] },
    dockerNetwork: { type: ['string', 'null'] },
    bridgeName: { type: ['string', 'null'] },
    quarantineSeconds: { type: 'integer' },
    createdAt: { type: 'string', format: 'date-time' },
    usage,
  },
} as const;

export const allocationSchema = {
  type: 'object',
  description: "an app id's address in a pool",
  properties: {
    pool: { type: 'string' },
    appId: { type: 'string' },
    ip: { type: 'string' },
    prefixLength: { type: 'integer' },
    gateway: { type: ['string', 'null'] },
    allocationId: { type: 'integer', description: 'fencing token: changes on every allocation; pass it to DELETE to release only this allocation' },
    allocatedAt: { type: 'string', format: 'date-time' },
  },
} as const;

export const allocateBody = {
  type: ['object', 'null'],
  additionalProperties: false,
  properties: { ip: { ...ip, description: 'ask for this exact address (409 when reserved, taken or in quarantine)' } },
} as const;

export const allocatePostBody = {
  type: 'object',
  additionalProperties: false,
  required: ['appId'],
  properties: { appId, ip: allocateBody.properties.ip },
} as const;

export const eventSchema = {
  type: 'object',
  properties: {
    id: { type: 'integer' },
    at: { type: 'string', format: 'date-time' },
    pool: { type: 'string' },
    ip: { type: ['string', 'null'] },
    appId: { type: ['string', 'null'] },
    allocationId: { type: ['integer', 'null'] },
    action: { type: 'string', enum: ['pool_create', 'pool_delete', 'allocate', 'claim', 'release', 'orphan_mark', 'orphan_clear', 'orphan_release'] },
    actor: { type: 'string', description: 'who: api:<client address>, reconciler, cli' },
    detail: { type: ['object', 'null'], additionalProperties: true },
  },
} as const;

export const appIdQuery = { ...appId, description: `${appId.description}; filter` };
