#!/usr/bin/env bash
# Sets up, builds, profiles the sample program with `memnb run` and writes its report:
#   out/sample.memnb        the capture
#   out/sample-stats.txt    the readable summary (also printed)
#   out/sample-stats.json   the same numbers as JSON
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
dotnet build MemNotebook.sln -c Release -nologo -v q
mkdir -p out
memnb() { dotnet src/Cli/bin/Release/net10.0/memnb.dll "$@"; }
memnb run --force -o out/sample.memnb -- dotnet samples/AllocationTour/bin/Release/net10.0/AllocationTour.dll
memnb stats --top 15 out/sample.memnb | tee out/sample-stats.txt
memnb stats --json out/sample.memnb > out/sample-stats.json
echo "report: out/sample-stats.txt, out/sample-stats.json (capture: out/sample.memnb)"
