#!/usr/bin/env bash
# compare-vs-pprof.sh: time `profdiff compare` against `go tool pprof -top
# -diff_base` on the same large pair of runs (≈20k functions, 8 windows a
# side), and print the time ratio and peak memory of each.
#
# pprof gets each side merged into one profile beforehand (the merge is not
# timed): that is how a person would diff two runs with pprof. profdiff is
# timed three ways, each from files to verdict:
#   - on the same two merged files (profdiff compare BASE.pb.gz CUR.pb.gz);
#   - on the two directories of eight window profiles, as they were
#     recorded (profdiff compare base/ cur/), no snapshot step;
#   - on two snapshots, built once by `profdiff snapshot` (timed and
#     reported separately: in CI the baseline's snapshot is built once and
#     committed).
#
# The two are run in turn (A B A B ...) and the ratio is the median of the
# per-pair ratios, for wall time and for CPU time (user + system).
#
# Usage: bench/compare-vs-pprof.sh [RUNS]   (default 11 pairs; needs
#        /usr/bin/time -v, from Debian's "time" package)
set -euo pipefail
runs=${1:-11}
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
TIME=/usr/bin/time
[ -x "$TIME" ] || { echo "need GNU time at /usr/bin/time (apt-get install time)" >&2; exit 2; }

