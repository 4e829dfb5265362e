#!/usr/bin/env bash
# Packs the MemNotebook NuGet package (the #!memprofile extension, Recorder and the tracer) into
# artifacts/packages (or the folder given), with a version of its own each time (the NuGet cache keys on the
# version): the version of Directory.Build.props with a local suffix. Removes the older packages there.
# Needs a Release build of the solution first.
#   scripts/pack.sh [OUTPUT_FOLDER]
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-artifacts/packages}"
base="$(sed -n 's:.*<Version>\(.*\)</Version>.*:\1:p' Directory.Build.props)"
[ -n "$base" ] || { echo "pack.sh: no <Version> in Directory.Build.props" >&2; exit 1; }
mkdir -p "$out"
rm -f "$out"/MemNotebook.*.nupkg
version="$base-local.$(date -u +%Y%m%d%H%M%S)"
dotnet pack src/Kernel.Extension -c Release --no-build -nologo -v q -o "$out" -p:Version="$version" >/dev/null
echo "$out/MemNotebook.$version.nupkg"
