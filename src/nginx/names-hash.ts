// Sizes for Nginx's server name hash, computed for the names berth renders (ngx_hash.c, 1.x):
//
// - each exact name takes NGX_HASH_ELT_SIZE = pointer + align(len + 2, pointer) bytes in a bucket,
//   and a bucket also ends in one pointer; a name that does not fit an empty bucket fails
//   `nginx -t` ("could not build server_names_hash, you should increase server_names_hash_bucket_size");
// - Nginx then tries hash sizes upward from `names / (bucket / 16)` to `server_names_hash_max_size`
//   until every bucket fits, but when max_size > 10,000 (and less than 100 × names) it only tries
//   the last 1,000 sizes below max_size. No size fitting is a warning ("could not build optimal"),
//   and lookups get slower.
//
// So the bucket holds at least four of the longest names (a few names sharing a bucket is the
// normal case), rounded up to a power of two of at least 128 (a multiple of any cache line size
// Nginx aligns to), and max_size is a power of two of at least four slots per name: at that load
// (a quarter of a name per slot on average) a bucket that overflows is rare, and of the sizes Nginx
// tries one fits with near certainty. Names crafted to collide in Nginx's hash can still defeat
// any size; Nginx then warns and keeps working, it does not fail.

const POINTER = 8;
const MIN_BUCKET = 128;
const MAX_BUCKET = 32768; // Nginx refuses a bucket size above 65536 minus a cache line
const NAMES_PER_BUCKET = 4;
const SLOTS_PER_NAME = 4;
const MIN_MAX_SIZE = 1024;

const align = (n: number, to: number) => Math.ceil(n / to) * to;
const pow2AtLeast = (n: number) => 2 ** Math.ceil(Math.log2(Math.max(1, n)));

/** Bytes one exact name takes in a hash bucket (names are ASCII: a character is a byte). */
export function hashElementSize(name: string): number {
  return elementSize(name.length);
}

const elementSize = (length: number) => POINTER + align(length + 2, POINTER);

export interface HashSizes {
  bucketSize: number;
  maxSize: number;
}

/** `server_names_hash_bucket_size` and `server_names_hash_max_size` that fit `names` (duplicates and case do not count). */
export function serverNamesHashSizes(names: Iterable<string>): HashSizes {
  let longest = 0;
  const unique = new Set<string>();
  // Names are lowercase already (validated domains); a name repeated in another case would only
  // be counted twice, which errs on the large side.
  for (const n of names) {
    unique.add(n);
    if (n.length > longest) longest = n.length;
  }
  return hashSizesFor(longest, unique.size);
}

/** The sizes for `unique` distinct names, the longest `longest` characters long. */
export function hashSizesFor(longest: number, unique: number): HashSizes {
  const bucketSize = Math.min(MAX_BUCKET, pow2AtLeast(Math.max(MIN_BUCKET, NAMES_PER_BUCKET * elementSize(longest) + POINTER)));
  // +1: the catch-all `server_name _` of the example configuration shares the listen address.
  const maxSize = pow2AtLeast(Math.max(MIN_MAX_SIZE, SLOTS_PER_NAME * (unique + 1)));
  return { bucketSize, maxSize };
}
