#!/usr/bin/env bash
# Runs every Go fuzz target in the module for a while each.
# Usage: scripts/fuzz.sh [fuzztime]   (default 5s; `make fuzz` uses 60s)
set -euo pipefail
cd "$(dirname "$0")/.."
t=${1:-5s}
grep -rl --include='*_test.go' '^func Fuzz' . | sort | while read -r f; do
	pkg=./$(dirname "${f#./}")
	for name in $(grep -o '^func Fuzz[A-Za-z0-9_]*' "$f" | cut -d' ' -f2); do
		echo "fuzz $pkg $name ($t)"
		# A short minimisation: the default (60 s) can outlast -fuzztime
		# on large corpus entries and end the run as "context deadline
		# exceeded" without any finding.
		# Minimising a new input of a slow target (an SQLite import) can
		# still run past the end and fail as "context deadline exceeded"
		# with no input to show for it: that is the engine's clock, not a
		# finding, so such a run is tried once more. A real failure
		# writes its input under testdata/fuzz and fails at once.
		for try in 1 2; do
			if go test -run='^$' -fuzz="^${name}\$" -fuzztime="$t" -fuzzminimizetime="${FUZZ_MINIMIZE:-1s}" "$pkg" >/tmp/argus-fuzz.log 2>&1; then
				break
			fi
			if [ "$try" = 1 ] && grep -q 'context deadline exceeded' /tmp/argus-fuzz.log && ! grep -q 'Failing input written' /tmp/argus-fuzz.log; then
				echo "fuzz $pkg $name: the engine ran out of time minimising (no failing input); once more"
				continue
			fi
			cat /tmp/argus-fuzz.log
			exit 1
		done
	done
done
