"""apusctl_watch.py: apusctl's verbs that watch dom0 over time (imported by Scripts/apusctl):
`events` prints the lifecycle event stream (GET /v1/events, server-sent events) one line an event, and
`top` prints xentop's table from successive samples of GET /v1/domains, its CPU share measured against
dom0's own clock (GET /v1/host's uptime_ms), so a guest clock that runs ahead of the wall does not skew
it. Python standard library only; read-only: neither verb changes a domain."""
import http.client
import json
import sys
import time
import urllib.parse


def add_parsers(sub):
    e = sub.add_parser("events", help="print dom0's lifecycle events as they happen")
    e.add_argument("--since", type=int, metavar="ID", help="first replay the events dom0 kept after event ID (Last-Event-ID)")
    e.add_argument("--count", type=int, metavar="N", help="stop after N events")
    t = sub.add_parser("top", help="a refreshing table of the domains (xentop)")
    t.add_argument("--delay", type=float, default=2.0, metavar="SECONDS", help="between samples (default 2)")
    t.add_argument("--once", action="store_true", help="one table (two samples, --delay apart), then exit")
    t.add_argument("--iterations", type=int, metavar="N", help="N tables, then exit")


def run(a, api):
    if a.verb == "events":
        return events(a, api)
    return top(a, api)


def events(a, api):
    url = urllib.parse.urlsplit(api.url)
    conn = http.client.HTTPConnection(url.hostname, url.port or 80, timeout=None)
    headers = {"Authorization": f"Bearer {api.token}", "Accept": "text/event-stream"}
    if a.since is not None:
        headers["Last-Event-ID"] = str(a.since)
    try:
        conn.request("GET", "/v1/events", headers=headers)
        r = conn.getresponse()
    except OSError as e:
        print(f"apusctl: cannot reach {api.url}: {e}", file=sys.stderr)
        return 2
    if r.status != 200:
        try:
            err = json.loads(r.read()).get("error", "")
        except (ValueError, AttributeError):
            err = r.reason
        print(f"apusctl: events: {r.status}: {err}", file=sys.stderr)
        return 1
    printed = 0
    fields = {}
    try:
        while a.count is None or printed < a.count:
            raw = r.readline()
            if not raw:
                print("apusctl: dom0 closed the event stream", file=sys.stderr)
                return 1
            line = raw.decode("utf-8", "replace").rstrip("\r\n")
            if line.startswith(":"):
                continue
            if line:
                name, _, value = line.partition(":")
                fields[name] = value[1:] if value.startswith(" ") else value
                continue
            if "data" in fields:
                try:
                    d = json.loads(fields["data"])
                    reason = f" {d['reason']}" if "reason" in d else ""
                    print(f"{fields.get('id', '?')} {fields.get('event', '?')} d{d['id']} ({d['name']}) {d['state']}{reason} at {d['time'] / 1000:.3f} s", flush=True)
                except (ValueError, KeyError, TypeError):
                    print(f"{fields.get('id', '?')} {fields.get('event', '?')} {fields['data']}", flush=True)
                printed += 1
            fields = {}
    except KeyboardInterrupt:
        pass
    finally:
        conn.close()
    return 0


def sample(api):
    status, host = api.call("GET", "/v1/host")
    if status != 200:
        raise RuntimeError(f"GET /v1/host: {status}: {host.get('error', '')}")
    status, domains = api.call("GET", "/v1/domains")
    if status != 200:
        raise RuntimeError(f"GET /v1/domains: {status}: {domains.get('error', '')}")
    return host, domains


LETTERS = {"running": "r-----", "blocked": "-b----", "runnable": "------", "paused": "--p---", "shutdown": "---s--"}


def table(host, domains, before):
    """The rows: CPU share since `before` (uptime_ms, {id: cpu_time_ms}) against dom0's clock."""
    then, cpu_then = before
    interval = max(host["uptime_ms"] - then, 1)
    total = max(host["memory"]["total_kib"], 1)
    lines = [f"{'NAME':>12}{'ID':>6}  {'STATE':<7}{'CPU(s)':>9}{'CPU(%)':>8}{'MEM(k)':>10}{'MEM(%)':>7}{'EVTS_TX':>9}{'EVTS_RX':>9}"]
    for d in domains:
        used = d["cpu_time_ms"] - cpu_then.get(d["id"], d["cpu_time_ms"])
        share = max(0.0, min(100.0 * used / interval, 100.0))
        state = LETTERS.get(d["state"], "------")
        if d["state"] == "shutdown" and d.get("shutdown_reason") == "crash":
            state = "----c-"
        lines.append(f"{d['name'][-12:]:>12}{d['id']:>6}  {state:<7}{d['cpu_time_ms'] / 1000:>9.1f}{share:>8.1f}{d['memory_kib']:>10}"
                     f"{100.0 * d['memory_kib'] / total:>7.1f}{d['events_sent']:>9}{d['events_received']:>9}")
    return lines


def top(a, api):
    if a.delay <= 0 or (a.iterations is not None and a.iterations < 1):
        print("apusctl: top takes --delay > 0 and --iterations >= 1", file=sys.stderr)
        return 2
    tables = 1 if a.once else a.iterations
    tty = sys.stdout.isatty()
    shown = 0
    try:
        host, domains = sample(api)
        while tables is None or shown < tables:
            before = (host["uptime_ms"], {d["id"]: d["cpu_time_ms"] for d in domains})
            time.sleep(a.delay)
            host, domains = sample(api)
            if tty:
                sys.stdout.write("\033[H\033[2J")
            elif shown:
                print()
            print(f"apus top: {len(domains)} domains, uptime {host['uptime_ms'] / 1000:.1f} s, "
                  f"free {host['memory']['free_kib']} of {host['memory']['total_kib']} KiB")
            print("\n".join(table(host, domains, before)), flush=True)
            shown += 1
    except KeyboardInterrupt:
        return 0
    except (OSError, ValueError, RuntimeError) as e:
        print(f"apusctl: top: {e}", file=sys.stderr)
        return 1 if isinstance(e, RuntimeError) else 2
    return 0
