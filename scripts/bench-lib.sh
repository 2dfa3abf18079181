# Shared helpers for scripts/bench-* (sourced, not run). Loopback only, bounded waits.

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BIN="$ROOT/target/release/cctoken"

build_release() {
  echo "building target/release/cctoken ..." >&2
  (cd "$ROOT" && cargo build --release -q -p cctoken-cli)
}

# apt_install PKG... — install Debian packages when missing (root only).
apt_install() {
  local missing=()
  for p in "$@"; do command -v "$p" >/dev/null 2>&1 || missing+=("$p"); done
  [[ ${#missing[@]} -eq 0 ]] && return 0
  if [[ $(id -u) -ne 0 ]]; then
    echo "missing: ${missing[*]} (install them from Debian: apt-get install ${missing[*]})" >&2
    return 1
  fi
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}") >&2
}

# start_emulator DIR ARGS... — starts `cctoken emulator ARGS`, sets EMU_PID and EMU_URL.
start_emulator() {
  local dir=$1; shift
  "$BIN" emulator "$@" >"$dir/emu.out" 2>"$dir/emu.err" &
  EMU_PID=$!
  for _ in $(seq 100); do
    EMU_URL=$(head -n1 "$dir/emu.out" 2>/dev/null || true)
    [[ -n "$EMU_URL" ]] && return 0
    sleep 0.05
  done
  echo "emulator did not start: $(cat "$dir/emu.err")" >&2
  return 1
}

# stat NAME — one counter of /_emulator/stats.
emu_stat() {
  curl -sS --max-time 5 "$EMU_URL/_emulator/stats" |
    python3 -c "import json,sys; print(json.load(sys.stdin)['$1'])"
}

# now_ns — monotonic-enough wall clock in nanoseconds.
now_ns() { date +%s%N; }
