#!/bin/sh
# `npm run setup`: installs the external tools the tests use (nginx with its stream and lua
# modules, dig, kdig, nsd, curl, openssl, chromium), on Debian or Ubuntu (apt-get).
# Tests that need one of them skip without it (and name it in the notice at the end of the run);
# with CI set they fail instead. Idempotent: installs only what is missing; as root it installs,
# otherwise it prints the command to run. Debian's nginx package is kept from starting its own
# service on port 80: the tests start their own Nginx on loopback ports.
set -eu

MODULES=/usr/lib/nginx/modules
need=""
missing=""
add() { need="$need $1"; missing="$missing $2"; }
have() { command -v "$1" >/dev/null 2>&1 || [ -x "/usr/sbin/$1" ]; }
nginx_bin() { command -v nginx 2>/dev/null || echo /usr/sbin/nginx; }

check() {
  need=""
  missing=""
  have nginx || add nginx-light nginx
  # berth.proxy=tcp needs the stream module (a separate package unless built in).
  [ -e "$MODULES/ngx_stream_module.so" ] || "$(nginx_bin)" -V 2>&1 | grep -Eq -- '--with-stream( |$)' || add libnginx-mod-stream 'nginx stream module'
  [ -e "$MODULES/ngx_http_lua_module.so" ] || add libnginx-mod-http-lua 'nginx lua module'
  have dig || add bind9-dnsutils dig
  have kdig || add knot-dnsutils kdig
  # NSD runs as a real secondary of berth in the zone transfer and NOTIFY tests.
  have nsd || add nsd nsd
  have curl || add curl curl
  have openssl || add openssl openssl
  # Browser tests drive Debian's Chromium (nothing downloads a browser of its own).
  have chromium || add chromium chromium
}

# Debian installs nginx in /usr/sbin, which a normal user's PATH lacks: tests would not find it.
path_hint() {
  if ! command -v nginx >/dev/null 2>&1 && [ -x /usr/sbin/nginx ]; then
    echo "setup: nginx is in /usr/sbin, which is not on your PATH (the tests look for it on PATH): export PATH=\"\$PATH:/usr/sbin\""
  fi
}

check
path_hint
if [ -z "$need" ]; then
  echo "setup: every tool the tests use is installed (nginx with stream and lua modules, dig, kdig, nsd, curl, openssl, chromium)"
  exit 0
fi
echo "setup: missing:$missing"
if ! command -v apt-get >/dev/null 2>&1; then
  echo "setup: no apt-get here; install the equivalents of these Debian packages:$need"
  exit 1
fi
if [ "$(id -u)" != 0 ]; then
  echo "setup: not root; run one of:"
  echo "  sudo sh scripts/setup.sh"
  echo "  sudo apt-get install -y --no-install-recommends$need"
  exit 1
fi

# policy-rc.d answering 101 keeps maintainer scripts from starting services; removed afterwards
# unless it was already there.
policy=/usr/sbin/policy-rc.d
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' >"$policy"
  chmod +x "$policy"
  trap 'rm -f "$policy"' EXIT
fi
case "$need" in
  *nginx-light*) new_nginx=1 ;;
  *) new_nginx=0 ;;
esac
case "$need" in
  *" nsd"*) new_nsd=1 ;;
  *) new_nsd=0 ;;
esac
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $need >/dev/null
# Nor at the next boot, on a machine that runs systemd.
if [ "$new_nginx" = 1 ] && command -v systemctl >/dev/null 2>&1; then systemctl disable --quiet nginx 2>/dev/null || true; fi
# NSD's own service would take port 53; the tests start their own NSD on loopback ports.
if [ "$new_nsd" = 1 ] && command -v systemctl >/dev/null 2>&1; then systemctl disable --quiet nsd 2>/dev/null || true; fi

check
if [ -n "$need" ]; then
  echo "setup: still missing after apt-get:$missing"
  exit 1
fi
echo "setup: installed; every tool the tests use is there"
