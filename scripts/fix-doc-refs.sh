#!/bin/sh
# Rewrites comments that cite documents outside the repository (the design notes, the style notes,
# the reference notes) so that they cite the docs/ page that now holds the same facts. Idempotent:
# every pattern matches only the old wording, so a second run changes nothing.
#
#   sh scripts/fix-doc-refs.sh          # rewrite in place
#   sh scripts/fix-doc-refs.sh --check  # list what is left; exit 1 if anything is
#
# The check is the same test test/docs/references.test.ts makes, as a grep.
set -eu
cd "$(dirname "$0")/.."

DIRS="src test bench migrations scripts"
PATTERN='DESIGN(\.md| *§)|STYLE\.md|reference/[A-Za-z0-9_.-]+|shared/reference|dnsbench/|(peers|dns-bench)\.md|(ipam|marathon)\.md +(b\.[0-9]|§)'

check() {
  # grep -E over tracked text files; this script and the test that lists the patterns are exempt.
  if grep -rnE "$PATTERN" $DIRS --include='*.ts' --include='*.md' --include='*.sh' --include='*.json' --include='*.hbs' \
      | grep -v '^scripts/fix-doc-refs\.sh:' | grep -v '^test/docs/references\.test\.ts:'; then
    echo "references to documents outside the repository remain (above)" >&2
    return 1
  fi
  echo "no references to documents outside the repository"
}

if [ "${1:-}" = "--check" ]; then check; exit $?; fi

FILES=$(grep -rlE "$PATTERN" $DIRS --include='*.ts' --include='*.md' | grep -v '^scripts/fix-doc-refs\.sh$' | grep -v '^test/docs/references\.test\.ts$' || true)
[ -n "$FILES" ] || { echo "nothing to rewrite"; exit 0; }

