import type { Knex } from 'knex';

/*
 * IPAM schema (docs/ipam.md): one row per allocatable address, so the
 * primary key on `ip` is what makes a duplicate assignment impossible; allocation is an UPDATE of
 * a free row picked with FOR UPDATE SKIP LOCKED through a partial index (cost does not grow with
 * fill). Pools never overlap anywhere (Docker refuses overlapping subnets on one host too), so the
 * reference's per-network scope collapses to one global scope. Functions are plpgsql so that one
 * allocation is one round trip; the same text runs on PostgreSQL 15 and PGlite.
 *
 * Custom SQLSTATEs raised here are mapped to BerthError codes in src/ipam/db-errors.ts:
 *   BP404 pool not found · BA409 app holds another address · BA410 address taken ·
 *   BA411 address reserved / not allocatable · BA412 address quarantined · BA413 outside pool ·
 *   BA419 stale allocation id · BA507 pool exhausted.
 */

const TABLES = `
CREATE TABLE ipam_pool (
  id                 bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  name               text    NOT NULL UNIQUE,
  cidr               cidr    NOT NULL,
  gateway            inet,
  alloc_first        inet    NOT NULL,
  alloc_last         inet    NOT NULL,
  docker_network     text,
  bridge_name        text,
  ip_range           cidr,
  aux_addresses      jsonb   NOT NULL DEFAULT '{}',
  reserved           jsonb   NOT NULL DEFAULT '[]',
  quarantine_seconds integer NOT NULL DEFAULT 900 CHECK (quarantine_seconds BETWEEN 0 AND 604800),
  created_at         timestamptz NOT NULL DEFAULT now(),
  CHECK (alloc_first <= alloc_last AND alloc_first <<= cidr AND alloc_last <<= cidr),
  CONSTRAINT ipam_pool_no_overlap EXCLUDE USING gist (cidr inet_ops WITH &&)
);

CREATE SEQUENCE ipam_allocation_seq;

CREATE TABLE ipam_address (
  ip              inet   PRIMARY KEY CHECK (masklen(ip) = CASE family(ip) WHEN 4 THEN 32 ELSE 128 END),
  pool_id         bigint NOT NULL REFERENCES ipam_pool(id) ON DELETE CASCADE,
  state           text   NOT NULL DEFAULT 'free' CHECK (state IN ('free','allocated','reserved')),
  owner           text,
  allocation_id   bigint,
  last_owner      text,
  available_at    timestamptz NOT NULL DEFAULT '-infinity',
  allocated_at    timestamptz,
  released_at     timestamptz,
  orphan_since    timestamptz,
  reserved_reason text,
  CHECK ((state = 'allocated') = (owner IS NOT NULL AND allocation_id IS NOT NULL))
);
CREATE UNIQUE INDEX ipam_address_owner_uq ON ipam_address (pool_id, owner) WHERE owner IS NOT NULL;
CREATE INDEX ipam_address_free_idx ON ipam_address (pool_id, available_at, ip) WHERE state = 'free';
CREATE INDEX ipam_address_last_owner_idx ON ipam_address (pool_id, last_owner)
  WHERE state = 'free' AND last_owner IS NOT NULL;
-- The free list churns like a queue table; dead index entries sit at the front of the pick scan
-- until vacuumed (docs/ipam.md "Allocation design"), so vacuum it after a fixed number of changes, not a fraction.
ALTER TABLE ipam_address SET (autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 2000,
  autovacuum_analyze_scale_factor = 0.05);

CREATE TABLE ipam_event (
  id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  at            timestamptz NOT NULL DEFAULT now(),
  pool_id       bigint NOT NULL,
  pool_name     text   NOT NULL,
  ip            inet,
  owner         text,
  allocation_id bigint,
  action        text NOT NULL CHECK (action IN ('pool_create','pool_delete','allocate','claim','release',
                                                'reserve','unreserve','orphan_mark','orphan_clear','orphan_release')),
  actor         text NOT NULL,
  detail        jsonb
);
-- One index only: every event read is per pool (an appId filter rides on it); each extra index is
-- one more write on the allocation hot path.
CREATE INDEX ipam_event_pool_idx ON ipam_event (pool_id, id DESC);

-- Append-only for real: the audit trail refuses UPDATE, DELETE and TRUNCATE.
CREATE FUNCTION ipam_event_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'ipam_event is append-only (% refused)', TG_OP USING ERRCODE = 'BE403';
END $$;
CREATE TRIGGER ipam_event_no_change BEFORE UPDATE OR DELETE ON ipam_event
  FOR EACH ROW EXECUTE FUNCTION ipam_event_append_only();
CREATE TRIGGER ipam_event_no_truncate BEFORE TRUNCATE ON ipam_event
  FOR EACH STATEMENT EXECUTE FUNCTION ipam_event_append_only();
`;

