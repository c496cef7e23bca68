#!/bin/sh
# Bounded libFuzzer run: new inputs go to a scratch dir in the build tree,
# the committed seed corpus is only read.  The seed is fixed (override with
# IOMMUCTL_FUZZ_SEED) so that CI walks the same input sequence as a longer
# run on a developer's machine: a slower machine covers a prefix of it, and
# a finding reproduces.  Explore with other seeds; commit what they find to
# the corpus.
set -eu
exe=$1; seeds=$2; secs=${IOMMUCTL_FUZZ_SECONDS:-60}; seed=${IOMMUCTL_FUZZ_SEED:-1}
name=$(basename "$exe")
work="$(dirname "$exe")/corpus-$name"
artifacts="$(dirname "$exe")/artifacts-$name"
rm -rf "$work" "$artifacts"
mkdir -p "$work" "$artifacts"
rc=0
# -error_exitcode: libFuzzer's default, 77, is what meson reads as "skipped",
# which once turned a crash into a skip
"$exe" -seed="$seed" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -error_exitcode=1 \
  -print_final_stats=1 -artifact_prefix="$artifacts/" "$work" $( [ -d "$seeds" ] && echo "$seeds" ) || rc=$?
# A CI log keeps only its tail: end it with the input that failed.
for f in "$artifacts"/*; do
  [ -f "$f" ] || continue
  echo "=== $name failed on $f (seed $seed); its bytes (cat -v):"
  cat -v "$f" | head -c 6000; echo
done
exit $rc
