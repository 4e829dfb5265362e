#!/usr/bin/env bash
# Sets up, builds, profiles the sample program with `memnb run` and writes its report:
#   out/sample.memnb        the capture
#   out/sample-stats.txt    the readable summary (also printed)
#   out/sample-stats.json   the same numbers as JSON
#   out/sample-flamegraph.html  what was alive at the peak, as an interactive flame graph
#   out/sample-summary.html     functions by bytes alive at the peak
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
dotnet build MemNotebook.sln -c Release -nologo -v q
mkdir -p out
memnb() { dotnet src/Cli/bin/Release/net10.0/memnb.dll "$@"; }
memnb run --force -o out/sample.memnb -- dotnet samples/AllocationTour/bin/Release/net10.0/AllocationTour.dll
memnb stats --top 15 out/sample.memnb | tee out/sample-stats.txt
memnb stats --json out/sample.memnb > out/sample-stats.json
memnb flamegraph out/sample.memnb -o out/sample-flamegraph.html
memnb summary out/sample.memnb -o out/sample-summary.html
echo "report: out/sample-stats.txt, out/sample-stats.json, out/sample-flamegraph.html, out/sample-summary.html (capture: out/sample.memnb)"
