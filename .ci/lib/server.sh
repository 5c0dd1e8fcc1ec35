# Starting a throwaway Parley for the checks in .ci/. Source this file, then:
#   start_parley BINARY WORK_DIR [NAME=VALUE ...]
# starts BINARY on a free loopback port with a SQLite database in WORK_DIR
# (extra environment as given), waits for /healthz, and sets `base`
# (http://127.0.0.1:PORT), `server_pid` and `log` (WORK_DIR/server.log).
# It exits with the end of the log if the server never answers.

start_parley() {
    local binary=$1 work_dir=$2
    shift 2
    local port
    port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
    base="http://127.0.0.1:$port"
    log="$work_dir/server.log"
    (
        cd "$work_dir"
        exec env \
            DATABASE_URL="sqlite://$work_dir/parley.db" \
            PARLEY_LISTEN="127.0.0.1:$port" \
            "$@" \
            "$binary" serve
    ) >"$log" 2>&1 &
    server_pid=$!
    local _
    for _ in $(seq 1 120); do
        kill -0 "$server_pid" 2>/dev/null || break
        if curl -fsS -o /dev/null --max-time 2 "$base/healthz" 2>/dev/null; then
            return 0
        fi
        sleep 0.5
    done
    echo "parley did not answer $base/healthz; the end of its log:" >&2
    tail -n 40 "$log" >&2 || true
    exit 1
}
