#!/usr/bin/env bash
# Checks that every C++ file follows .clang-format (clang-format 14, as
# Debian 12 ships it); scripts/test.sh runs it first. Prints the files that
# differ and how to fix them; exits 1 if any does.
#   scripts/check-format.sh          check
#   scripts/check-format.sh --fix    rewrite the files in place
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
command -v clang-format >/dev/null || {
  echo "check-format: clang-format not found (Debian 12: apt-get install clang-format)" >&2
  exit 1
}
# Generated files keep their generator's layout.
generated='^trainer/eval/unicode_case_data\.cc$'
mapfile -t files < <(git ls-files '*.cc' '*.h' | grep -v -E "$generated")
if [ "${1:-}" = --fix ]; then
  clang-format -i "${files[@]}"
  exit 0
fi
bad=()
for f in "${files[@]}"; do
  if ! clang-format --dry-run -Werror "$f" >/dev/null 2>&1; then bad+=("$f"); fi
done
if [ ${#bad[@]} -gt 0 ]; then
  echo "check-format: ${#bad[@]} file(s) differ from .clang-format:" >&2
  printf '  %s\n' "${bad[@]}" >&2
  echo "check-format: fix with scripts/check-format.sh --fix (or git clang-format before committing)" >&2
  exit 1
fi
echo "check-format: ${#files[@]} files follow .clang-format"
