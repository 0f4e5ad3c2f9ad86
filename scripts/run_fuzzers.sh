#!/usr/bin/env bash
# Runs the fuzz targets (fuzz/CMakeLists.txt) from their committed seed corpora, each for SECONDS,
# under AddressSanitizer and UndefinedBehaviorSanitizer, and prints one line per target:
# executions, coverage (libFuzzer's cov: edges), corpus size, and the verdict.
#   bash scripts/run_fuzzers.sh SECONDS [TARGET...]     (default: every fuzz_* in $FUZZ_DIR)
# Env: FUZZ_DIR (default build/fuzz), FUZZ_WORK (default: a temporary folder; the grown corpora
# and any crash inputs stay there, the committed seeds are never modified).
# Exit 1 when a target found a crash, a sanitizer report, a leak, a timeout or an out-of-memory.
set -euo pipefail
seconds="${1:?usage: run_fuzzers.sh SECONDS [TARGET...]}"
shift
dir="${FUZZ_DIR:-build/fuzz}"
seeds="$(cd "$(dirname "$0")/../fuzz/corpus" && pwd)"
suppressions="$(cd "$(dirname "$0")/../fuzz" && pwd)/lsan.supp"
work="${FUZZ_WORK:-}"
if [[ -z "$work" ]]; then  # a temporary folder, removed at the end unless it holds a finding
  work="$(mktemp -d)"
  trap '[[ $failed == 1 ]] || rm -rf "$work"' EXIT
fi
failed=0
targets=("$@")
if [[ ${#targets[@]} -eq 0 ]]; then
  for t in "$dir"/fuzz_*; do [[ -x "$t" ]] && targets+=("$(basename "$t")"); done
fi
[[ ${#targets[@]} -gt 0 ]] || { echo "no fuzz targets in $dir (build them: see fuzz/CMakeLists.txt)" >&2; exit 2; }
for target in "${targets[@]}"; do
  mkdir -p "$work/$target/corpus" "$work/$target/findings"
  log="$work/$target/log"
  # -rss_limit_mb: a reader must not need more than 2 GB on any input; -timeout: nor 10 s.
  if ASAN_OPTIONS=detect_leaks=1 LSAN_OPTIONS="suppressions=$suppressions" TMPDIR="$work/$target" "$dir/$target" "$work/$target/corpus" "$seeds/$target" \
       -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 \
       -artifact_prefix="$work/$target/findings/" >"$log" 2>&1; then
    verdict="no finding"
  else
    verdict="FINDING (see $log and $work/$target/findings/)"
    failed=1
  fi
  runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo "?")
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | grep -o '[0-9]*' || echo "?")
  corpus=$(ls "$work/$target/corpus" | wc -l)
  printf '%-18s %10s executions  cov %6s  corpus %5s  %s\n' "$target" "$runs" "$cov" "$corpus" "$verdict"
  if [[ "$verdict" != "no finding" ]]; then  # what was found, in the output itself (CI keeps no files)
    grep -E '^(finding:|==[0-9]+== ?ERROR|SUMMARY:|    #[0-9]+ .*bnrecal)' "$log" | head -20 | sed 's/^/  /'
    for f in "$work/$target/findings"/*; do
      [[ -f "$f" ]] && echo "  input (base64): $(head -c 4096 "$f" | base64 -w0)"
    done
  fi
done
exit $failed
