"""http_churn.py: the robustness half of the http scenario's host client (imported by http-client.py):
a domU created through POST /v1/domains with the .cfg's `vif` and `disk` keys whose frontends reach
dom0's backends (GET /v1/domains/{id} `devices`), 16 client threads creating, reading and destroying
domains at once for a few rounds while one connection sends nothing, connection attempts past dom0's
16 slots, and the leak check: GET /v1/host's counters (hypervisor frames, heap and domains, dom0's heap)
before and after, once the hypervisor has scrubbed what was freed. It judges only through `check`."""
import json
import socket
import threading
import time

THREADS = 16
ROUNDS = 3


class Api:
    """The pieces of http-client.py this module drives the API with."""

    def __init__(self, port, token, request, check, conforms, read_response):
        self.port, self.token, self.request, self.check = port, token, request, check
        self.conforms, self.read_response = conforms, read_response

    def post(self, path, value):
        return self.request("POST", path, token=self.token, extra="Content-Type: application/json\r\n",
                            body=json.dumps(value).encode())

    def get(self, path):
        return self.request("GET", path, token=self.token)

    def host(self):
        # A lost answer (seen once in ~1000 requests: dom0 logged the 200, the host never got it within
        # 30 s) is asked again on a new connection, at most twice; each miss is printed to the client log.
        for attempt in range(3):
            try:
                r = self.get("/v1/host")
                return json.loads(r[2]) if r and r[0] == 200 else None
            except OSError as e:
                print(f"note: GET /v1/host attempt {attempt + 1}: {e!r}", flush=True)
        return None


def settled(api, seconds=120):
    """GET /v1/host once the hypervisor has no dirty free frames left (its idle scrub), or after
    `seconds`: the counters a leak check compares."""
    deadline = time.time() + seconds
    host = api.host()
    while host is not None and host["counters"]["scrub_pages"] > 0 and time.time() < deadline:
        time.sleep(1)
        host = api.host()
    return host


def devices(api, log_path):
    """A Mini-OS domU with a vif and a disk, created through the API with the .cfg's keys: its netfront
    and blkfront connect to dom0's backends, as they do for the shell's create."""
    cfg = {"name": "mos-io", "kernel": "mini-os-test.elf", "memory": 32,
           "vif": ["mac=00:16:3e:00:02:07,bridge=xenbr0"], "disk": ["initrd:motd.txt,raw,hda,r"]}
    r = api.post("/v1/domains", cfg)
    created = json.loads(r[2]) if r and r[0] == 201 else {}
    got = created.get("devices", [])
    api.check(r is not None and r[0] == 201 and not api.conforms("POST", "/v1/domains", r[0], r[2])
              and [d["type"] for d in got] == ["vbd", "vif"] and got[0].get("vdev") == "hda" and got[0].get("device") == 768
              and got[0].get("writable") is False and got[1].get("mac") == "00:16:3e:00:02:07",
              f"POST /v1/domains with vif and disk: 201, devices vbd hda and vif 00:16:3e:00:02:07 ({r and r[0]} {got})")
    did = created.get("id", 0)
    deadline = time.time() + 150
    states = {}
    while time.time() < deadline:
        r = api.get(f"/v1/domains/{did}")
        if r is None or r[0] != 200:
            break
        states = {d["type"]: d["backend"] for d in json.loads(r[2])["devices"]}
        if states.get("vif") == "connected" and states.get("vbd") == "connected":
            break
        time.sleep(1)
    api.check(states == {"vbd": "connected", "vif": "connected"} and not api.conforms("GET", "/v1/domains/{domain}", r[0], r[2]),
              f"Mini-OS's blkfront and netfront connected to dom0's backends (devices {states})")
    log = open(log_path, errors="replace").read()
    api.check(f"netback: d{did} vif 0 connected:" in log and f"blkback: d{did} vbd 768 connected:" in log,
              f"dom0's log: netback and blkback of d{did} connected")
    bad = dict(cfg, name="mos-bad", disk=["initrd:motd.txt,raw,hda,w"])
    r = api.post("/v1/domains", bad)
    api.check(r[0] == 400 and "disk must be a list" in json.loads(r[2])["error"], f"a writable initrd disk: 400 naming disk ({r[0]} {r[2]!r})")
    r = api.post("/v1/domains", dict(cfg, name="mos-bad", vif="mac=00:16:3e:00:02:08"))
    api.check(r[0] == 400 and "'vif' must be an array of strings" in json.loads(r[2])["error"], f"vif as a string: 400 ({r[0]} {r[2]!r})")
    r = api.request("DELETE", f"/v1/domains/{did}", token=api.token)
    api.check(r[0] == 200, f"DELETE mos-io: 200 ({r[0]})")


def refused_past_slots(api):
    """16 connections in dom0's slots, each having just been answered on a kept-alive request, then a
    17th at once: dom0 resets it (never queues it behind the others or falls over); once the 16 close,
    the API answers again. dom0's idle timeout runs on guest time, which QEMU's icount lets race ahead
    while dom0 idles, so a held connection may be closed before the 17th comes: then the attempt is
    made again, up to 5 times."""
    ask = f"GET /v1/host HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer {api.token}\r\n\r\n".encode()
    outcome, attempts = None, 0
    while outcome is None and attempts < 5:
        attempts += 1
        held = []
        for _ in range(THREADS):
            # Each asks the moment it connects: an accepted connection that stays silent is what dom0 times out.
            s = socket.create_connection(("127.0.0.1", api.port), timeout=30)
            s.sendall(ask)
            held.append(s)
        answered = [api.read_response(s) for s in held]
        extra = socket.create_connection(("127.0.0.1", api.port), timeout=30)
        extra.settimeout(30)
        try:
            extra.sendall(ask)
            refused = extra.recv(1) == b""
        except (ConnectionResetError, BrokenPipeError):
            refused = True
        except socket.timeout:
            refused = False
        finally:
            extra.close()
        for s in held:
            s.close()
        if all(a is not None and a[0] == 200 for a in answered) and refused:
            outcome = True
    # Whether the 17th was refused while all 16 were held is printed, not checked: in 1 of 5 runs every
    # attempt found a held connection already gone (dom0's guest-time idle timeout racing ahead under
    # icount), so it proved nothing either way. What is checked: dom0 is still up and answers after it.
    print(f"note: a 17th connection while 16 were held was refused: {outcome is True} (attempts {attempts})", flush=True)
    host = api.host()
    api.check(host is not None, "after 17 connections at once, dom0 still answers GET /v1/host")
    print(f"note: dom0 counted {host and host['http']['refused']} connections refused at its slot table", flush=True)


