#!/usr/bin/env bash
# telsec-esp vs OpenSSL AES-128-GCM, one core, side by side in one run.
#
#   crates/esp/benches/esp_vs_openssl.sh            # 3 s per measurement
#   SECS=5 crates/esp/benches/esp_vs_openssl.sh
#
# telsec figures come from the criterion bench `esp` (throughput counts
# inner-packet bytes):
#   roundtrip = seal + open of one packet through two SAs: two AES-GCM
#               passes, so its per-pass rate is 2 x the measured rate;
#   seal      = outbound SA path (header, padding, GCM encrypt, ICV);
#   open      = GCM open of a sealed packet (copy, decrypt, ICV, trailer);
#   floor     = ring's bare AES-GCM seal of the same plaintext length.
# OpenSSL figures:
#   evp       = `openssl speed -evp aes-128-gcm -bytes N`: one encryption
#               pass over a buffer, no per-record IV/AAD/tag (an upper bound);
#   aead      = the same with `-aead`: per record IV, 13-byte AAD and tag, as
#               a per-packet AEAD does.
# All rates in GB/s (10^9 bytes/s). Ratios are telsec per pass / openssl evp.
set -euo pipefail

cd "$(dirname "$0")/../../.."
SECS="${SECS:-3}"
SIZES=(64 512 1400)
OUT="$(mktemp)"
trap 'rm -f "$OUT"' EXIT

cargo bench -p telsec-esp --bench esp -- --warm-up-time 1 --measurement-time "$SECS" | tee "$OUT" >&2

# criterion prints "<group>/<size>" then "thrpt: [low UNIT mid UNIT high UNIT]".
telsec_rate() { # group size -> bytes/s (median estimate)
  awk -v want="$1/$2" '
    $1 == want { found = 1; next }
    found && /thrpt:/ {
      gsub(/\[|\]/, "")
      v = $4; u = $5
      m = (u == "GiB/s") ? 1073741824 : (u == "MiB/s") ? 1048576 : (u == "KiB/s") ? 1024 : 1
      printf "%.0f\n", v * m; exit
    }' "$OUT"
}

openssl_rate() { # extra-args size -> bytes/s
  # shellcheck disable=SC2086
  openssl speed -elapsed -seconds "$SECS" -mr $1 -evp aes-128-gcm -bytes "$2" 2>/dev/null |
    awk -F: '/^\+F:/ { printf "%.0f\n", $4 }'
}

gbs() { awk -v b="$1" 'BEGIN { printf "%.2f", b / 1e9 }'; }
pct() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.0f%%", 100 * a / b }'; }

printf '\n%-6s | %-24s | %-6s | %-6s | %-6s | %-8s | %-9s | %s\n' \
  bytes "roundtrip (per pass)" seal open floor "ossl evp" "ossl aead" "telsec/evp: pass seal open"
for n in "${SIZES[@]}"; do
  rt=$(telsec_rate esp_roundtrip_aes128gcm "$n")
  se=$(telsec_rate esp_seal_aes128gcm "$n")
  op=$(telsec_rate esp_open_aes128gcm "$n")
  fl=$(telsec_rate ring_seal_floor_aes128gcm "$n")
  ev=$(openssl_rate "" "$n")
  ae=$(openssl_rate "-aead" "$n")
  per_pass=$((rt * 2))
  printf '%-6s | %-24s | %-6s | %-6s | %-6s | %-8s | %-9s | %s %s %s\n' "$n" \
    "$(gbs "$rt") ($(gbs "$per_pass")) GB/s" "$(gbs "$se")" "$(gbs "$op")" "$(gbs "$fl")" "$(gbs "$ev")" "$(gbs "$ae")" \
    "$(pct "$per_pass" "$ev")" "$(pct "$se" "$ev")" "$(pct "$op" "$ev")"
done