cd "$root"
go build -o "$work/profdiff" ./cmd/profdiff
PPROF=$(go tool -n pprof)   # the binary `go tool pprof` runs (built and cached by go), minus the go command's start-up
go run ./bench/genpair -dir "$work/pair" -funcs "${FUNCS:-20000}" -windows "${WINDOWS:-8}" -samples "${SAMPLES:-200000}"
"$PPROF" -proto "$work"/pair/base/*.pb.gz > "$work/base.pb.gz" 2>/dev/null
"$PPROF" -proto "$work"/pair/cur/*.pb.gz > "$work/cur.pb.gz" 2>/dev/null

# run1 FILE CMD...: run CMD once under /usr/bin/time -v; print "wall cpu
# rss_kib". Wall time is read with date's nanoseconds (time -v rounds it to
# 10 ms); CPU time (user + system) is time's, to 10 ms.
run1() {
  local out=$1; shift
  local t0 t1
  t0=$(date +%s.%N)
  "$TIME" -v -o "$out" "$@" > /dev/null 2>&1 || true
  t1=$(date +%s.%N)
  awk -F': ' -v wall="$(echo "$t1 - $t0" | bc -l)" '
    /User time \(seconds\)/ {cpu+=$2}
    /System time \(seconds\)/ {cpu+=$2}
    /Maximum resident set size/ {rss=$2}
    END {printf "%s %s %s\n", wall, cpu, rss}' "$out"
}

# median: the median of the numbers on standard input.
median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

# measure NAME CMD...: run CMD $runs times (after one untimed warm-up); print
# its median wall and CPU seconds and its largest peak RSS.
measure() {
  local name=$1; shift
  "$@" > /dev/null 2>&1 || true
  local f="$work/m.$RANDOM"
  for _ in $(seq "$runs"); do run1 "$work/t" "$@"; done > "$f"
  printf '%-30s median %6.3f s wall %6.3f s CPU   peak RSS %6.1f MiB   (%d runs)\n' "$name" \
    "$(cut -d' ' -f1 "$f" | median)" "$(cut -d' ' -f2 "$f" | median)" "$(cut -d' ' -f3 "$f" | sort -g | tail -1 | awk '{print $1/1024}')" "$runs" >&2
}

# paired NAME_A NAME_B -- CMD_A... -- CMD_B...: run A and B in turn, A B A B
# ..., $runs pairs after one untimed warm-up each, and print each one's
# medians and peak RSS and the ratio B/A taken pair by pair (median of the
# per-pair ratios): pairing keeps the ratio honest when the machine's speed
# drifts, as it does on a shared machine.
paired() {
  local na=$1 nb=$2; shift 3
  local a=() b=()
  while [ "$1" != -- ]; do a+=("$1"); shift; done; shift
  b=("$@")
  "${a[@]}" > /dev/null 2>&1 || true
  "${b[@]}" > /dev/null 2>&1 || true
  : > "$work/pa"; : > "$work/pb"
  for _ in $(seq "$runs"); do
    run1 "$work/t" "${a[@]}" >> "$work/pa"
    run1 "$work/t" "${b[@]}" >> "$work/pb"
  done
  local name f n
  for name in a b; do
    f="$work/p$name"
    [ $name = a ] && n=$na || n=$nb
    printf '%-30s median %6.3f s wall %6.3f s CPU   peak RSS %6.1f MiB (median %6.1f)   (%d runs)\n' "$n" \
      "$(cut -d' ' -f1 "$f" | median)" "$(cut -d' ' -f2 "$f" | median)" \
      "$(cut -d' ' -f3 "$f" | sort -g | tail -1 | awk '{print $1/1024}')" "$(cut -d' ' -f3 "$f" | median | awk '{print $1/1024}')" "$runs" >&2
  done
  printf 'ratio %s / %s, median of %d pairs: %.1fx wall, %.1fx CPU; peak RSS %.0f MiB vs %.0f MiB (medians)\n' "$nb" "$na" "$runs" \
    "$(paste -d' ' "$work/pb" "$work/pa" | awk '$4 > 0 {print $1/$4}' | median)" \
    "$(paste -d' ' "$work/pb" "$work/pa" | awk '$5 > 0 {print $2/$5}' | median)" \
    "$(cut -d' ' -f3 "$work/pa" | median | awk '{print $1/1024}')" "$(cut -d' ' -f3 "$work/pb" | median | awk '{print $1/1024}')"
}

echo "# snapshot (once per side; not part of the ratio)" >&2
# A fresh directory each run: snapshot extends an existing one.
measure "profdiff snapshot (1 side)" sh -c 'rm -rf "$1/snap-probe" && exec "$1/profdiff" snapshot --service big --type cpu --out "$1/snap-probe" "$1"/pair/base/*.pb.gz' sh "$work"
rm -rf "$work/snap-probe"
"$work/profdiff" snapshot --service big --type cpu --out "$work/snap-base" "$work"/pair/base/*.pb.gz > /dev/null
"$work/profdiff" snapshot --service big --type cpu --out "$work/snap-cur" "$work"/pair/cur/*.pb.gz > /dev/null
du -sh "$work/snap-base" "$work/base.pb.gz" | sed 's/^/# size /' >&2

echo "# compare, from pprof files to verdict (A B A B ... pairs)" >&2
paired "profdiff compare BASE CUR" "pprof -top -diff_base" -- \
  "$work/profdiff" compare "$work/base.pb.gz" "$work/cur.pb.gz" -- \
  "$PPROF" -top -diff_base "$work/base.pb.gz" "$work/cur.pb.gz"
paired "profdiff compare base/ cur/" "pprof -top -diff_base" -- \
  "$work/profdiff" compare "$work/pair/base" "$work/pair/cur" -- \
  "$PPROF" -top -diff_base "$work/base.pb.gz" "$work/cur.pb.gz"
# pprof on the same sixteen window files: eight -diff_base, eight sources.
diffbase=(); for f in "$work"/pair/base/*.pb.gz; do diffbase+=(-diff_base "$f"); done
paired "profdiff compare base/ cur/" "pprof -top (same 16 files)" -- \
  "$work/profdiff" compare "$work/pair/base" "$work/pair/cur" -- \
  "$PPROF" -top "${diffbase[@]}" "$work"/pair/cur/*.pb.gz
paired "profdiff compare base/ cur/" "go tool pprof -top -diff_base" -- \
  "$work/profdiff" compare "$work/pair/base" "$work/pair/cur" -- \
  go tool pprof -top -diff_base "$work/base.pb.gz" "$work/cur.pb.gz"
echo "# compare of two snapshots (A B A B ... pairs)" >&2
paired "profdiff compare (snapshots)" "pprof -top -diff_base" -- \
  "$work/profdiff" compare --baseline "$work/snap-base" --current "$work/snap-cur" -- \
  "$PPROF" -top -diff_base "$work/base.pb.gz" "$work/cur.pb.gz"
echo "# load average: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) CPUs" >&2
"$work/profdiff" compare "$work/pair/base" "$work/pair/cur" | tail -1 || true
