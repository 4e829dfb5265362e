#!/usr/bin/env bash
# Packs the MemNotebook NuGet package (the #!memprofile extension, Recorder and the tracer) into
# artifacts/packages, with a version of its own each time (the NuGet cache keys on the version), and
# removes the older ones there. Needs a Release build of the solution first.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p artifacts/packages
rm -f artifacts/packages/MemNotebook.*.nupkg
version="0.1.0-local.$(date -u +%Y%m%d%H%M%S)"
dotnet pack src/Kernel.Extension -c Release --no-build -nologo -v q -o artifacts/packages -p:Version="$version" >/dev/null
echo "artifacts/packages/MemNotebook.$version.nupkg"