# Most specific forms first; the generic ones at the end catch what is left.
# shellcheck disable=SC2086
sed -i -E \
  -e 's#\(DESIGN §2 "Where a task is reached"; reference/marathon\.md §3\.1, §4\)#(docs/labels.md "Where a task is reached"; docs/marathon.md "App and task JSON")#' \
  -e 's#\(reference/marathon\.md §2\.0, §2\.3\)#(docs/marathon.md "Ids")#' \
  -e 's#\(reference/marathon\.md §2\.3\)#(docs/marathon.md "Ids")#' \
  -e 's#\(reference/marathon\.md §2\.0\)#(docs/marathon.md "Ids")#' \
  -e 's#\(reference/marathon\.md §4\.1\)#(docs/marathon.md "App and task JSON")#' \
  -e 's#\(reference/marathon\.md §3\.1, §3\.2\)#(docs/marathon.md "App and task JSON")#' \
  -e 's#\(reference/marathon\.md §3\.5\)#(docs/marathon.md "App and task JSON")#' \
  -e 's#\(reference/marathon\.md §3\)#(docs/marathon.md "REST calls")#' \
  -e 's#\(reference/marathon\.md §2\.4\)#(docs/marathon.md "Events and what berth does with them")#' \
  -e 's#\(reference/marathon\.md §2\)#(docs/marathon.md "Events and what berth does with them")#' \
  -e 's#\(reference/marathon\.md §1\.3\)#(docs/marathon.md "Framing")#' \
  -e 's#\(reference/marathon\.md §1\)#(docs/marathon.md "The event stream")#' \
  -e 's#See `reference/marathon\.md` §2–§4\.#See docs/marathon.md.#' \
  -e 's#reference/marathon\.md( §[0-9.]+(, §[0-9.]+)*)?#docs/marathon.md#g' \
  -e 's#\(DESIGN §8\.2, reference/peers\.md \(c\) 2 and 5\)#(docs/reliability.md, rule 2)#' \
  -e 's#\(DESIGN §8\.1, peers\.md pitfall 1\)#(docs/reliability.md, rule 1)#' \
  -e 's#\(reference/peers\.md \(c\) 1\)#(docs/reliability.md, rule 1)#' \
  -e 's#\(reference/peers\.md \(c\)\)#(docs/reliability.md)#' \
  -e 's#\(reference/peers\.md \(a\):#(docs/marathon.md "Snapshots versus refetching on every event":#' \
  -e 's#(reference/)?peers\.md( \([a-c]\)( [0-9]( and [0-9])?)?| pitfall [0-9])?#docs/reliability.md#g' \
  -e 's#\(DESIGN §3, reference/ipam\.md b\.5\)#(docs/ipam.md "Reconciliation with Marathon")#' \
  -e 's#\(ipam\.md b\.5 `ipam_reconcile`\)#(`ipam_reconcile`, docs/ipam.md "Reconciliation with Marathon")#' \
  -e 's#\(ipam\.md b\.5 circuit breaker\)#(docs/ipam.md "Reconciliation with Marathon", circuit breakers)#' \
  -e 's#\(reference/ipam\.md b\.1–b\.5, adapted\)#(docs/ipam.md)#' \
  -e 's#(reference/)?ipam\.md b\.5#docs/ipam.md "Reconciliation with Marathon"#g' \
  -e 's#(reference/)?ipam\.md b\.[0-9]#docs/ipam.md "Allocation design"#g' \
  -e 's#Every hazard measured in shared/reference/dns-bench\.md#Every dns2 hazard listed in docs/dns.md#' \
  -e 's#the same probe as dnsbench/sport0\.py#the same probe as the original dns2 measurement#' \
  -e 's#\(the method of shared/reference/dnsbench/gen\.js\)#(method: docs/dns.md "Why not a DNS library on the query path")#' \
  -e 's#dnsmasq.s A lookups were 2\.5x slower \(dns-bench\.md\)#dnsmasq'"'"'s A lookups were 2.5x slower (docs/dns.md)#' \
  -e 's#(shared/)?(reference/)?dns-bench\.md#docs/dns.md#g' \
  -e 's#\(DESIGN §9: an index patch costs#(docs/dns.md "Following the registry": an index patch costs#' \
  -e 's#Two ways to move it on \(DESIGN §9\)#Two ways to move it on (docs/dns.md "Following the registry")#' \
  -e 's#the DESIGN §9 scale#the scale of the targets in docs/architecture.md#g' \
  -e 's#every benchmark of DESIGN §9#every benchmark behind the targets in docs/architecture.md#' \
  -e 's#DESIGN §9#docs/architecture.md "Performance targets"#g' \
  -e 's#mass-removal guard \(DESIGN §4\)#mass-removal guard (docs/nginx.md "The removal guard")#' \
  -e 's#\(DESIGN §4: #(docs/nginx.md "Run records": #' \
  -e 's#DESIGN §4#docs/nginx.md#g' \
  -e 's#\(DESIGN §1, §3\)#(docs/architecture.md "How a change travels", docs/ipam.md)#' \
  -e 's#DESIGN §1#docs/architecture.md#g' \
  -e 's#Write authorisation \(DESIGN §6\)#Write authorisation (README.md "HTTP API")#' \
  -e 's#\(DESIGN §6, contract\)#(README.md "Configuration"; a contract)#' \
  -e 's#DESIGN §6#README.md "Configuration"#g' \
  -e 's#DESIGN §7#docs/architecture.md "Logs"#g' \
  -e 's#DESIGN §8\.([0-9])#docs/reliability.md, rule \1#g' \
  -e 's#DESIGN §8#docs/reliability.md#g' \
  -e 's#DESIGN §3#docs/ipam.md#g' \
  -e 's#DESIGN §2#docs/labels.md#g' \
  -e 's#DESIGN §5#docs/dns.md#g' \
  -e 's#\(STYLE\.md\)#(docs/architecture.md "Pure core, I/O at the edges")#' \
  -e 's#STYLE\.md#docs/architecture.md#g' \
  $FILES

echo "rewrote references in:"
echo "$FILES" | sed 's/^/  /'
check
