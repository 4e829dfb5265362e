#!/usr/bin/env bash
# Runs every test: the native tests (plain, under AddressSanitizer + UBSan, and under
# ThreadSanitizer), the managed tests (which start traced child processes), the in-process
# kernel tests and the notebooks executed by Jupyter. Prints one closing line.
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh || exit 1

log=$(mktemp -d)
if ! (cd tests/interop-js && npm ci --no-audit --no-fund --loglevel=error) >"$log/npm.txt" 2>&1; then
  cat "$log/npm.txt"; echo "npm ci in tests/interop-js failed"; exit 1
fi
# playwright-core only (it downloads no browser); the test drives /usr/bin/chromium.
if ! (cd tests/browser && npm ci --no-audit --no-fund --loglevel=error) >"$log/npm-browser.txt" 2>&1; then
  cat "$log/npm-browser.txt"; echo "npm ci in tests/browser failed"; exit 1
fi
if ! dotnet build MemNotebook.sln -c Release -nologo -v q >"$log/build.txt" 2>&1; then
  cat "$log/build.txt"; echo "build failed"; exit 1
fi
# The package the notebook tests load into real Jupyter kernels (tests/Kernel.Tests/NotebookTests.cs).
if ! bash scripts/pack.sh >"$log/pack.txt" 2>&1; then
  cat "$log/pack.txt"; echo "pack failed"; exit 1
fi

status=0
echo "== native tests"
ctest --test-dir artifacts/native-build/Release --output-on-failure -j 2 | tee "$log/native.txt" || status=1

echo "== native tests under AddressSanitizer + UndefinedBehaviorSanitizer"
cmake -S native -B artifacts/native-asan -DCMAKE_BUILD_TYPE=Debug -DMEMNB_SANITIZE=address,undefined >/dev/null &&
  cmake --build artifacts/native-asan -j 2 >"$log/asan-build.txt" 2>&1 || { cat "$log/asan-build.txt"; status=1; }
ASAN_OPTIONS=detect_leaks=1 ctest --test-dir artifacts/native-asan --output-on-failure -j 2 | tee "$log/asan.txt" || status=1

echo "== native tests under ThreadSanitizer"
cmake -S native -B artifacts/native-tsan -DCMAKE_BUILD_TYPE=Debug -DMEMNB_SANITIZE=thread >/dev/null &&
  cmake --build artifacts/native-tsan -j 2 >"$log/tsan-build.txt" 2>&1 || { cat "$log/tsan-build.txt"; status=1; }
ctest --test-dir artifacts/native-tsan --output-on-failure -j 2 | tee "$log/tsan.txt" || status=1

echo "== managed tests"
dotnet test MemNotebook.sln -c Release --no-build -nologo 2>&1 | tee "$log/managed.txt"
[ "${PIPESTATUS[0]}" -eq 0 ] || status=1

count() { grep -Eo "$1" "$2" | grep -Eo '[0-9]+' | awk '{s+=$1} END {print s+0}'; }
native_total=$(count 'out of [0-9]+' "$log/native.txt")
native_failed=$(count '[0-9]+ tests failed' "$log/native.txt")
asan_total=$(count 'out of [0-9]+' "$log/asan.txt")
asan_failed=$(count '[0-9]+ tests failed' "$log/asan.txt")
tsan_total=$(count 'out of [0-9]+' "$log/tsan.txt")
tsan_failed=$(count '[0-9]+ tests failed' "$log/tsan.txt")
managed_passed=$(count 'Passed: +[0-9]+' "$log/managed.txt")
managed_failed=$(count 'Failed: +[0-9]+' "$log/managed.txt")
passed=$((native_total - native_failed + asan_total - asan_failed + tsan_total - tsan_failed + managed_passed))
failed=$((native_failed + asan_failed + tsan_failed + managed_failed))
if ((passed == 0)); then status=1; fi
((failed > 0)) && status=1
echo
echo "tests: $passed passed, $failed failed"
exit $status