// The window [alloc_first, alloc_last] is what gets rows: all hosts of an IPv4 pool, a bounded
// slice of an IPv6 prefix (a /64 cannot be pre-populated).
const POPULATE = `
CREATE FUNCTION ipam_populate(p_pool bigint) RETURNS bigint LANGUAGE sql AS $$
  WITH p AS (SELECT id, alloc_first, alloc_last FROM ipam_pool WHERE id = p_pool),
  ins AS (
    INSERT INTO ipam_address (pool_id, ip)
    SELECT p.id, p.alloc_first + g FROM p, generate_series(0::bigint, p.alloc_last - p.alloc_first) AS g
    RETURNING 1)
  SELECT count(*) FROM ins;
$$;
`;

const ALLOCATE = `
CREATE FUNCTION ipam_allocate(p_pool_name text, p_owner text, p_requested inet DEFAULT NULL,
                              p_actor text DEFAULT 'api', p_claim boolean DEFAULT false)
RETURNS TABLE (ip inet, allocation_id bigint, created boolean, allocated_at timestamptz,
               prefix_length integer, gateway inet)
LANGUAGE plpgsql AS $$
DECLARE v_pool bigint; v_cidr cidr; v_gw inet; v_ip inet; v_alloc bigint; v_at timestamptz; r record;
BEGIN
  SELECT p.id, p.cidr, p.gateway INTO v_pool, v_cidr, v_gw FROM ipam_pool p WHERE p.name = p_pool_name;
  IF NOT FOUND THEN RAISE EXCEPTION 'pool % not found', p_pool_name USING ERRCODE = 'BP404'; END IF;
  IF p_requested IS NOT NULL AND NOT (p_requested <<= v_cidr) THEN
    RAISE EXCEPTION '% is outside pool % (%)', host(p_requested), p_pool_name, v_cidr USING ERRCODE = 'BA413';
  END IF;

  -- Serialise requests for the SAME app only; transaction-scoped, so safe behind PgBouncer.
  PERFORM pg_advisory_xact_lock(hashtextextended('ipam:' || v_pool || ':' || p_owner, 0));

  SELECT a.ip, a.allocation_id, a.allocated_at INTO v_ip, v_alloc, v_at
    FROM ipam_address a WHERE a.pool_id = v_pool AND a.owner = p_owner;
  IF FOUND THEN
    IF p_requested IS NOT NULL AND p_requested <> v_ip THEN
      RAISE EXCEPTION 'app % already holds % in pool %', p_owner, host(v_ip), p_pool_name
        USING ERRCODE = 'BA409', DETAIL = host(v_ip);
    END IF;
    RETURN QUERY SELECT v_ip, v_alloc, false, v_at, masklen(v_cidr), v_gw; RETURN;
  END IF;

  IF p_requested IS NOT NULL THEN
    -- Fixed IP: free and out of quarantine, or this app's own previous address; a claim (running
    -- container already uses it) ignores the quarantine.
    UPDATE ipam_address a
       SET state = 'allocated', owner = p_owner, allocation_id = nextval('ipam_allocation_seq'),
           allocated_at = now(), orphan_since = NULL
     WHERE a.ip = p_requested AND a.pool_id = v_pool AND a.state = 'free'
       AND (p_claim OR a.available_at <= now() OR a.last_owner = p_owner)
    RETURNING a.ip, a.allocation_id, a.allocated_at INTO v_ip, v_alloc, v_at;
    IF NOT FOUND THEN
      SELECT a.state, a.owner, a.available_at, a.reserved_reason INTO r FROM ipam_address a WHERE a.ip = p_requested;
      IF NOT FOUND THEN
        RAISE EXCEPTION '% is not allocatable in pool % (network/broadcast address or outside the allocation window)',
          host(p_requested), p_pool_name USING ERRCODE = 'BA411', DETAIL = 'not allocatable';
      ELSIF r.state = 'reserved' THEN
        RAISE EXCEPTION '% is reserved in pool % (%)', host(p_requested), p_pool_name, r.reserved_reason
          USING ERRCODE = 'BA411', DETAIL = coalesce(r.reserved_reason, 'reserved');
      ELSIF r.state = 'allocated' THEN
        RAISE EXCEPTION '% is taken in pool %', host(p_requested), p_pool_name
          USING ERRCODE = 'BA410', DETAIL = r.owner;
      ELSE
        RAISE EXCEPTION '% is in quarantine in pool % until %', host(p_requested), p_pool_name, r.available_at
          USING ERRCODE = 'BA412', DETAIL = to_char(r.available_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"');
      END IF;
    END IF;
  ELSE
    -- Sticky: the app's previous address if nobody took it since (even inside its quarantine).
    WITH c AS (SELECT a.ip FROM ipam_address a
                WHERE a.pool_id = v_pool AND a.state = 'free' AND a.last_owner = p_owner
                ORDER BY a.released_at DESC LIMIT 1 FOR UPDATE SKIP LOCKED)
    UPDATE ipam_address a
       SET state = 'allocated', owner = p_owner, allocation_id = nextval('ipam_allocation_seq'),
           allocated_at = now(), orphan_since = NULL
      FROM c WHERE a.ip = c.ip
    RETURNING a.ip, a.allocation_id, a.allocated_at INTO v_ip, v_alloc, v_at;
    IF NOT FOUND THEN
      -- Oldest-available free address (never used first, then longest released): one index descent.
      WITH c AS (SELECT a.ip FROM ipam_address a
                  WHERE a.pool_id = v_pool AND a.state = 'free' AND a.available_at <= now()
                  ORDER BY a.available_at, a.ip LIMIT 1 FOR UPDATE SKIP LOCKED)
      UPDATE ipam_address a
         SET state = 'allocated', owner = p_owner, allocation_id = nextval('ipam_allocation_seq'),
             allocated_at = now(), orphan_since = NULL
        FROM c WHERE a.ip = c.ip
      RETURNING a.ip, a.allocation_id, a.allocated_at INTO v_ip, v_alloc, v_at;
      IF NOT FOUND THEN
        RAISE EXCEPTION 'pool % is exhausted', p_pool_name USING ERRCODE = 'BA507';
      END IF;
    END IF;
  END IF;

  INSERT INTO ipam_event (pool_id, pool_name, ip, owner, allocation_id, action, actor)
  VALUES (v_pool, p_pool_name, v_ip, p_owner, v_alloc, CASE WHEN p_claim THEN 'claim' ELSE 'allocate' END, p_actor);
  RETURN QUERY SELECT v_ip, v_alloc, true, v_at, masklen(v_cidr), v_gw;
END $$;
`;

