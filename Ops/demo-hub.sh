# Ops/demo-hub.sh — sourced by Ops/api-fuzz, Ops/dashboard-test and Ops/bench/api-export (they set
# $repo): a demo hub in a temporary folder, served on a free loopback port.

# demo_hub_config WORK: WORK/Config (the repository's sources and reference data, Ops for the demo
# feeds, a copy of hub.yaml to change) and WORK/data (mode 0700).
demo_hub_config() {
  local work=$1
  mkdir -p "$work/Config" "$work/data"
  chmod 700 "$work/data"
  ln -s "$repo/Config/sources" "$work/Config/sources"
  ln -s "$repo/Config/reference" "$work/Config/reference"
  ln -s "$repo/Ops" "$work/Ops"
  cp "$repo/Config/hub.yaml" "$work/Config/hub.yaml"
}

# demo_hub_serve BIN WORK: starts `serve` on 127.0.0.1 and a free port, without the scheduler;
# sets hub_pid and port, and returns once /healthz answers (exits when the hub does not start).
demo_hub_serve() {
  local bin=$1 work=$2
  port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
  "$bin" serve --config "$work/Config" --data-dir "$work/data" --host 127.0.0.1 --port "$port" --no-schedule --log-level error \
    >"$work/hub.log" 2>&1 &
  hub_pid=$!
  for _ in $(seq 1 100); do
    curl -fs "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && return 0
    kill -0 "$hub_pid" 2>/dev/null || { echo "the hub did not start:" >&2; cat "$work/hub.log" >&2; exit 1; }
    sleep 0.1
  done
  echo "the hub did not answer /healthz within 10 s" >&2
  exit 1
}
