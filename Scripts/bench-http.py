#!/usr/bin/env python3
"""bench-http.py [--runs N] [--json FILE] [--md FILE] [--quiet]: make bench's HTTP API rows (issue #15), alone as
`make bench-http`, and from Scripts/bench.py. Boots build/test-bench-http.iso under QEMU with -icount
shift=0,sleep=off and a virtio-net card whose port 80 a free loopback port forwards to, and drives dom0's
API from here (threads and http.client keep-alive connections, the standard library only), phase by
phase as dom0's serial lines announce them (Sources/Dom0/BenchHttp.swift):
  1. GET /v1/domains from 1 connection, then from 16 at once (each opened by one untimed request first);
     dom0 counts its own CPU time (virtual ns) over each phase's requests and prints requests per second
     of it and ns (= instructions under shift=0) per request;
  2. POST /v1/domains (a spinner that prints the TSC of its first instruction), then DELETE of it: dom0
     prints the TSC at the loop turn that took the request, the row is the difference.
Requests per second of elapsed virtual time are printed too (build/bench-http.json) but not tabled: the
CPU idles between the host's requests, and under sleep=off its virtual clock then jumps from timer tick
to timer tick as fast as the host runs QEMU, so that figure measures the host (50 to 7,000 a second).
Every response is checked (status, a JSON list holding Domain-0). Any failure, an API that never
answers or a step past its deadline stops QEMU and exits non-zero with the reason. It reports; it never
fails a run for being slow."""
import http.client
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time

LINE = re.compile(r"^\((apus|d\d+)\) bench: (native|guest|hv) (\S+) (\d+)$")
SCENARIO = "bench-http"
# Wall-clock bounds: QEMU's whole run, and each wait for dom0's next line.
QEMU_SECONDS = 180
STEP_SECONDS = 90


class Failed(Exception):
    pass


class Log:
    """The serial log QEMU writes: waits for a line matching a pattern, after the last one found."""
    def __init__(self, path, qemu):
        self.path, self.qemu, self.offset = path, qemu, 0

    def wait(self, pattern, what, seconds=STEP_SECONDS):
        deadline = time.time() + seconds
        regex = re.compile(pattern, re.M)
        while time.time() < deadline:
            try:
                text = open(self.path, errors="replace").read()
            except FileNotFoundError:
                text = ""
            m = regex.search(text, self.offset)
            if m:
                self.offset = m.end()
                return m
            if self.qemu.poll() is not None:
                raise Failed(f"QEMU stopped (exit {self.qemu.returncode}) before {what}")
            time.sleep(0.005)
        raise Failed(f"no {what} within {seconds} s")


def get_domains(conn, token):
    conn.request("GET", "/v1/domains", headers={"Authorization": f"Bearer {token}"})
    r = conn.getresponse()
    body = r.read()
    if r.status != 200:
        raise Failed(f"GET /v1/domains answered {r.status}: {body[:80]!r}")
    domains = json.loads(body)
    if not any(d.get("name") == "Domain-0" for d in domains):
        raise Failed(f"GET /v1/domains without Domain-0: {body[:80]!r}")


def phase(log, port, token, index):
    m = log.wait(rf"^\(d0\) bench-http: phase {index}: (\d+) clients, (\d+) requests of GET /v1/domains", f"phase {index}'s plan")
    clients, requests = int(m.group(1)), int(m.group(2))
    conns = [http.client.HTTPConnection("127.0.0.1", port, timeout=STEP_SECONDS) for _ in range(clients)]
    for c in conns:
        get_domains(c, token)                         # the untimed request that opens the connection
    log.wait(rf"^\(d0\) bench-http: phase {index} timing$", f"phase {index}'s start")
    shares = [requests // clients + (1 if i < requests % clients else 0) for i in range(clients)]
    errors = []
    start = threading.Barrier(clients)

    def client(conn, n):
        try:
            start.wait()
            for _ in range(n):
                get_domains(conn, token)
        except Exception as e:                        # reported after the join, the phase fails
            errors.append(f"{type(e).__name__}: {e}")
    threads = [threading.Thread(target=client, args=(c, n)) for c, n in zip(conns, shares)]
    t0 = time.time()
    for t in threads:
        t.start()
    for t in threads:
        t.join(STEP_SECONDS)
    if errors or any(t.is_alive() for t in threads):
        raise Failed(f"phase {index} ({clients} clients): {errors[:3] or 'a client did not finish'}")
    wall = time.time() - t0
    log.wait(rf"^\(d0\) bench-http: phase {index} done$", f"phase {index}'s end")
    for c in conns:
        c.close()
    print(f"bench-http: phase {index}: {requests} requests from {clients} clients in {wall:.1f} s of host time", flush=True)


def create(log, port, token):
    log.wait(r"^\(d0\) bench-http: create$", "the create phase")
    auth = {"Authorization": f"Bearer {token}"}
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=STEP_SECONDS)
    conn.request("GET", "/v1/host", headers=auth)     # opens the connection, untimed
    r = conn.getresponse()
    r.read()
    if r.status != 200:
        raise Failed(f"GET /v1/host answered {r.status}")
    time.sleep(0.05)                                  # dom0 goes idle: the POST's frame wakes it alone
    body = json.dumps({"name": "bench-api", "kernel": "spinner.elf", "memory": 4, "extra": "stamp=1 work=100000"})
    conn.request("POST", "/v1/domains", body=body, headers=dict(auth, **{"Content-Type": "application/json"}))
    r = conn.getresponse()
    answer = r.read()
    if r.status != 201:
        raise Failed(f"POST /v1/domains answered {r.status}: {answer[:120]!r}")
    created = json.loads(answer)["id"]
    log.wait(rf"^\(d{created}\) bench: guest api_domu_first_instruction_tsc \d+$", f"d{created}'s first-instruction stamp")
    conn.request("DELETE", "/v1/domains/bench-api", headers=auth)
    r = conn.getresponse()
    answer = r.read()
    if r.status != 200 or json.loads(answer).get("destroyed") != created:
        raise Failed(f"DELETE /v1/domains/bench-api answered {r.status}: {answer[:120]!r}")
    conn.close()


