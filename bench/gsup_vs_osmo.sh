#!/usr/bin/env bash
# SendAuthInfo throughput: telsec's HLR against Debian's osmo-hlr, same
# machine, same client (`telsec hlr bench`), same subscribers, side by side.
#
#   bash bench/gsup_vs_osmo.sh [SUBSCRIBERS] [SECONDS]
#
# Each server gets its own loopback address (osmo-hlr's ports are fixed),
# a fresh database with the same Milenage subscribers, and the same load.
# The rounds alternate so that drift on the machine hits both alike.
set -euo pipefail
cd "$(dirname "$0")/.."

N=${1:-10000}
SECS=${2:-5}
CONNS=${CONNS:-4}
WINDOW=${WINDOW:-16}
VECTORS=${VECTORS:-1}
LEASE=${LEASE:-}          # telsec's hlr.sqn_lease; empty = the default
BASE=001010000000000
OSMO_IP=127.0.0.41
TELSEC_IP=127.0.0.42
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

cargo build --release --locked -q -p telsec
telsec=${CARGO_TARGET_DIR:-$PWD/target}/release/telsec
export TELSEC_HLR_KEK=00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff

echo "== provisioning $N Milenage subscribers in both"
python3 - "$N" "$BASE" "$work" <<'PY'
import hashlib, sys
n, base, work = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
opc = "cd63cb71954a9f4e48a5994e37a02baf"
with open(f"{work}/subs.csv", "w") as csv, open(f"{work}/osmo.sql", "w") as sql:
    csv.write("imsi,msisdn,algo,k,opc\n")
    sql.write("BEGIN;\n")
    for i in range(n):
        imsi = f"{base + i:015d}"
        k = hashlib.sha256(imsi.encode()).hexdigest()[:32]
        csv.write(f"{imsi},{4900000000 + i},milenage,{k},{opc}\n")
        sql.write(f"INSERT INTO subscriber (id, imsi, msisdn) VALUES ({i + 1}, '{imsi}', '{4900000000 + i}');\n")
        sql.write(f"INSERT INTO auc_3g (subscriber_id, algo_id_3g, k, opc, ind_bitlen) VALUES ({i + 1}, 5, '{k}', '{opc}', 5);\n")
    sql.write("COMMIT;\n")
PY
RUST_LOG=warn "$telsec" --data-dir "$work/telsec" hlr subscriber import "$work/subs.csv" >/dev/null
mkdir -p "$work/osmo"
cat > "$work/osmo/hlr.cfg" <<CFG
log stderr
 logging level main error
 logging level db error
 logging level auc error
line vty
 bind $OSMO_IP
ctrl
 bind $OSMO_IP
hlr
 gsup
  bind ip $OSMO_IP
CFG
wait_port() {
  for _ in $(seq 100); do (exec 3<>"/dev/tcp/$1/4222") 2>/dev/null && return 0; sleep 0.1; done
  echo "nothing listens on $1:4222" >&2; return 1
}
# osmo-hlr creates its schema on first start; then the subscribers go in.
osmo-hlr -c "$work/osmo/hlr.cfg" -l "$work/osmo/hlr.db" >/dev/null 2>&1 &
boot=$!
wait_port $OSMO_IP
kill "$boot"; wait "$boot" 2>/dev/null || true
sqlite3 "$work/osmo/hlr.db" < "$work/osmo.sql"

osmo-hlr -c "$work/osmo/hlr.cfg" -l "$work/osmo/hlr.db" >"$work/osmo.log" 2>&1 &
pids+=($!)
config=()
if [ -n "$LEASE" ]; then
  printf '[hlr]\nsqn_lease = %s\n' "$LEASE" > "$work/telsec.toml"
  config=(--config "$work/telsec.toml")
fi
RUST_LOG=warn "$telsec" "${config[@]}" --data-dir "$work/telsec" hlr serve --listen "$TELSEC_IP:4222" 2>"$work/telsec.log" &
pids+=($!)
wait_port $OSMO_IP
wait_port $TELSEC_IP

bench() {
  "$telsec" hlr bench --server "$1:4222" --imsi-base "$BASE" --subscribers "$N" \
    --connections "$CONNS" --window "$WINDOW" --vectors "$VECTORS" --seconds "$SECS" | python3 -c 'import json,sys; print(json.load(sys.stdin)["requests_per_second"])'
}
echo "== SendAuthInfo ($VECTORS vector(s) each), $CONNS connections x $WINDOW in flight, ${SECS}s per round"
declare -a osmo=() tel=()
for round in 1 2; do
  o=$(bench $OSMO_IP); t=$(bench $TELSEC_IP)
  osmo+=("$o"); tel+=("$t")
  echo "round $round: osmo-hlr $o req/s, telsec $t req/s"
done
python3 - "${osmo[@]}" "${tel[@]}" <<'PY'
import sys
v = [float(x) for x in sys.argv[1:]]
half = len(v) // 2
o, t = max(v[:half]), max(v[half:])
print(f"best: osmo-hlr {o:.0f} req/s, telsec {t:.0f} req/s, ratio {t / o:.2f}x")
PY