def churn(api, rounds):
    """THREADS threads, each creating, reading and destroying its own domain `rounds` times, all at once,
    beside a connection that sends nothing. A connection dom0 refused (every slot busy) is tried again."""
    problems, refusals = [], [0]
    lock = threading.Lock()

    def call(method, path, body=None):
        for _ in range(50):
            try:
                extra = "Content-Type: application/json\r\n" if body is not None else ""
                r = api.request(method, path, token=api.token, extra=extra, body=json.dumps(body).encode() if body is not None else b"")
                if r is not None:
                    return r
            except (ConnectionResetError, BrokenPipeError, socket.timeout, OSError):
                pass
            with lock:
                refusals[0] += 1
            time.sleep(0.2)
        return None

    def worker(t):
        for round in range(rounds):
            name = f"churn-{t}"
            r = call("POST", "/v1/domains", {"name": name, "kernel": "spinner.elf", "memory": 4, "weight": 100 + t, "cap": 2})
            if r is None or r[0] != 201:
                with lock:
                    problems.append(f"{name} round {round}: create {r and r[0]} {r and r[2][:80]!r}")
                return
            did = json.loads(r[2])["id"]
            r = call("GET", f"/v1/domains/{did}")
            if r is None or r[0] != 200 or json.loads(r[2])["name"] != name or json.loads(r[2])["weight"] != 100 + t:
                with lock:
                    problems.append(f"{name} round {round}: read {r and r[0]} {r and r[2][:80]!r}")
            r = call("DELETE", f"/v1/domains/{name}")
            if r is None or r[0] != 200 or json.loads(r[2])["destroyed"] != did:
                with lock:
                    problems.append(f"{name} round {round}: destroy {r and r[0]} {r and r[2][:80]!r}")
                return

    silent = socket.create_connection(("127.0.0.1", api.port), timeout=30)
    silent.settimeout(300)
    start = time.time()
    threads = [threading.Thread(target=worker, args=(t,)) for t in range(THREADS)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(600)
    churned = time.time() - start
    try:
        closed = silent.recv(1) == b""
    except socket.timeout:
        closed = False
    except OSError:
        closed = True
    silent.close()
    api.check(not problems and not any(th.is_alive() for th in threads),
              f"{THREADS} threads x {rounds} rounds of create, read, destroy at once: all answered "
              f"({churned:.0f} s, {refusals[0]} connections refused and tried again; {problems[:3]})")
    api.check(closed, f"the connection that sent nothing during the churn was closed by dom0 ({time.time() - start:.0f} s)")
    r = api.get("/v1/domains")
    left = [d["name"] for d in json.loads(r[2])] if r[0] == 200 else None
    api.check(left is not None and not any(n.startswith("churn-") for n in left), f"no churn domain is left ({left})")


def run(api, log_path):
    """The leak check: frames, domains and dying domains equal before and after everything; the heaps
    (hypervisor's, dom0's) equal between the end of a first churn round, which may grow tables sized by
    the highest domain id once, and the end of ROUNDS more."""
    before = settled(api)
    api.check(before is not None and not api.conforms("GET", "/v1/host", 200, json.dumps(before)),
              f"GET /v1/host has the counters a leak check needs ({before and before['counters']})")
    devices(api, log_path)
    refused_past_slots(api)
    churn(api, 1)
    warm = settled(api)
    churn(api, ROUNDS)
    after = settled(api)
    b, w, a = before["counters"], warm["counters"] if warm else {}, after["counters"] if after else {}
    print(f"counters before {b}\ncounters warm   {w}\ncounters after  {a}", flush=True)
    api.check(a.get("scrub_pages") == 0, f"the hypervisor scrubbed every freed frame ({a.get('scrub_pages')} left)")
    for key in ("free_pages", "domains", "dying_domains"):
        api.check(a.get(key) == b[key] and w.get(key) == b[key], f"no leak: {key} {b[key]} before, {w.get(key)} after one round, {a.get(key)} after {ROUNDS} more")
    api.check(after is not None and after["domains"] == before["domains"], "GET /v1/host's domain count is back where it was")
    # The heaps keep what their tables grew to at the most domains alive at once (array capacity), which
    # the first round need not reach: growth across the 48 domains of the later rounds must stay under
    # an allowance for that (2 KiB for the hypervisor, 16 KiB for dom0, whose snapshot also holds the
    # request being served): a leak of 43 (hypervisor) or 342 (dom0) bytes or more per domain passes it.
    for key, slack in (("hypervisor_heap_bytes", 2048), ("dom0_heap_bytes", 16384)):
        api.check(a.get(key, 1 << 40) <= w.get(key, 0) + slack,
                  f"no heap growth across {ROUNDS} rounds: {key} {b[key]} before, {w.get(key)} after the first round, {a.get(key)} after {ROUNDS} more")
