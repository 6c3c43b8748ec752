-- berth's dynamic endpoints (BERTH_NGINX_DYNAMIC=lua), see docs/nginx.md "Dynamic endpoints (Lua)".
--
-- berth keeps the serving endpoints of every HTTP upstream in the shared dict `berth_endpoints`,
-- one entry per upstream: key "u:<upstream>", value "addr:port addr:port …" (IPv6 in brackets).
-- It writes them through the loopback-only admin locations below, so a scale change is a dict
-- write, never a reload. The dict lives in the master's shared memory: every worker sees a write
-- at once, and it survives `nginx -s reload` (not a restart; berth notices that through `!boot`).
--
-- Meta keys (cannot clash with upstream names, which are [a-z0-9_]):
--   !boot     random id made when the dict was created (empty) by this Nginx's first start
--   !version  bumped by every admin write; workers drop their parsed cache when it moves
--   !count    number of upstream entries
--
-- Rule for every request-path function: never raise. Bad data is logged and the request gets a
-- 503 (nothing usable) or 502 (the balancer could not pick), never a 500 or a dead worker.

local balancer = require("ngx.balancer")

local M = {}

local FAIL_TIMEOUT = 5 -- seconds a failed peer is skipped (as max_fails=1 fail_timeout=5s)
local MAX_TRIES = 3 -- attempts per request, as proxy_next_upstream_tries in the template

local dict = ngx.shared.berth_endpoints
local failed = ngx.shared.berth_failed

-- Per worker: parsed peer lists, valid while `!version` has not moved. Reading the version is one
-- dict lookup per request; the parse happens once per upstream per change.
local cache = {}
local cache_version = nil
local rr = {} -- per worker round-robin position, by upstream

-- "10.0.0.5:8080" or "[fd00::5]:8080" → host, port; anything else → nil.
local function parse_peer(token)
  local host, port = token:match("^(%d+%.%d+%.%d+%.%d+):(%d+)$")
  if not host then
    host, port = token:match("^(%[[%x:%.]+%]):(%d+)$")
  end
  port = tonumber(port)
  if not host or not port or port < 1 or port > 65535 then
    return nil
  end
  return host, port
end