def run_once(index):
    """One boot: the bench lines' values (key -> number). Exits non-zero with the reason on any failure."""
    os.makedirs("build/logs", exist_ok=True)
    log_path = f"build/logs/{SCENARIO}-{index}.log"
    if os.path.exists(log_path):
        os.remove(log_path)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cmd = ["timeout", "-k", "5", str(QEMU_SECONDS), "qemu-system-x86_64", "-icount", "shift=0,sleep=off",
           "-rtc", "base=2026-01-01T00:00:00,clock=vm", "-nodefaults", "-display", "none", "-no-reboot",
           "-serial", f"file:{log_path}", "-device", "isa-debug-exit,iobase=0xf4,iosize=4", "-m", "256",
           "-cdrom", f"build/test-{SCENARIO}.iso", "-boot", "d",
           "-netdev", f"user,id=n0,hostfwd=tcp:127.0.0.1:{port}-:80",
           "-device", "virtio-net-pci,netdev=n0,disable-legacy=on"]
    # Its own process group: a failure stops timeout(1) and QEMU together.
    qemu = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, start_new_session=True)
    log = Log(log_path, qemu)
    started = time.time()
    try:
        log.wait(r"^\(d0\) http: API listening on port 80 ", "dom0's API listening")
        token = re.search(r"http: API token ([0-9a-f]{32}) \(generated", open(log_path, errors="replace").read()).group(1)
        log.wait(r"^\(d0\) bench-http: serving$", "dom0's DHCP lease (bench-http: serving)")
        phase(log, port, token, 1)
        phase(log, port, token, 2)
        create(log, port, token)
        status = qemu.wait(STEP_SECONDS)
    except (Failed, OSError, subprocess.TimeoutExpired, ValueError, KeyError, AttributeError, http.client.HTTPException) as e:
        os.killpg(qemu.pid, signal.SIGKILL)
        qemu.wait()
        sys.exit(f"bench-http: run {index} failed: {type(e).__name__}: {e}; see {log_path}")
    if status != 33:
        sys.exit(f"bench-http: run {index} did not finish cleanly (QEMU exit {status}); see {log_path}")
    if subprocess.run([sys.executable, "Scripts/check-log.py", f"Tests/Scenarios/{SCENARIO}.expect", log_path, str(status)]).returncode != 0:
        sys.exit(f"bench-http: run {index} is missing measurements (Tests/Scenarios/{SCENARIO}.expect); see {log_path}")
    values = {}
    for line in open(log_path, errors="replace"):
        m = LINE.match(line.strip())
        if m:
            values[f"{m.group(2)}.{m.group(3)}"] = int(m.group(4))
    values["guest.api_create_to_first_instruction"] = values["guest.api_domu_first_instruction_tsc"] - values["guest.api_create_request_tsc"]
    print(f"bench-http: run {index} took {time.time() - started:.0f} s of host time", flush=True)
    return values


ROWS = (
    ("GET /v1/domains, 1 keep-alive client: requests per second of dom0's virtual CPU time", "guest.http_get_domains_rps_1"),
    ("the same: dom0's virtual ns per request (= instructions; TCP, HTTP, JSON, getdomaininfo, hypervisor)", "guest.http_get_domains_ns_per_request_1"),
    ("GET /v1/domains, 16 keep-alive clients at once: requests per second of dom0's virtual CPU time", "guest.http_get_domains_rps_16"),
    ("the same: dom0's virtual ns per request (= instructions)", "guest.http_get_domains_ns_per_request_16"),
    ("POST /v1/domains (4 MiB spinner) -> the new domain's first instruction: instructions (= virtual ns)", "guest.api_create_to_first_instruction"),
)


def markdown(runs):
    md = [f"| HTTP API (issue #15; dom0's lwIP server, a host client through QEMU's hostfwd, its own boot) | "
          + " | ".join(f"run {i + 1}" for i in range(len(runs))) + " |",
          "| --- |" + " ---: |" * len(runs)]
    for label, key in ROWS:
        md.append(f"| {label} | " + " | ".join(str(r.get(key, "?")) for r in runs) + " |")
    return md


def main():
    args = sys.argv[1:]
    def option(name, default):
        return args[args.index(name) + 1] if name in args else default
    count = int(option("--runs", "2"))
    runs = [run_once(i + 1) for i in range(count)]
    text = "\n".join(markdown(runs))
    with open(option("--md", "build/bench-http.md"), "w") as f:
        f.write(text + "\n")
    with open(option("--json", "build/bench-http.json"), "w") as f:
        json.dump({"runs": runs}, f, indent=2)
    if "--quiet" not in args:
        print(text)


if __name__ == "__main__":
    main()
