#!/bin/sh
# Bounded libFuzzer run: new inputs go to a scratch dir in the build tree,
# the committed seed corpus is only read.
set -eu
exe=$1; seeds=$2; secs=${IOMMUCTL_FUZZ_SECONDS:-60}
work="$(dirname "$exe")/corpus-$(basename "$exe")"
mkdir -p "$work"
[ -d "$seeds" ] || mkdir -p "$work/seeds" && seeds=${seeds}
exec "$exe" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 "$work" $( [ -d "$seeds" ] && echo "$seeds" )