const RELEASE = `
CREATE FUNCTION ipam_release(p_pool_name text, p_owner text, p_allocation bigint DEFAULT NULL,
                             p_actor text DEFAULT 'api', p_action text DEFAULT 'release')
RETURNS TABLE (ip inet, allocation_id bigint, available_at timestamptz) LANGUAGE plpgsql AS $$
DECLARE v_pool bigint; v_cool integer; v_ip inet; v_alloc bigint; v_avail timestamptz;
BEGIN
  SELECT p.id, p.quarantine_seconds INTO v_pool, v_cool FROM ipam_pool p WHERE p.name = p_pool_name;
  IF NOT FOUND THEN RAISE EXCEPTION 'pool % not found', p_pool_name USING ERRCODE = 'BP404'; END IF;
  PERFORM pg_advisory_xact_lock(hashtextextended('ipam:' || v_pool || ':' || p_owner, 0));

  SELECT a.ip, a.allocation_id INTO v_ip, v_alloc FROM ipam_address a
   WHERE a.pool_id = v_pool AND a.owner = p_owner FOR UPDATE;
  IF NOT FOUND THEN RETURN; END IF;                    -- already released: idempotent no-op
  IF p_allocation IS NOT NULL AND p_allocation <> v_alloc THEN
    -- ABA guard: the caller's allocation ended and the app was given a new one since.
    RAISE EXCEPTION 'allocation % of % is stale: the current allocation is %', p_allocation, p_owner, v_alloc
      USING ERRCODE = 'BA419', DETAIL = v_alloc::text;
  END IF;
  UPDATE ipam_address a
     SET state = 'free', last_owner = a.owner, owner = NULL, allocation_id = NULL, released_at = now(),
         orphan_since = NULL, available_at = now() + make_interval(secs => v_cool)
   WHERE a.ip = v_ip
  RETURNING a.available_at INTO v_avail;
  INSERT INTO ipam_event (pool_id, pool_name, ip, owner, allocation_id, action, actor)
  VALUES (v_pool, p_pool_name, v_ip, p_owner, v_alloc, p_action, p_actor);
  RETURN QUERY SELECT v_ip, v_alloc, v_avail;
END $$;
`;

