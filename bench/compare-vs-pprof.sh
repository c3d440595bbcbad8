#!/usr/bin/env bash
# compare-vs-pprof.sh: time `profdiff compare` against `go tool pprof -top
# -diff_base` on the same large pair of runs (≈20k functions, 8 windows a
# side), and print the time ratio and peak memory of each.
#
# pprof gets each side merged into one profile beforehand (the merge is not
# timed): that is how a person would diff two runs with pprof. profdiff gets
# each side as a snapshot, built once by `profdiff snapshot` (timed and
# reported separately: in CI the baseline's snapshot is built once and
# committed, the current one once per run).
#
# Usage: bench/compare-vs-pprof.sh [RUNS]   (default 5; needs /usr/bin/time -v,
#        from Debian's "time" package)
set -euo pipefail
runs=${1:-5}
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

# measure NAME CMD...: run CMD $runs times; print median wall seconds and max RSS.
measure() {
  local name=$1; shift
  local walls=() rss=0
  for _ in $(seq "$runs"); do
    "$TIME" -v -o "$work/t" "$@" > /dev/null 2>&1 || true
    walls+=("$(awk -F': ' '/Elapsed \(wall clock\)/ {n=split($2,a,":"); s=0; for(i=1;i<=n;i++) s=s*60+a[i]; print s}' "$work/t")")
    r=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$work/t")
    [ "$r" -gt "$rss" ] && rss=$r
  done
  local med
  med=$(printf '%s\n' "${walls[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
  printf '%-28s median %6.3f s   peak RSS %7.1f MiB   (%d runs)\n' "$name" "$med" "$(echo "$rss/1024" | bc -l)" "$runs" >&2
  echo "$med $rss"
}

echo "# snapshot (once per side; not part of the ratio)" >&2
# A fresh directory each run: snapshot extends an existing one.
snap=$(measure "profdiff snapshot (1 side)" sh -c 'rm -rf "$1/snap-probe" && exec "$1/profdiff" snapshot --service big --type cpu --out "$1/snap-probe" "$1"/pair/base/*.pb.gz' sh "$work")
rm -rf "$work/snap-probe"
"$work/profdiff" snapshot --service big --type cpu --out "$work/snap-base" "$work"/pair/base/*.pb.gz > /dev/null
"$work/profdiff" snapshot --service big --type cpu --out "$work/snap-cur" "$work"/pair/cur/*.pb.gz > /dev/null
du -sh "$work/snap-base" "$work/base.pb.gz" | sed 's/^/# size /' >&2

echo "# compare" >&2
pd=$(measure "profdiff compare" "$work/profdiff" compare --baseline "$work/snap-base" --current "$work/snap-cur")
pp=$(measure "go tool pprof -top -diff_base" "$PPROF" -top -diff_base "$work/base.pb.gz" "$work/cur.pb.gz")
gt=$(measure "go tool pprof (via go tool)" go tool pprof -top -diff_base "$work/base.pb.gz" "$work/cur.pb.gz")
read -r pdt pdm <<<"$pd"
read -r ppt ppm <<<"$pp"
read -r gtt _ <<<"$gt"
printf 'ratio: pprof / profdiff = %.1fx (pprof binary), %.1fx (via go tool); peak memory %.0f MiB vs %.0f MiB\n' \
  "$(echo "$ppt/$pdt" | bc -l)" "$(echo "$gtt/$pdt" | bc -l)" "$(echo "$pdm/1024" | bc -l)" "$(echo "$ppm/1024" | bc -l)"
"$work/profdiff" compare --baseline "$work/snap-base" --current "$work/snap-cur" | tail -1 || true
