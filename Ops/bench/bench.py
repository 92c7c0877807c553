#!/usr/bin/env python3
"""The benchmark of issue 8: WaterHub side by side with the tools people would use instead.

Started by Ops/bench/run (which installs the tools, builds WaterHub and runs this with the
virtualenv's Python). Settings come from the environment; see Ops/bench/README.md.

Everything it starts is a child process it tracks by PID and stops on exit (also on Ctrl-C and
SIGTERM); every loop is bounded in count and time; every server listens on 127.0.0.1 only.
"""
import atexit
import datetime
import http.client
import json
import os
import re
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BENCH = ROOT / "Ops" / "bench"
BUILD = BENCH / ".build"
WATERHUB = Path(os.environ.get("WATERHUB_BIN", ""))    # set by Ops/bench/run: the binary Ops/build-release built
VENV_BIN = Path(sys.executable).parent


def env_int(name, default):
    text = os.environ.get(name, "").strip().replace("_", "")
    return int(text) if text else default


ROWS = env_int("BENCH_ROWS", 1_000_000)
SEED = env_int("BENCH_SEED", 8)
RUNS = max(1, env_int("BENCH_RUNS", 3))
DURATION = max(1, env_int("BENCH_DURATION", 15))
WARMUP = max(0, env_int("BENCH_WARMUP", 2))
PARTS = set((os.environ.get("BENCH_PARTS") or "ingest,footprint,pull").replace(" ", "").split(","))
WORK = Path(os.environ.get("BENCH_WORK") or BUILD / "work").resolve()
RESULTS = Path(os.environ.get("BENCH_RESULTS") or BENCH / "RESULTS.md").resolve()
INGEST_TIMEOUT = env_int("BENCH_INGEST_TIMEOUT", 3600)   # seconds, per ingest run
EXPORT_TOWN = "11002"                                    # Antwerpen: every tenth row of the feed

CONFIG = WORK / "config"
LOGS = WORK / "logs"
MAP = CONFIG / "postcode_nis.csv"

# ---------------------------------------------------------------------------------------------
# Child processes: tracked by PID, each in its own process group, stopped on exit.

children = []


def stop(p, grace=10.0):
    if p.poll() is not None:
        return
    try:
        os.killpg(p.pid, signal.SIGTERM)     # the group this script created for p, by its PID
    except ProcessLookupError:
        return
    try:
        p.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        p.wait(timeout=grace)


def stop_all():
    for p in reversed(children):
        stop(p)


def on_signal(number, _frame):
    stop_all()
    sys.exit(128 + number)


atexit.register(stop_all)
signal.signal(signal.SIGTERM, on_signal)
signal.signal(signal.SIGINT, on_signal)
signal.signal(signal.SIGHUP, on_signal)


def spawn(cmd, log_name, env=None, cwd=None):
    log = open(LOGS / log_name, "ab")
    p = subprocess.Popen([str(c) for c in cmd], stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                         start_new_session=True, env=env, cwd=cwd)
    log.close()
    children.append(p)
    return p


def wait_bounded(p, timeout):
    try:
        return p.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        stop(p, grace=2)
        raise SystemExit(f"timed out after {timeout} s: {p.args}")


def say(text=""):
    print(text, flush=True)