// Safe reconciliation (docs/ipam.md "Reconciliation with Marathon"): the caller takes the snapshot time BEFORE fetching Marathon's
// apps, so nothing allocated after it is a candidate; a first observation only marks; release needs
// a second observation after the grace period (a mark made in this same pass has orphan_since =
// now(), so it never qualifies), is capped per pass and fenced by allocation id.
const RECONCILE = `
CREATE FUNCTION ipam_reconcile(p_pool_name text, p_live text[], p_snapshot timestamptz,
                               p_grace interval, p_max integer)
RETURNS TABLE (marked integer, cleared integer, released integer, busy boolean) LANGUAGE plpgsql AS $$
DECLARE v_pool bigint; v_marked integer; v_cleared integer; v_released integer := 0; r record;
BEGIN
  SELECT p.id INTO v_pool FROM ipam_pool p WHERE p.name = p_pool_name;
  IF NOT FOUND THEN RAISE EXCEPTION 'pool % not found', p_pool_name USING ERRCODE = 'BP404'; END IF;
  IF NOT pg_try_advisory_xact_lock(hashtextextended('ipam-reconcile:' || v_pool, 0)) THEN
    RETURN QUERY SELECT 0, 0, 0, true; RETURN;        -- another replica is reconciling this pool
  END IF;
  WITH c AS (UPDATE ipam_address a SET orphan_since = NULL
              WHERE a.pool_id = v_pool AND a.orphan_since IS NOT NULL AND a.owner = ANY (p_live)
             RETURNING a.ip, a.owner, a.allocation_id),
       e AS (INSERT INTO ipam_event (pool_id, pool_name, ip, owner, allocation_id, action, actor)
             SELECT v_pool, p_pool_name, c.ip, c.owner, c.allocation_id, 'orphan_clear', 'reconciler' FROM c)
  SELECT count(*) INTO v_cleared FROM c;
  WITH m AS (UPDATE ipam_address a SET orphan_since = now()
              WHERE a.pool_id = v_pool AND a.state = 'allocated' AND a.orphan_since IS NULL
                AND a.allocated_at < p_snapshot AND NOT (a.owner = ANY (p_live))
             RETURNING a.ip, a.owner, a.allocation_id),
       e AS (INSERT INTO ipam_event (pool_id, pool_name, ip, owner, allocation_id, action, actor)
             SELECT v_pool, p_pool_name, m.ip, m.owner, m.allocation_id, 'orphan_mark', 'reconciler' FROM m)
  SELECT count(*) INTO v_marked FROM m;
  FOR r IN SELECT a.owner, a.allocation_id FROM ipam_address a
            WHERE a.pool_id = v_pool AND a.state = 'allocated' AND a.allocated_at < p_snapshot
              AND a.orphan_since <= now() - p_grace AND a.orphan_since < now()
              AND NOT (a.owner = ANY (p_live))
            ORDER BY a.orphan_since LIMIT p_max
  LOOP
    PERFORM ipam_release(p_pool_name, r.owner, r.allocation_id, 'reconciler', 'orphan_release');
    v_released := v_released + 1;
  END LOOP;
  RETURN QUERY SELECT v_marked, v_cleared, v_released, false;
END $$;
`;

