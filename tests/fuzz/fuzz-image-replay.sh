#!/usr/bin/env bash
# fuzz-image-replay.sh REPLAY_BIN TARGET CORPUS: runs an image fuzz target over
# its committed corpus and, for the DM and loader targets, over the real
# instrument files in ../shared when they are there.
set -euo pipefail
bin="$1"; target="$2"; corpus="$3"
inputs=("$corpus")
shared="${MVAEMA_SHARED_DIR:-}/micrographs/instrument-files"
if [ -n "${MVAEMA_SHARED_DIR:-}" ] && [ -d "$shared" ]; then
  case "$target" in
    dm) for f in "$shared"/*.dm3 "$shared"/*.dm4; do [ -e "$f" ] && inputs+=("$f"); done ;;
    load) for f in "$shared"/*; do [ -f "$f" ] && inputs+=("$f"); done ;;
  esac
fi
exec "$bin" "${inputs[@]}"