def tail(path, lines=20):
    try:
        return "\n".join(Path(path).read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def capture(cmd, **kw):
    try:
        return subprocess.run([str(c) for c in cmd], capture_output=True, text=True, timeout=120, **kw).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        return ""


# ---------------------------------------------------------------------------------------------
# The feed and the configuration.

def feed_path():
    import hashlib
    version = hashlib.sha256((BENCH / "generate_feed.py").read_bytes()).hexdigest()[:10]
    return BUILD / "feeds" / f"seed{SEED}-rows{ROWS}-{version}"


def feed_files(feed):
    return sorted(feed.glob("benchwater-*.csv"))


def prepare_feed():
    """The feed folder (cached per seed, size and generator version) and the configuration."""
    feed = feed_path()
    if (feed / ".complete").exists():
        say(f"Feed: {feed.relative_to(ROOT)} (cached)")
    else:
        feed.parent.mkdir(parents=True, exist_ok=True)
        for old in feed.parent.iterdir():
            if old.name.split("-")[-1] != feed.name.split("-")[-1]:
                shutil.rmtree(old) if old.is_dir() else old.unlink()   # written by an older generator
        if feed.exists():
            shutil.rmtree(feed)
        say(f"Feed: generating {ROWS:,} rows (seed {SEED}) into {feed.relative_to(ROOT)} ...")
        started = time.monotonic()
        subprocess.run([sys.executable, BENCH / "generate_feed.py", "feed", "--rows", str(ROWS), "--seed", str(SEED),
                        "--reference", ROOT / "Config" / "reference", "--out", feed], check=True, timeout=3600)
        (feed / ".complete").write_text("")
        say(f"      done in {time.monotonic() - started:.1f} s")
    if CONFIG.exists():
        shutil.rmtree(CONFIG)
    subprocess.run([sys.executable, BENCH / "generate_feed.py", "config", "--reference", ROOT / "Config" / "reference",
                    "--feed", feed, "--out", CONFIG], check=True, timeout=120)
    # wrk asks as one token thousands of times a second: the per-token rate limit (600 a minute by
    # default) would answer most of it with a cheap 429. Authentication and the audit log stay on.
    with open(CONFIG / "hub.yaml", "a") as hub:
        hub.write("api: {requests_per_minute: 1000000}\n")
    return feed


# ---------------------------------------------------------------------------------------------
# Ingest.

def parse_time_v(path):
    """(peak RSS in KiB, user + system CPU seconds) from /usr/bin/time -v's report."""
    text = Path(path).read_text(errors="replace")
    rss = re.search(r"Maximum resident set size \(kbytes\): (\d+)", text)
    user = re.search(r"User time \(seconds\): ([\d.]+)", text)
    system = re.search(r"System time \(seconds\): ([\d.]+)", text)
    cpu = (float(user.group(1)) if user else 0.0) + (float(system.group(1)) if system else 0.0)
    return (int(rss.group(1)) if rss else 0), cpu


def timed(cmd, name, cwd=None):
    """Runs cmd under /usr/bin/time -v; returns (wall seconds, peak RSS in KiB, CPU seconds)."""
    time_file = WORK / "time-v.txt"
    log = f"{name}.log"
    with open(LOGS / log, "ab") as f:
        f.write(f"\n=== {datetime.datetime.now().isoformat(timespec='seconds')} {' '.join(map(str, cmd))}\n".encode())
    started = time.monotonic()
    p = spawn(["/usr/bin/time", "-v", "-o", time_file] + list(cmd), log, cwd=cwd)
    status = wait_bounded(p, INGEST_TIMEOUT)
    seconds = time.monotonic() - started
    if status != 0:
        raise SystemExit(f"{name} failed (exit {status}); its log ({LOGS / log}):\n{tail(LOGS / log)}")
    rss, cpu = parse_time_v(time_file)
    return seconds, rss, cpu


def count_rows(directory, pattern, table="event"):
    """(files, total rows, rows per file stem) of the SQLite files matching pattern."""
    per_file = {}
    for path in sorted(Path(directory).glob(pattern)):
        if path.name == "hub.sqlite" or path.name == "statistics.sqlite":
            continue  # the hub's ledger and the cell's statistics store, not a town
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            per_file[path.name.split(".")[0]] = db.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
        finally:
            db.close()
    return len(per_file), sum(per_file.values()), per_file


class System:
    def __init__(self, key, label, how):
        self.key, self.label, self.how = key, label, how
        self.seconds, self.rss_kib, self.cpu = [], [], []
        self.statistics_seconds, self.statistics_rss_kib = [], []
        self.files = self.rows = None
        self.note = ""

    @property
    def out(self):
        return WORK / "ingest" / self.key

    def fresh(self):
        if self.out.exists():
            shutil.rmtree(self.out)
        self.out.mkdir(parents=True)


def waterhub_ingest(system, feed):
    system.fresh()
    for sub in ("Tenants", "Archive"):
        (system.out / sub).mkdir(mode=0o700)
        os.chmod(system.out / sub, 0o700)
    return [WATERHUB, "fetch", "--config", CONFIG, "--data-dir", system.out]


def peer_a_ingest(system, feed):
    system.fresh()
    return ["bash", BENCH / "peer_sqlite_split.sh", MAP, system.out] + feed_files(feed)


def peer_b_ingest(system, feed):
    system.fresh()
    return [VENV_BIN / "python", BENCH / "peer_sqlite_utils.py", MAP, system.out] + feed_files(feed)


def limit_ingest(system, feed):
    system.fresh()
    return ["bash", BENCH / "limit_sqlite_single.sh", system.out] + feed_files(feed)


SYSTEMS = [
    System("waterhub", "WaterHub", waterhub_ingest),
    System("peer_a", "peer A: sqlite3 CLI, awk split + .import", peer_a_ingest),
    System("peer_b", "peer B: sqlite-utils insert_all", peer_b_ingest),
    System("limit", "limit: sqlite3 CLI, one file", limit_ingest),
]


def run_ingest(feed):
    say(f"\nIngest: {RUNS} run(s) of each, from empty, interleaved")
    for run in range(RUNS):
        order = SYSTEMS[run % len(SYSTEMS):] + SYSTEMS[:run % len(SYSTEMS)]
        for system in order:
            cmd = system.how(system, feed)
            subprocess.run(["sync"], timeout=600)          # the previous run's writes, untimed
            seconds, rss, cpu = timed(cmd, f"ingest-{system.key}")
            system.seconds.append(seconds)
            system.rss_kib.append(rss)
            system.cpu.append(cpu)
            (system.out / ".feed").write_text(feed.name)
            say(f"  run {run + 1}/{RUNS}  {system.label:42s} {seconds:8.2f} s  CPU {cpu:7.2f} s  peak RSS {mb(rss):7.1f} MB")
            if system.key == "waterhub":
                # Not part of the ingest: `waterhub serve` rebuilds the regional statistics when a
                # batch is newer than them. Built here, timed apart, so that the pull and footprint
                # runs find them current (serve would otherwise rebuild them while being measured).
                stats_seconds, stats_rss, _ = timed([WATERHUB, "stats", "rebuild", "--config", CONFIG, "--data-dir", system.out],
                                                    "stats-rebuild-waterhub")
                system.statistics_seconds.append(stats_seconds)
                system.statistics_rss_kib.append(stats_rss)
                say(f"           {'(then waterhub stats rebuild, not ingest)':42s} {stats_seconds:8.2f} s  peak RSS {mb(stats_rss):7.1f} MB")
    for system in SYSTEMS:
        if system.key == "waterhub":
            system.files, system.rows, _ = count_rows(system.out / "Tenants", "*.sqlite")
            system.note = waterhub_summary(system.out)
        elif system.key == "limit":
            system.files, system.rows, _ = count_rows(system.out, "*.sqlite")
        else:
            system.files, system.rows, _ = count_rows(system.out, "*.sqlite")


def waterhub_summary(data_dir):
    """The batches' counts from the ledger: rows in, routed, outside the region, quarantined."""
    ledger = data_dir / "Tenants" / "hub.sqlite"
    try:
        db = sqlite3.connect(f"file:{ledger}?mode=ro", uri=True)
        rows = db.execute("SELECT count(*), sum(rows_in), sum(routed), sum(outside_region), sum(quarantined), "
                          "group_concat(status) FROM batch").fetchone()
        versions = 0
        db.close()
        batches, rows_in, routed, outside, quarantined, statuses = rows
        return (f"its ledger: {batches} batch(es) ({statuses}), {rows_in or 0:,} rows in = {routed or 0:,} routed + "
                f"{outside or 0:,} outside the region + {quarantined or 0:,} quarantined")
    except sqlite3.Error as error:
        return f"(ledger not readable: {error})"


def ensure_waterhub_data(feed):
    """The pull and footprint parts need WaterHub's town files; ingest once when missing."""
    system = SYSTEMS[0]
    marker = system.out / ".feed"
    if not (system.out / "Tenants" / "hub.sqlite").exists() or not marker.exists() or marker.read_text() != feed.name:
        say("\n(Ingesting once with WaterHub for the serving parts; not timed)")
        timed(waterhub_ingest(system, feed), "ingest-waterhub")  # (seconds, RSS, CPU) unused
        marker.write_text(feed.name)
    return system.out


# ---------------------------------------------------------------------------------------------
# Serving helpers.

def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_get(port, path, token=None, timeout=10):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        conn.request("GET", path, headers=headers)
        response = conn.getresponse()
        return response.status, response.getheader("Content-Type") or "", response.read()
    finally:
        conn.close()


def proc_status_kib(pid, field):
    """A memory figure of /proc/PID/status in KiB (VmRSS, VmHWM); 0 when the process is gone."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def rss_kib(pid):
    return proc_status_kib(pid, "VmRSS")


def hwm_kib(pid):
    return proc_status_kib(pid, "VmHWM")


def issue_token(data_dir, nis):
    out = subprocess.run([WATERHUB, "token", "issue", "--tenant", nis, "--label", "bench", "--quiet",
                          "--config", CONFIG, "--data-dir", data_dir], capture_output=True, text=True, timeout=120)
    if out.returncode != 0:
        raise SystemExit(f"waterhub token issue failed: {out.stderr}")
    return out.stdout.strip().splitlines()[-1]


def start_waterhub(data_dir, token, nis, log="serve.log"):
    """Starts `waterhub serve`; returns (process, port, seconds until the first answered request)."""
    port = free_port()
    started = time.monotonic()
    p = spawn([WATERHUB, "serve", "--config", CONFIG, "--data-dir", data_dir, "--host", "127.0.0.1",
               "--port", str(port), "--no-schedule"], log)
    deadline = started + 60
    while time.monotonic() < deadline:
        if p.poll() is not None:
            raise SystemExit(f"waterhub serve exited ({p.returncode}):\n{tail(LOGS / log)}")
        try:
            status, _, _ = http_get(port, f"/v1/tenants/{nis}/events?limit=1", token, timeout=5)
            if status == 200:
                return p, port, time.monotonic() - started
            raise SystemExit(f"waterhub serve answered {status} to the first request")
        except (ConnectionRefusedError, ConnectionResetError, http.client.RemoteDisconnected):
            time.sleep(0.002)
    stop(p)
    raise SystemExit("waterhub serve did not answer within 60 s")


def export_town(port, token, nis, pid):
    """Streams the town's full export; returns a dict with RSS before, peak, rows, bytes, how."""
    peak = [rss_kib(pid)]
    before = peak[0]
    done = threading.Event()

    def sample():
        while not done.is_set():
            value = rss_kib(pid)
            if value > peak[0]:
                peak[0] = value
            done.wait(0.005)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    started = time.monotonic()
    total_bytes = rows = 0
    how = ""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    try:
        conn.request("GET", f"/v1/tenants/{nis}/events?format=csv", headers={"Authorization": f"Bearer {token}"})
        response = conn.getresponse()
        kind = response.getheader("Content-Type") or ""
        if response.status == 200 and kind.startswith("text/csv"):
            how = "one CSV export (format=csv)"
            while True:
                chunk = response.read(1 << 16)
                if not chunk:
                    break
                total_bytes += len(chunk)
                rows += chunk.count(b"\n")
            rows -= 1                                          # the header line
        else:
            response.read()
    finally:
        conn.close()
    if not how:
        # This tree has no CSV export: page through the JSON API instead (1000 events a page).
        how = "JSON pages of 1000 (format=csv not in this tree)"
        path = f"/v1/tenants/{nis}/events?limit=1000"
        for _ in range(100_000):
            status, _, body = http_get(port, path, token, timeout=120)
            if status != 200:
                raise SystemExit(f"export page answered {status}")
            total_bytes += len(body)
            page = json.loads(body)
            if not page["events"]:
                break
            rows += len(page["events"])
            path = f"/v1/tenants/{nis}/events?limit=1000&after={page['next']}"
    seconds = time.monotonic() - started
    done.set()
    sampler.join(timeout=5)
    after = rss_kib(pid)
    return {"before": before, "peak": max(peak[0], after), "after": after, "rows": rows, "bytes": total_bytes,
            "seconds": seconds, "how": how}


def run_footprint(data_dir, token, nis, town_events):
    say(f"\nFootprint: {RUNS} start(s) of `waterhub serve` with 285 town files; export of town {nis} ({town_events:,} events)")
    starts, idles, exports = [], [], []
    for run in range(RUNS):
        p, port, seconds = start_waterhub(data_dir, token, nis, "serve-footprint.log")
        time.sleep(2.0)
        idle = rss_kib(p.pid)
        export = export_town(port, token, nis, p.pid)
        stop(p)
        starts.append(seconds)
        idles.append(idle)
        exports.append(export)
        say(f"  run {run + 1}/{RUNS}  start {seconds * 1000:7.1f} ms  idle RSS {mb(idle):6.1f} MB  export: "
            f"{export['rows']:,} rows, {export['bytes'] / 1e6:.1f} MB in {export['seconds']:.2f} s, RSS "
            f"{mb(export['before']):.1f} → peak {mb(export['peak']):.1f} MB ({export['how']})")
    return {"starts": starts, "idles": idles, "exports": exports}


# ---------------------------------------------------------------------------------------------
# Pull.

def datasette_copy(town_file):
    target = WORK / "datasette" / "town.db"
    if target.parent.exists():
        shutil.rmtree(target.parent)
    target.parent.mkdir(parents=True)
    db = sqlite3.connect(f"file:{town_file}?mode=ro", uri=True)
    db.execute("VACUUM INTO ?", (str(target),))
    db.close()
    db = sqlite3.connect(target)
    # The cursor column: seq is the event table's INTEGER PRIMARY KEY (the rowid), already the
    # table's own index; the statement below is a no-op kept for the record.
    db.execute("CREATE INDEX IF NOT EXISTS event_by_seq ON event(seq)")
    db.commit()
    db.close()
    return target


def start_datasette(db_file):
    port = free_port()
    p = spawn([VENV_BIN / "datasette", "serve", db_file, "--host", "127.0.0.1", "--port", str(port)], "datasette.log")
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if p.poll() is not None:
            raise SystemExit(f"datasette exited ({p.returncode}):\n{tail(LOGS / 'datasette.log')}")
        try:
            status, _, _ = http_get(port, "/town/event.json?_size=1&_nosuggest=1", timeout=10)
            if status == 200:
                return p, port
        except (ConnectionRefusedError, ConnectionResetError, http.client.RemoteDisconnected):
            pass
        time.sleep(0.05)
    raise SystemExit("datasette did not answer within 120 s")


def wrk(url, connections, threads, seconds, bearer=None, log="wrk.log"):
    env = dict(os.environ)
    env.pop("WRK_BEARER", None)
    if bearer:
        env["WRK_BEARER"] = bearer
    out = subprocess.run(["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--timeout", "10s", "--latency",
                          "-s", BENCH / "wrk_report.lua", url], capture_output=True, text=True, env=env,
                         timeout=seconds + 60)
    with open(LOGS / log, "a") as f:
        f.write(f"\n=== {url} -c{connections}\n{out.stdout}{out.stderr}")
    line = next((l for l in out.stdout.splitlines() if l.startswith("BENCH ")), None)
    if out.returncode != 0 or line is None:
        raise SystemExit(f"wrk failed on {url}:\n{out.stdout}{out.stderr}")
    values = {}
    for item in line.split()[1:]:
        key, value = item.split("=")
        values[key] = float(value)
    values["errors"] = sum(values[k] for k in values if k.startswith("err_"))
    return values


def middle_cursor(port, token, nis, town_events):
    """Walks WaterHub's pages (1000 events each) to the middle; returns (its cursor, last seq before it)."""
    path = f"/v1/tenants/{nis}/events?limit=1000"
    seen, last_seq, cursor = 0, 0, None
    for _ in range(10_000):
        status, _, body = http_get(port, path, token, timeout=60)
        page = json.loads(body)
        if status != 200 or not page["events"]:
            break
        seen += len(page["events"])
        last_seq, cursor = page["events"][-1]["seq"], page["next"]
        if seen >= town_events // 2:
            return cursor, last_seq
        path = f"/v1/tenants/{nis}/events?limit=1000&after={cursor}"
    raise SystemExit("could not page to the middle of the town's events")


def run_pull(data_dir, token, nis, town_events, town_file):
    say(f"\nPull: town {nis} ({town_events:,} events), wrk {DURATION} s per figure, after {WARMUP} s of warm-up")
    db_file = datasette_copy(town_file)
    wh, wh_port, _ = start_waterhub(data_dir, token, nis, "serve-pull.log")
    ds, ds_port = start_datasette(db_file)
    cursor, mid_seq = middle_cursor(wh_port, token, nis, town_events)

    urls = {
        ("waterhub", "first"): f"http://127.0.0.1:{wh_port}/v1/tenants/{nis}/events?limit=100",
        ("waterhub", "middle"): f"http://127.0.0.1:{wh_port}/v1/tenants/{nis}/events?limit=100&after={cursor}",
        ("datasette", "first"): f"http://127.0.0.1:{ds_port}/town/event.json?_size=100&_nosuggest=1",
        ("datasette", "middle"): f"http://127.0.0.1:{ds_port}/town/event.json?_size=100&_nosuggest=1&_next={mid_seq}",
    }
    # Both answer the same 100 events for each page kind.
    for kind in ("first", "middle"):
        _, _, body = http_get(wh_port, urls[("waterhub", kind)].split(str(wh_port), 1)[1], token)
        wh_seqs = [e["seq"] for e in json.loads(body)["events"]]
        _, _, body = http_get(ds_port, urls[("datasette", kind)].split(str(ds_port), 1)[1])
        page = json.loads(body)
        seq_index = page["columns"].index("seq")
        ds_seqs = [row[seq_index] for row in page["rows"]]
        if wh_seqs != ds_seqs or len(wh_seqs) != 100:
            raise SystemExit(f"the {kind} pages differ: WaterHub {wh_seqs[:3]}…, Datasette {ds_seqs[:3]}…")

    results = {}
    for (server, kind), url in urls.items():
        if WARMUP:
            wrk(url, 32, 2, WARMUP, token if server == "waterhub" else None, "wrk-warmup.log")
    for kind in ("first", "middle"):
        for connections, threads in ((32, 2), (1, 1)):
            for server in ("waterhub", "datasette"):
                r = wrk(urls[(server, kind)], connections, threads, DURATION, token if server == "waterhub" else None)
                results[(server, kind, connections)] = r
                say(f"  {server:9s} {kind:6s} page, {connections:2d} conn: {r['rps']:9.1f} req/s  p50 {r['p50_ms']:8.2f} ms"
                    f"  p99 {r['p99_ms']:8.2f} ms  errors {int(r['errors'])}")
    serve_hwm = hwm_kib(wh.pid)
    serve_rss = rss_kib(wh.pid)
    stop(wh)
    stop(ds)
    return {"results": results, "serve_hwm": serve_hwm, "serve_rss": serve_rss, "mid_seq": mid_seq}


# ---------------------------------------------------------------------------------------------
# Facts and the report.

def fsync_ms(count=50):
    path = WORK / "fsync-probe"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        started = time.monotonic()
        for _ in range(count):
            os.write(fd, b"x" * 4096)
            os.fsync(fd)
        return (time.monotonic() - started) * 1000 / count
    finally:
        os.close(fd)
        path.unlink()


def machine_facts():
    cpu = ""
    try:
        cpu = next(l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name"))
    except (OSError, StopIteration):
        pass
    mem = next((int(l.split()[1]) for l in open("/proc/meminfo") if l.startswith("MemTotal:")), 0)
    commit = capture(["git", "-C", ROOT, "rev-parse", "--short=12", "HEAD"]) or "unknown"
    branch = capture(["git", "-C", ROOT, "rev-parse", "--abbrev-ref", "HEAD"])
    dirty = capture(["git", "-C", ROOT, "status", "--porcelain", "--untracked-files=no"])
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "commit": f"{commit}{' (uncommitted changes)' if dirty else ''}" + (f" on {branch}" if branch else ""),
        "cores": f"{os.cpu_count()} ({cpu})" if cpu else str(os.cpu_count()),
        "memory": f"{mem / 1048576:.1f} GiB",
        "kernel": capture(["uname", "-sr"]),
        "load": " ".join(open("/proc/loadavg").read().split()[:3]),
        "swift": capture(["swift", "--version"]).splitlines()[0] if capture(["swift", "--version"]) else "?",
        "sqlite_cli": capture(["sqlite3", "--version"]).split(" ")[0],
        "sqlite_python": sqlite3.sqlite_version,
        "sqlite_waterhub": capture([WATERHUB, "--version"]).removeprefix("waterhub, with SQLite ") + " (built into the binary: Sources/CSQLite)",
        "libcurl": library_version("libcurl.so.4", "curl_version") + " (libcurl.so.4, loaded at the first fetch)",
        "wrk": (capture(["wrk", "-v"]) or subprocess.run(["wrk", "-v"], capture_output=True, text=True).stderr).splitlines()[0] if shutil.which("wrk") else "?",
        "datasette": capture([VENV_BIN / "datasette", "--version"]),
        "sqlite_utils": capture([VENV_BIN / "sqlite-utils", "--version"]),
        "python": sys.version.split()[0],
    }


def library_version(path, function):
    import ctypes
    try:
        f = getattr(ctypes.CDLL(path), function)
        f.restype = ctypes.c_char_p
        return f().decode()
    except (OSError, AttributeError):
        return "?"


def mb(kib):
    return kib * 1024 / 1e6


def verdict(ok):
    return "✓" if ok else "✗"


def build_report(facts, feed, ingest, footprint, pull, total_seconds, fsync_before, fsync_after):
    lines = []
    w = lines.append
    w("# WaterHub benchmark results")
    w("")
    w(f"Written by `Ops/bench/run` on {facts['date']}. Only ratios taken in the same run count: the disk's")
    w("sync speed on these machines drifts several-fold within an hour (see the fsync probe below).")
    w("")
    w("## Machine and run")
    w("")
    w("| fact | value |")
    w("|---|---|")
    for key, label in [("date", "date"), ("commit", "commit"), ("cores", "cores"), ("memory", "memory"),
                       ("kernel", "kernel"), ("load", "load average at start"), ("load_end", "load average at end"), ("swift", "Swift"),
                       ("sqlite_cli", "SQLite (sqlite3 CLI: peer A, limit)"),
                       ("sqlite_python", "SQLite (Python: peer B, Datasette)"), ("sqlite_waterhub", "SQLite of WaterHub"),
                       ("libcurl", "libcurl"), ("wrk", "wrk"), ("datasette", "Datasette"), ("sqlite_utils", "sqlite-utils"),
                       ("python", "Python")]:
        w(f"| {label} | {facts[key]} |")
    sizes = ", ".join(f"`{f.name}` {f.stat().st_size / 1e6:.1f} MB" for f in feed_files(feed))
    w(f"| feed | {ROWS:,} rows, seed {SEED}, Windows-1252, in a drop folder: {sizes} |")
    w(f"| runs | {RUNS} ingest run(s) of each system; wrk {DURATION} s per figure |")
    w(f"| fsync of 4 KiB (disk sync speed) | {fsync_before:.1f} ms at start, {fsync_after:.1f} ms at end |")
    w(f"| whole run | {total_seconds / 60:.1f} min |")
    w("")
    checks = []
    if ingest:
        wh = ingest[0]
        w("## Ingest (each run from empty)")
        w("")
        w("| system | median | min–max | CPU user+sys (median) | peak RSS (max over runs) | files | rows in them | WaterHub ÷ this | per round |")
        w("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
        for s in ingest:
            med = statistics.median(s.seconds)
            ratio = statistics.median(wh.seconds) / med
            rounds = [a / b for a, b in zip(wh.seconds, s.seconds)]
            w(f"| {s.label} | {med:.2f} s | {min(s.seconds):.2f}–{max(s.seconds):.2f} s | {statistics.median(s.cpu):.2f} s | "
              f"{mb(max(s.rss_kib)):.1f} MB | "
              f"{s.files} | {s.rows:,} | {ratio:.2f} × | {min(rounds):.2f}–{max(rounds):.2f} × |")
        w("")
        if wh.statistics_seconds:
            rebuild = statistics.median(wh.statistics_seconds)
            w(f"WaterHub's ingest (`waterhub fetch`: fetch through libcurl, checks, routing, storage, cases) does not "
              f"include the regional cell's statistics: `waterhub serve` rebuilds them in the background when a batch is "
              f"newer than they are. Rebuilt after each ingest run with `waterhub stats rebuild` (disclosure control "
              f"with its exact audit over every week and month, all 285 town files), not counted above: "
              f"{rebuild:.2f} s (median), {min(wh.statistics_seconds):.2f}–{max(wh.statistics_seconds):.2f} s, "
              f"peak RSS {mb(max(wh.statistics_rss_kib)):.1f} MB.")
            w("")
        w(f"WaterHub's town files hold every version of every event (a correction is a new version) and the "
          f"households' cases; {wh.note}. The peers' files hold the text rows as they came (a correction is "
          "one more row; the limit also keeps the rows outside Flanders). Peak RSS is `/usr/bin/time -v`'s maximum resident set size: the "
          "largest single process of the pipeline (MB = 10⁶ bytes); CPU is the user + system time of all its processes: "
          "wall time well above CPU time is waiting, mostly for the disk's fsync. \"WaterHub ÷ this\" divides the medians; "
          "\"per round\" gives the range of WaterHub's time in round i divided by this system's in round i (the runs of "
          "one round are minutes apart, so the disk and the neighbours drift less between them).")
        w("")
        wm = statistics.median(wh.seconds)
        a = statistics.median(ingest[1].seconds)
        lim = statistics.median(ingest[3].seconds)
        checks += [
            ("Ingest: WaterHub median ≤ 0.7 × peer A's", f"{wm / a:.2f} × ({wm:.2f} s vs {a:.2f} s)", wm <= 0.7 * a),
            ("Ingest: WaterHub median ≤ 2 × the single-file limit", f"{wm / lim:.2f} × ({wm:.2f} s vs {lim:.2f} s)", wm <= 2 * lim),
            ("Ingest: WaterHub peak RSS ≤ 100 MB", f"{mb(max(wh.rss_kib)):.1f} MB", mb(max(wh.rss_kib)) <= 100),
        ]
    if pull:
        r = pull["results"]
        w(f"## Pull (town {EXPORT_TOWN}, pages of 100 events; WaterHub with a token, auth and the audit log on, rate limit raised to 1,000,000 a minute)")
        w("")
        w("| page | connections | WaterHub req/s | p50 | p99 | Datasette req/s | p50 | p99 | req/s ratio |")
        w("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
        for kind in ("first", "middle"):
            for c in (32, 1):
                a, b = r[("waterhub", kind, c)], r[("datasette", kind, c)]
                errors = ""
                if a["errors"] or b["errors"]:
                    errors = f" (errors: WaterHub {int(a['errors'])}, Datasette {int(b['errors'])})"
                w(f"| {kind}{errors} | {c} | {a['rps']:.1f} | {a['p50_ms']:.2f} ms | {a['p99_ms']:.2f} ms | "
                  f"{b['rps']:.1f} | {b['p50_ms']:.2f} ms | {b['p99_ms']:.2f} ms | {a['rps'] / b['rps']:.1f} × |")
        w("")
        w(f"The middle page starts after event seq {pull['mid_seq']:,} (WaterHub: its `next` cursor; Datasette: "
          f"`_next={pull['mid_seq']}`); both answer the same 100 events. `waterhub serve` RSS after the pull runs: "
          f"{mb(pull['serve_rss']):.1f} MB (high-water mark {mb(pull['serve_hwm']):.1f} MB). WaterHub answers a page "
          f"it answered lately from memory while the town file's SQLite `data_version` is unchanged (checked on every "
          f"request; the token check and the audit line are done for every request too): wrk asks for one page over "
          f"and over, as a town's system polling its newest events does. Datasette reads SQLite for every request.")
        w("")
        for kind in ("first", "middle"):
            a, b = r[("waterhub", kind, 32)], r[("datasette", kind, 32)]
            checks.append((f"Pull, {kind} page, 32 conn: ≥ 30 × Datasette's req/s", f"{a['rps'] / b['rps']:.1f} × "
                           f"({a['rps']:.0f} vs {b['rps']:.0f})", a["rps"] >= 30 * b["rps"] and not a["errors"]))
        for kind in ("first", "middle"):
            a = r[("waterhub", kind, 32)]
            checks.append((f"Pull, {kind} page, 32 conn: p99 ≤ 20 ms", f"{a['p99_ms']:.2f} ms", a["p99_ms"] <= 20))
        for kind in ("first", "middle"):
            a = r[("waterhub", kind, 1)]
            checks.append((f"Pull, {kind} page, 1 conn: p50 ≤ 2 ms", f"{a['p50_ms']:.2f} ms", a["p50_ms"] <= 2))
    if footprint:
        f = footprint
        start = statistics.median(f["starts"])
        idle = statistics.median(f["idles"])
        growths = [e["peak"] - e["before"] for e in f["exports"]]
        e0 = f["exports"][0]
        w("## Footprint (`waterhub serve`, 285 town files)")
        w("")
        w("| figure | median | min–max |")
        w("|---|---:|---:|")
        w(f"| start → first answered request (an authenticated events page) | {start * 1000:.0f} ms | "
          f"{min(f['starts']) * 1000:.0f}–{max(f['starts']) * 1000:.0f} ms |")
        w(f"| idle RSS, 2 s after the first answer | {mb(idle):.1f} MB | {mb(min(f['idles'])):.1f}–{mb(max(f['idles'])):.1f} MB |")
        w(f"| RSS at the start of the export | {mb(statistics.median([e['before'] for e in f['exports']])):.1f} MB | |")
        w(f"| RSS peak during the export | {mb(statistics.median([e['peak'] for e in f['exports']])):.1f} MB | |")
        w(f"| RSS growth during the export | {mb(statistics.median(growths)):.1f} MB | {mb(min(growths)):.1f}–{mb(max(growths)):.1f} MB |")
        w(f"| export: rows, size, time | {e0['rows']:,} rows, {e0['bytes'] / 1e6:.1f} MB, "
          f"{statistics.median([e['seconds'] for e in f['exports']]):.2f} s | |")
        w("")
        w(f"Export of town {EXPORT_TOWN} by {e0['how']}; RSS sampled every 5 ms from /proc while streaming.")
        w("")
        checks += [
            ("Start with 285 town files < 1 s", f"{start * 1000:.0f} ms", start < 1.0),
            ("Idle RSS < 40 MB", f"{mb(idle):.1f} MB", mb(idle) < 40),
            (f"Full export of a town with 100,000 events grows RSS < 20 MB",
             f"{mb(statistics.median(growths)):.1f} MB ({e0['rows']:,} events)", mb(statistics.median(growths)) < 20),
        ]
    if checks:
        w("## Targets of issue 8 (ratios from this run)")
        w("")
        w("| target | measured | |")
        w("|---|---|:-:|")
        for name, measured, ok in checks:
            w(f"| {name} | {measured} | {verdict(ok)} |")
        w("")
        w(f"{sum(ok for _, _, ok in checks)} of {len(checks)} targets met.")
        w("")
    w("For reference, the issue's own measurement (2 cores, 2026-11-22): peer A ≈ 12 s for 1M rows into 285 files, "
      "peer B ≈ 34 s and 1.3 GB, the single-file import ≈ 5.3 s; Datasette ≈ 75 pages/s at 32 connections "
      "(p99 ≈ 600 ms) and ≈ 90/s on 1 connection (p50 ≈ 11 ms).")
    w("")
    return "\n".join(lines)


def main():
    if not os.environ.get("WATERHUB_BIN") or not WATERHUB.exists():
        raise SystemExit(f"{WATERHUB} is missing: Ops/bench/run builds it first")
    for d in (WORK, LOGS):
        d.mkdir(parents=True, exist_ok=True)
    for old in LOGS.glob("*.log"):
        old.unlink()
    started = time.monotonic()
    facts = machine_facts()
    say(f"WaterHub benchmark: {ROWS:,} rows, {RUNS} run(s), parts {','.join(sorted(PARTS))}; work folder {WORK}")
    say(f"Machine: {facts['cores']}, {facts['memory']}, load {facts['load']}; commit {facts['commit']}")
    fsync_before = fsync_ms()
    say(f"fsync probe: {fsync_before:.1f} ms per 4 KiB write+fsync")
    feed = prepare_feed()

    ingest = None
    if "ingest" in PARTS:
        run_ingest(feed)
        ingest = SYSTEMS
    footprint = pull = None
    if "footprint" in PARTS or "pull" in PARTS:
        data_dir = ensure_waterhub_data(feed)
        _, _, per_town = count_rows(data_dir / "Tenants", "*.sqlite")
        town_file = next((data_dir / "Tenants").glob(f"{EXPORT_TOWN}-*.sqlite"))
        town_events = per_town[town_file.name.split(".")[0]]
        token = issue_token(data_dir, EXPORT_TOWN)
        if "footprint" in PARTS:
            footprint = run_footprint(data_dir, token, EXPORT_TOWN, town_events)
        if "pull" in PARTS:
            pull = run_pull(data_dir, token, EXPORT_TOWN, town_events, town_file)
    fsync_after = fsync_ms()
    facts["load_end"] = " ".join(open("/proc/loadavg").read().split()[:3])
    report = build_report(facts, feed, ingest, footprint, pull, time.monotonic() - started, fsync_before, fsync_after)
    RESULTS.write_text(report)
    say("")
    say(report)
    say(f"Written to {RESULTS}")


if __name__ == "__main__":
    main()