local function parse(name, value)
  local peers = {}
  for token in value:gmatch("%S+") do
    local host, port = parse_peer(token)
    if host then
      peers[#peers + 1] = { host = host, port = port, key = token }
    else
      ngx.log(ngx.WARN, "berth: upstream ", name, ": ignoring malformed endpoint '", token:sub(1, 80), "'")
    end
  end
  return peers
end

local function peers_of(name)
  local version = dict:get("!version")
  if version ~= cache_version then
    cache = {}
    cache_version = version
  end
  local peers = cache[name]
  if peers == nil then
    local value = dict:get("u:" .. name)
    if type(value) == "string" then
      peers = parse(name, value)
    else
      if value ~= nil then
        ngx.log(ngx.WARN, "berth: upstream ", name, ": dict entry is a ", type(value), ", not a string")
      end
      peers = {}
    end
    cache[name] = peers
  end
  return peers
end

-- init_by_lua (master, at every start and reload). The dict survives a reload, so `!boot` is only
-- made when the dict is new: a changed `!boot` tells berth that Nginx restarted and lost the dict.
function M.init()
  math.randomseed(ngx.now() * 1000)
  dict:add("!boot", string.format("%x-%x", ngx.time(), math.random(0, 0x7fffffff)))
end

-- access_by_lua in each dynamic location: no endpoint → 503 (as the file-based template does).
-- `key`: set for a `berth.sticky` location (the cookie's value or the client address): the balancer
-- then ranks the endpoints by it instead of going round robin.
function M.access(key)
  local ok, peers = pcall(peers_of, ngx.var.berth_upstream or "")
  if not ok then
    ngx.log(ngx.ERR, "berth: reading endpoints failed: ", tostring(peers))
    return ngx.exit(503)
  end
  if #peers == 0 then
    return ngx.exit(503)
  end
  ngx.ctx.berth_peers = peers
  if type(key) == "string" then
    ngx.ctx.berth_key = key
  end
end

-- The peers in the order a client with this key tries them: rendezvous (highest random weight)
-- hashing. Each peer's weight is a hash of the key and the peer alone, so a peer that leaves moves
-- only the clients that ranked it first, and a new peer takes only those that rank it first (about
-- 1/n of them). md5, not crc32: crc32 is linear, so crc32(key..a) and crc32(key..b) differ by a
-- mask that does not depend on the key, and the ranking is skewed (of three peers, one can get
-- half the keys).
function M.rank(key, peers)
  local scored = {}
  for i = 1, #peers do
    scored[i] = { peer = peers[i], weight = ngx.md5(key .. " " .. peers[i].key) }
  end
  table.sort(scored, function(a, b)
    return a.weight > b.weight
  end)
  local order = {}
  for i = 1, #scored do
    order[i] = scored[i].peer
  end
  return order
end

local function pick()
  local ctx = ngx.ctx
  local name = ngx.var.berth_upstream or ""
  local peers = ctx.berth_peers or peers_of(name)
  local n = #peers
  if n == 0 then
    return nil, "no endpoints"
  end
  local tried = ctx.berth_tried
  if not tried then
    tried = {}
    ctx.berth_tried = tried
    if ctx.berth_key then
      -- Sticky: the client's best peer first; retries walk on to its next best.
      ctx.berth_order = M.rank(ctx.berth_key, peers)
      ctx.berth_start = 0
    else
      -- Round robin moves once per request; retries walk on from the same place.
      ctx.berth_start = rr[name] or 0
      rr[name] = (ctx.berth_start + 1) % n
    end
    local more = math.min(n, MAX_TRIES) - 1
    if more > 0 then
      balancer.set_more_tries(more)
    end
  elseif ctx.berth_last then
    -- Called again: the previous attempt failed (proxy_next_upstream). Skip that peer for a while
    -- in every worker.
    local state = balancer.get_last_failure()
    if state == "failed" then
      failed:set(name .. " " .. ctx.berth_last, true, FAIL_TIMEOUT)
    end
  end
  local start = ctx.berth_start
  local order = ctx.berth_order or peers
  local chosen, fallback
  for i = 1, n do
    local p = order[(start + i - 1) % n + 1]
    if not tried[p.key] then
      if not failed:get(name .. " " .. p.key) then
        chosen = p
        break
      end
      fallback = fallback or p
    end
  end
  -- Every untried peer is marked failed: try one anyway (nginx does the same when all are down).
  chosen = chosen or fallback
  if not chosen then
    return nil, "every endpoint was tried"
  end
  tried[chosen.key] = true
  ctx.berth_last = chosen.key
  return chosen
end

-- balancer_by_lua in each dynamic upstream.
function M.balance()
  local ok, peer, err = pcall(pick)
  if not ok or not peer then
    ngx.log(ngx.ERR, "berth: no peer for ", tostring(ngx.var.berth_upstream), ": ", tostring(ok and err or peer))
    return ngx.exit(ngx.ERROR) -- 502
  end
  local set, serr = balancer.set_current_peer(peer.host, peer.port)
  if not set then
    ngx.log(ngx.ERR, "berth: set_current_peer ", peer.key, " failed: ", tostring(serr))
    return ngx.exit(ngx.ERROR)
  end
end

local function state_json()
  return string.format(
    '{"boot":"%s","version":%d,"upstreams":%d}',
    tostring(dict:get("!boot") or ""),
    tonumber(dict:get("!version")) or 0,
    tonumber(dict:get("!count")) or 0
  )
end

-- GET /berth/state
function M.admin_state()
  ngx.header.content_type = "application/json"
  ngx.say(state_json())
end

local function read_body()
  ngx.req.read_body()
  local body = ngx.req.get_body_data()
  if body then
    return body
  end
  local file = ngx.req.get_body_file() -- larger than client_body_buffer_size
  if not file then
    return ""
  end
  local f = io.open(file, "rb")
  if not f then
    return nil
  end
  body = f:read("*a")
  f:close()
  return body
end

local function fail(status, message)
  ngx.status = status
  ngx.header.content_type = "text/plain"
  ngx.say(message)
  return ngx.exit(status)
end

-- POST /berth/endpoints[?mode=full]. Body: one line per upstream, "<upstream> <addr:port> …"
-- (no endpoint: just the name), or "-<upstream>" to drop it. mode=full: upstreams not in the body
-- are dropped. The whole body is checked before anything is written, so a bad body changes nothing.
function M.admin_push()
  if ngx.req.get_method() ~= "POST" then
    return fail(405, "POST only")
  end
  local body = read_body()
  if not body then
    return fail(500, "cannot read the request body")
  end
  local ops, n = {}, 0
  for line in body:gmatch("[^\n]+") do
    n = n + 1
    local drop, name, rest = line:match("^(%-?)([a-z0-9_]+)(.*)$")
    if not name or #name > 512 or rest:find("[^%w%.:%[%] ]") or (rest ~= "" and rest:sub(1, 1) ~= " ") then
      return fail(400, "line " .. n .. " is malformed")
    end
    ops[n] = { name = name, drop = drop == "-", value = rest:gsub("^ +", "") }
  end
  local keep = ngx.var.arg_mode == "full" and {} or nil
  local count = tonumber(dict:get("!count")) or 0
  for i = 1, n do
    local op = ops[i]
    local key = "u:" .. op.name
    if op.drop then
      if dict:get(key) ~= nil then
        dict:delete(key)
        count = count - 1
      end
    else
      if keep then
        keep[key] = true
      end
      local existed = dict:get(key) ~= nil
      -- safe_set never evicts other entries to make room: a full dict is an error berth reports.
      local ok, err = dict:safe_set(key, op.value)
      if not ok then
        dict:set("!count", count)
        dict:incr("!version", 1, 0)
        return fail(507, "shared dict berth_endpoints: " .. tostring(err))
      end
      if not existed then
        count = count + 1
      end
    end
  end
  if keep then
    for _, key in ipairs(dict:get_keys(0)) do
      if key:sub(1, 2) == "u:" and not keep[key] then
        dict:delete(key)
        count = count - 1
      end
    end
  end
  dict:set("!count", count)
  dict:incr("!version", 1, 0)
  ngx.header.content_type = "application/json"
  ngx.say(state_json())
end

return M
