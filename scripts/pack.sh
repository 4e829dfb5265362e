#!/usr/bin/env bash
# Packs the NuGet packages into artifacts/packages (or the folder given), with a version of their own each time (the
# NuGet cache keys on the version): the version of Directory.Build.props with a local suffix. Removes the older
# packages there.
#   MemNotebook          the #!memprofile extension, Recorder and the tracer
#   MemNotebook.Testing  memory limits for unit tests: the neutral API, the xunit attributes, Recorder and the tracer
# Needs a Release build of the solution first. Prints the path of each package.
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
dotnet pack src/Testing -c Release --no-build -nologo -v q -o "$out" -p:Version="$version" >/dev/null
echo "$out/MemNotebook.$version.nupkg"
echo "$out/MemNotebook.Testing.$version.nupkg"