// Usage is counted by the database, never derived by subtraction in the client (Calico
// GetUtilization, aws-vpc-cni #1700): quarantined addresses are neither available nor allocated.
const USAGE = `
CREATE FUNCTION ipam_usage() RETURNS TABLE (pool_name text, capacity bigint, allocated bigint,
  quarantined bigint, reserved bigint, available bigint) LANGUAGE sql STABLE AS $$
  SELECT p.name,
         count(a.ip),
         count(a.ip) FILTER (WHERE a.state = 'allocated'),
         count(a.ip) FILTER (WHERE a.state = 'free' AND a.available_at > now()),
         count(a.ip) FILTER (WHERE a.state = 'reserved'),
         count(a.ip) FILTER (WHERE a.state = 'free' AND a.available_at <= now())
    FROM ipam_pool p LEFT JOIN ipam_address a ON a.pool_id = p.id
   GROUP BY p.id, p.name ORDER BY p.name;
$$;
`;

/** Splits plain DDL into single statements: PGlite (extended protocol) refuses multi-statement strings. */
function statements(sql: string): string[] {
  // Only for TABLES, whose one plpgsql body has no line-initial keyword inside; each function
  // definition below is sent whole.
  return sql
    .split(/;\n+(?=[A-Z-])(?!END\b)/)
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

export async function up(knex: Knex): Promise<void> {
  for (const sql of statements(TABLES)) await knex.raw(sql);
  for (const fn of [POPULATE, ALLOCATE, RELEASE, RECONCILE, USAGE]) await knex.raw(fn.trim());
}

export async function down(knex: Knex): Promise<void> {
  for (const sql of [
    'DROP FUNCTION IF EXISTS ipam_usage()',
    'DROP FUNCTION IF EXISTS ipam_reconcile(text, text[], timestamptz, interval, integer)',
    'DROP FUNCTION IF EXISTS ipam_release(text, text, bigint, text, text)',
    'DROP FUNCTION IF EXISTS ipam_allocate(text, text, inet, text, boolean)',
    'DROP FUNCTION IF EXISTS ipam_populate(bigint)',
    'DROP TABLE IF EXISTS ipam_event',
    'DROP FUNCTION IF EXISTS ipam_event_append_only()',
    'DROP TABLE IF EXISTS ipam_address',
    'DROP SEQUENCE IF EXISTS ipam_allocation_seq',
    'DROP TABLE IF EXISTS ipam_pool',
  ]) {
    await knex.raw(sql);
  }
}
