#!/usr/bin/env python3
"""http-client.py PORT LOG OPENAPI RESULT: the host's side of the http scenario. Waits for dom0's API
behind 127.0.0.1:PORT (QEMU's hostfwd to dom0's port 80), takes the token dom0 printed once from the
serial LOG, and drives the API: every response is checked against the OpenAPI document (a small
validator for the JSON Schema subset it uses), and bad input is tried (no token, a wrong one, a
malformed request, oversized headers and body, a client that sends nothing, pipelining, several
connections at once, chunked bodies), then the console endpoint on Mini-OS (http_console.py), then a kernel
uploaded (Mini-OS), booted and deleted, then http_churn.py's robustness and leak checks. Writes
`PASS N checks` or the failures to RESULT, then sends a last request (GET /v1/domains/client-finished)
that tells the dialogue it is done."""
import json
import os
import re
import socket
import sys
import time
import traceback

port, log_path, spec_path, result_path = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
spec = json.load(open(spec_path))
failures, checks = [], 0
started = time.time()
# How long one request may take on the wall clock. dom0's and QEMU's network timers run on guest
# time (icount): while a domain spins, a guest second can take many wall seconds on a loaded host.
REQUEST_TIMEOUT = 120


def check(ok, what):
    global checks
    checks += 1
    print(f"[{time.time() - started:6.1f}s] " + ("ok   " if ok else "FAIL ") + what, flush=True)
    if not ok:
        failures.append(what)
    return ok


def finish():
    """Writes the verdict for http.verify, then tells the dialogue the client is done."""
    verdict = f"PASS {checks} checks\n" if not failures else "FAIL " + "; ".join(failures) + "\n"
    with open(result_path + ".tmp", "w") as f:
        f.write(verdict)
    os.rename(result_path + ".tmp", result_path)
    print(verdict, end="", flush=True)
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=30)
        s.sendall(f"GET /v1/domains/client-finished HTTP/1.1\r\nHost: apus\r\nConnection: close\r\n"
                  f"Authorization: Bearer {globals().get('token') or 'none'}\r\n\r\n".encode())
        s.recv(4096)
        s.close()
    except OSError:
        pass


def stopped(kind, value, tb):
    """An exception the checks did not expect (a timeout, a connection reset): a failed check naming
    it and where, a verdict at once, and the dialogue told, so the scenario ends now, not at its limit."""
    traceback.print_exception(kind, value, tb)
    where = traceback.extract_tb(tb)[-1] if tb else None
    check(False, f"the client stopped after {time.time() - started:.0f} s: {value!r}" + (f" at line {where.lineno}" if where else ""))
    finish()
    os._exit(1)


sys.excepthook = stopped


def resolve(schema):
    while "$ref" in schema:
        node = spec
        for part in schema["$ref"].lstrip("#/").split("/"):
            node = node[part]
        schema = node
    return schema


def validate(value, schema, where="$"):
    """The JSON Schema subset the document uses: type, enum, required, properties,
    additionalProperties false, items, minimum, maximum, minLength. Returns the problems."""
    s = resolve(schema)
    t = s.get("type")
    types = {"object": dict, "array": list, "string": str, "boolean": bool}
    if t == "integer":
        if not isinstance(value, int) or isinstance(value, bool):
            return [f"{where}: {value!r} is not an integer"]
    elif t in types and not isinstance(value, types[t]):
        return [f"{where}: {value!r} is not {t}"]
    problems = []
    if "enum" in s and value not in s["enum"]:
        problems.append(f"{where}: {value!r} not in {s['enum']}")
    if "minimum" in s and value < s["minimum"]:
        problems.append(f"{where}: {value} < {s['minimum']}")
    if "maximum" in s and value > s["maximum"]:
        problems.append(f"{where}: {value} > {s['maximum']}")
    if "minLength" in s and len(value) < s["minLength"]:
        problems.append(f"{where}: shorter than {s['minLength']}")
    if t == "object":
        for r in s.get("required", []):
            if r not in value:
                problems.append(f"{where}: missing {r}")
        props = s.get("properties", {})
        for k, v in value.items():
            if k in props:
                problems += validate(v, props[k], f"{where}.{k}")
            elif s.get("additionalProperties") is False:
                problems.append(f"{where}: unexpected member {k}")
    if t == "array":
        for i, v in enumerate(value):
            problems += validate(v, s["items"], f"{where}[{i}]")
    return problems


def conforms(method, template, status, body):
    """Whether the response matches the document's operation: a documented status, a JSON body valid
    against its schema."""
    op = spec["paths"][template][method.lower()]
    responses = op["responses"]
    if str(status) not in responses:
        return [f"status {status} not documented for {method} {template}"]
    r = resolve(responses[str(status)])
    schema = r["content"]["application/json"]["schema"]
    try:
        value = json.loads(body)
    except ValueError as e:
        return [f"body is not JSON: {e}: {body[:80]!r}"]
    return validate(value, schema)


def read_response(s):
    """One response from socket `s`: (status, headers, body), or None when the connection closed first."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = s.recv(65536)
        if not chunk:
            return None
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ")[1])
    headers = {}
    for l in lines[1:]:
        k, _, v = l.partition(":")
        headers[k.strip().lower()] = v.strip()
    n = int(headers.get("content-length", "0"))
    while len(rest) < n:
        chunk = s.recv(65536)
        if not chunk:
            break
        rest += chunk
    read_response.leftover = rest[n:]
    return status, headers, rest[:n]


def connect():
    s = socket.create_connection(("127.0.0.1", port), timeout=REQUEST_TIMEOUT)
    return s


def request(method, path, token=None, extra="", body=b""):
    begun = time.time()
    s = connect()
    try:
        h = f"{method} {path} HTTP/1.1\r\nHost: apus\r\nConnection: close\r\n"
        if token is not None:
            h += f"Authorization: Bearer {token}\r\n"
        if body:
            h += f"Content-Length: {len(body)}\r\n"
        s.sendall(h.encode() + extra.encode() + b"\r\n" + body)
        return read_response(s)
    finally:
        s.close()
        if time.time() - begun > 5:
            print(f"[{time.time() - started:6.1f}s] slow: {method} {path} took {time.time() - begun:.1f} s", flush=True)


def raw(data, timeout=REQUEST_TIMEOUT):
    """Sends `data` on a fresh connection: the response, and whether the server then closed."""
    s = connect()
    s.settimeout(timeout)
    try:
        s.sendall(data)
        r = read_response(s)
        closed = r is not None and read_response.leftover == b"" and s.recv(1) == b""
        return r, closed
    finally:
        s.close()


# 1. Wait for the API: until lwIP listens, QEMU accepts and drops the connection.
deadline = time.time() + 200
first = None
while time.time() < deadline:
    try:
        first = request("GET", "/v1/host")
        if first:
            break
    except OSError:
        pass
    time.sleep(1)
if first is None:
    open(result_path, "w").write("FAIL the API never answered\n")
    sys.exit(1)

# 2. The token dom0 printed once.
token = None
while time.time() < deadline and token is None:
    m = re.search(r"http: API token ([0-9a-f]{32}) \(generated", open(log_path, errors="replace").read())
    token = m.group(1) if m else None
    time.sleep(0.5)
check(token is not None, "dom0 printed a generated API token")
token = token or "none"

# The lifecycle event stream (GET /v1/events), open from here to the end; Last-Event-ID 0 replays
# what dom0 kept from before it opened (the dialogue may have created spinner-2 already).
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from http_events import EventStream
stream = EventStream(port, token, last_event_id=0)
check(stream.status == 200 and stream.headers.get("content-type") == "text/event-stream"
      and "content-length" not in stream.headers, f"GET /v1/events: 200 text/event-stream ({stream.status} {stream.headers})")

check(first[0] == 401 and not conforms("GET", "/v1/host", first[0], first[2]), f"no token: 401 with an Error body ({first[0]} {first[2]!r})")
check(first[1].get("www-authenticate", "").startswith("Bearer"), "401 carries WWW-Authenticate: Bearer")
r = request("GET", "/v1/host", token="0" * 32)
check(r[0] == 401 and json.loads(r[2])["error"] == "missing or wrong bearer token", f"wrong token: 401 ({r[0]})")
r = request("GET", "/v1/host", token=token[:-1])
check(r[0] == 401, "a token missing its last character: 401")

# 3. The endpoints, against the document.
r = request("GET", "/v1/host", token=token)
problems = conforms("GET", "/v1/host", r[0], r[2])
check(r[0] == 200 and not problems, f"GET /v1/host: 200 matching Host {problems}")
host = json.loads(r[2])
check(host["capabilities"] == "xen-3.0-x86_32p", f"capabilities {host['capabilities']!r}")
check(0 < host["memory"]["free_kib"] < host["memory"]["total_kib"], f"memory {host['memory']}")
# The dialogue creates spinner-2 from the shell: the list shows it once it exists.
while time.time() < deadline:
    r = request("GET", "/v1/domains", token=token)
    if r[0] != 200 or any(d["name"] == "spinner-2" for d in json.loads(r[2])):
        break
    time.sleep(1)
problems = conforms("GET", "/v1/domains", r[0], r[2])
check(r[0] == 200 and not problems, f"GET /v1/domains: 200 matching [Domain] {problems}")
domains = json.loads(r[2])
names = {d["name"]: d for d in domains}
check("Domain-0" in names and names["Domain-0"]["id"] == 0 and "spinner-2" in names, f"domains {sorted(names)}")
check(host["domains"] == len(domains), "host's domain count equals the list's length")
clock = names.get("spinner-2", {"id": -1})
for ref in ("spinner-2", str(clock["id"])):
    r = request("GET", f"/v1/domains/{ref}", token=token)
    problems = conforms("GET", "/v1/domains/{domain}", r[0], r[2])
    check(r[0] == 200 and not problems and json.loads(r[2])["id"] == clock["id"], f"GET /v1/domains/{ref}: spinner-2 {problems}")
r = request("GET", "/v1/domains/nosuch", token=token)
check(r[0] == 404 and not conforms("GET", "/v1/domains/{domain}", r[0], r[2]), f"GET /v1/domains/nosuch: 404 ({r[0]})")
r = request("GET", "/v1/nothing", token=token)
check(r[0] == 404, f"unknown path: 404 ({r[0]})")
r = request("POST", "/v1/host", token=token, body=b"{}")
check(r[0] == 405, f"POST /v1/host: 405 ({r[0]})")

# 4. Malformed and oversized requests: 400/431/413 with an Error body, then the connection closes.
def refused(data, status, what):
    (r, closed) = raw(data)
    ok = r is not None and r[0] == status and not validate(json.loads(r[2]), {"$ref": "#/components/schemas/Error"})
    check(ok and closed, f"{what}: {status} with an Error body, connection closed ({r and r[0]} {r and r[2]!r}, closed {closed})")

refused(b"GARBAGE\r\n\r\n", 400, "a malformed request line")
refused(b"GET /v1/host HTTP/1.1\r\nAuthorization: Bearer " + token.encode() + b"\r\n\r\n", 400, "no Host header")
refused(b"GET /v1/host HTTP/1.1\r\nHost: a\r\nX-Big: " + b"a" * 10000 + b"\r\n\r\n", 431, "10000 bytes of header")
refused(b"POST /v1/host HTTP/1.1\r\nHost: a\r\nContent-Length: 100000\r\n\r\n", 413, "a 100000-byte body announced")
refused(b"GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n", 501, "an unknown transfer coding")
refused(b"GET / HTTP/3.0\r\nHost: a\r\n\r\n", 505, "HTTP/3.0")

# 5. Pipelining and a chunked body on one persistent connection: answered in order.
s = connect()
auth = f"Authorization: Bearer {token}\r\n"
s.sendall((f"GET /v1/host HTTP/1.1\r\nHost: a\r\n{auth}\r\n"
           f"POST /v1/domains HTTP/1.1\r\nHost: a\r\n{auth}Transfer-Encoding: chunked\r\n\r\n4\r\n{{}}\r\n\r\n0\r\n\r\n"
           f"GET /v1/domains/0 HTTP/1.1\r\nHost: a\r\n{auth}\r\n").encode())


def responses(sock, n):
    out, data = [], b""
    while len(out) < n:
        while b"\r\n\r\n" not in data:
            c = sock.recv(65536)
            if not c:
                return out
            data += c
        head, _, data = data.partition(b"\r\n\r\n")
        lines = head.decode().split("\r\n")
        length = int([l.split(":")[1] for l in lines if l.lower().startswith("content-length")][0])
        while len(data) < length:
            data += sock.recv(65536)
        out.append((int(lines[0].split()[1]), data[:length]))
        data = data[length:]
    return out
rs = responses(s, 3)
check([x[0] for x in rs] == [200, 400, 200] and "capabilities" in json.loads(rs[0][1]) and json.loads(rs[2][1])["id"] == 0,
      f"three pipelined requests answered in order ({[x[0] for x in rs]})")
s.close()

# 6. A client that connects and sends nothing: dom0 keeps serving others, then closes it.
silent = connect()
silent.settimeout(200)
start = time.time()
many = [connect() for _ in range(8)]
for c in many:
    c.sendall(f"GET /v1/domains HTTP/1.1\r\nHost: a\r\n{auth}Connection: close\r\n\r\n".encode())
answers = [read_response(c) for c in many]
check(all(a is not None and a[0] == 200 for a in answers), f"8 connections at once beside a silent one: all answered ({[a and a[0] for a in answers]})")
for c in many:
    c.close()
slow = connect()
slow.sendall(b"GET /v1/host HTTP/1.1\r\nHost: a\r\n")
try:
    closed = silent.recv(1) == b""
except socket.timeout:
    closed = False
except OSError:
    closed = True
waited = time.time() - start
# dom0's 10 s are guest time: under icount with sleep=off it runs ahead of the wall clock when idle.
check(closed and waited < 200, f"the silent client was closed by dom0 ({waited:.0f} s of wall-clock time)")
slow.settimeout(200)
r = read_response(slow)
check(r is not None and r[0] == 408, f"a client stopping mid-request gets 408 ({r and r[0]})")
slow.close()

# 7. DELETE: dom0 refuses itself, destroys spinner-2, which is then gone.
r = request("DELETE", "/v1/domains/0", token=token)
check(r[0] == 409 and not conforms("DELETE", "/v1/domains/{domain}", r[0], r[2]), f"DELETE dom0: 409 ({r[0]})")
r = request("DELETE", "/v1/domains/spinner-2", token=token)
check(r[0] == 200 and not conforms("DELETE", "/v1/domains/{domain}", r[0], r[2]) and json.loads(r[2])["destroyed"] == clock["id"],
      f"DELETE /v1/domains/spinner-2: 200 ({r[0]} {r[2]!r})")
r = request("GET", "/v1/domains/spinner-2", token=token)
check(r[0] == 404, f"spinner-2 is gone after DELETE ({r[0]})")
r = request("GET", "/v1/host", token=token)
check(r[0] == 200 and json.loads(r[2])["domains"] == len(domains) - 1, "dom0 still serves, one domain fewer")

# 8. POST /v1/domains creates from .cfg keys (201, Location); pause and unpause it; bad bodies get 400
# naming the key, a kernel not in the initrd 404, a name in use 409; then it is destroyed.
def post(path, value):
    body = value if isinstance(value, bytes) else json.dumps(value).encode()
    return request("POST", path, token=token, extra="Content-Type: application/json\r\n", body=body)
web = {"name": "web-1", "kernel": "spinner.elf", "memory": 4, "weight": 512, "cap": 50, "on_crash": "preserve", "extra": "x=1"}
r = post("/v1/domains", web)
created = json.loads(r[2]) if r[0] == 201 else {}
check(r[0] == 201 and not conforms("POST", "/v1/domains", r[0], r[2]) and created.get("name") == "web-1"
      and created.get("weight") == 512 and created.get("cap") == 50 and created.get("memory_kib") == 4096
      and r[1].get("location") == f"/v1/domains/{created.get('id')}", f"POST /v1/domains: 201 with Location ({r[0]} {r[1].get('location')} {r[2]!r})")
r = request("GET", r[1].get("location", "/v1/domains/web-1"), token=token)
check(r[0] == 200 and json.loads(r[2])["id"] == created.get("id"), f"the Location names web-1 ({r[0]})")
for bad, status, needle in (
        (dict(web, name="web-2", colour="red"), 400, "unknown key 'colour'"),
        (dict(web, name="web-2", memory="4"), 400, "'memory' must be an integer"),
        (dict(web, name="web-2", cap=101), 400, "cap must be a whole percentage"),
        (dict(web, name="web 2"), 400, "name may only hold"),
        ({"kernel": "spinner.elf", "memory": 4}, 400, "name is required"),
        (b'{"name": "web-2",', 400, "malformed JSON"),
        (dict(web, name="web-2", kernel="nothere.elf"), 404, "not a file in dom0's initrd nor an uploaded kernel"),
        (web, 409, "name exists")):
    r = post("/v1/domains", bad)
    check(r[0] == status and not conforms("POST", "/v1/domains", r[0], r[2]) and needle in json.loads(r[2])["error"],
          f"POST /v1/domains {str(bad)[:40]}: {status} naming '{needle}' ({r[0]} {r[2]!r})")
wid = created.get("id", 99)
r = post(f"/v1/domains/{wid}/pause", b"")
check(r[0] == 200 and not conforms("POST", "/v1/domains/{domain}/pause", r[0], r[2]) and json.loads(r[2])["state"] == "paused",
      f"POST pause: 200, paused ({r[0]} {r[2]!r})")
r = post("/v1/domains/web-1/unpause", b"")
check(r[0] == 200 and not conforms("POST", "/v1/domains/{domain}/unpause", r[0], r[2]) and json.loads(r[2])["state"] != "paused",
      f"POST unpause: 200, not paused ({r[0]} {r[2]!r})")
for path, status in (("/v1/domains/0/pause", 409), ("/v1/domains/0/unpause", 409), ("/v1/domains/nosuch/pause", 404), ("/v1/domains/77/unpause", 404)):
    r = post(path, b"")
    check(r[0] == status and not conforms("POST", path.replace(path.split("/")[3], "{domain}"), r[0], r[2]), f"POST {path}: {status} ({r[0]})")
r = request("GET", f"/v1/domains/{wid}/pause", token=token)
check(r[0] == 405, f"GET .../pause: 405 ({r[0]})")
# 9. PATCH changes weight and cap (scheduler_op putinfo, read back through getdomaininfo) and the
# balloon target (memory/target); bad bodies get 400 naming the key. shutdown and reboot ask through
# control/shutdown and answer 202 (spinner does not honour it, so web-1 stays).
def patch(path, value):
    body = value if isinstance(value, bytes) else json.dumps(value).encode()
    return request("PATCH", path, token=token, extra="Content-Type: application/json\r\n", body=body)
import threading
def post_waiting(path, timeout):
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        s.sendall(f"POST {path} HTTP/1.1\r\nHost: apus\r\nConnection: close\r\nAuthorization: Bearer {token}\r\nContent-Length: 0\r\n\r\n".encode())
        return read_response(s)
    finally:
        s.close()
r = patch(f"/v1/domains/{wid}", {"weight": 300, "cap": 25})
check(r[0] == 200 and not conforms("PATCH", "/v1/domains/{domain}", r[0], r[2]) and json.loads(r[2])["weight"] == 300
      and json.loads(r[2])["cap"] == 25, f"PATCH weight 300 cap 25: 200 ({r[0]} {r[2]!r})")
r = request("GET", "/v1/domains/web-1", token=token)
check(r[0] == 200 and json.loads(r[2])["weight"] == 300 and json.loads(r[2])["cap"] == 25, f"GET after PATCH: weight 300 cap 25 ({r[2]!r})")
r = patch("/v1/domains/web-1", {"cap": 0})
check(r[0] == 200 and json.loads(r[2])["weight"] == 300 and json.loads(r[2])["cap"] == 0, f"PATCH cap 0 keeps weight 300 ({r[0]} {r[2]!r})")
r = patch("/v1/domains/web-1", {"memory_target": 2048})
check(r[0] == 200 and not conforms("PATCH", "/v1/domains/{domain}", r[0], r[2]), f"PATCH memory_target 2048: 200 ({r[0]} {r[2]!r})")
for bad, status, needle in (({"colour": 1}, 400, "unknown key 'colour'"), ({"weight": 0}, 400, "'weight' must be"),
                            ({"cap": 101}, 400, "'cap' must be"), ({}, 400, "nothing to change"), (b"{", 400, "malformed JSON")):
    r = patch("/v1/domains/web-1", bad)
    check(r[0] == status and not conforms("PATCH", "/v1/domains/{domain}", r[0], r[2]) and needle in json.loads(r[2])["error"],
          f"PATCH {bad!r}: {status} naming '{needle}' ({r[0]} {r[2]!r})")
r = patch("/v1/domains/nosuch", {"weight": 5})
check(r[0] == 404, f"PATCH nosuch: 404 ({r[0]})")
r = patch("/v1/domains/0", {"memory_target": 1024})
check(r[0] == 409 and not conforms("PATCH", "/v1/domains/{domain}", r[0], r[2]), f"PATCH dom0 memory_target: 409 ({r[0]})")
for verb in ("shutdown", "reboot"):
    r = post(f"/v1/domains/{wid}/{verb}?wait=false", b"")
    check(r[0] == 202 and not conforms("POST", "/v1/domains/{domain}/" + verb, r[0], r[2]) and json.loads(r[2])["id"] == wid,
          f"POST {verb}?wait=false: 202 at once ({r[0]} {r[2]!r})")
    # spinner ignores control/shutdown: the waiting request is answered 202 when its timeout passed,
    # with the domain still up.
    # (dom0's seconds are guest time: on a loaded host they take far longer on the wall.)
    r = post_waiting(f"/v1/domains/{wid}/{verb}?timeout=1", 300)
    check(r is not None and r[0] == 202 and not conforms("POST", "/v1/domains/{domain}/" + verb, r[0], r[2]) and json.loads(r[2])["state"] != "shutdown",
          f"POST {verb}?timeout=1 to a guest that ignores it: 202, not stopped ({r and r[0]} {r and r[2]!r})")
    for bad in ("timeout=301", "timeout=x", "wait=maybe", "colour=red", "wait=false&timeout=5"):
        r = post(f"/v1/domains/{wid}/{verb}?{bad}", b"")
        check(r[0] == 400 and not conforms("POST", "/v1/domains/{domain}/" + verb, r[0], r[2]), f"POST {verb}?{bad}: 400 ({r[0]} {r[2]!r})")
    for path, status in ((f"/v1/domains/0/{verb}", 409), (f"/v1/domains/nosuch/{verb}", 404)):
        r = post(path, b"")
        check(r[0] == status and not conforms("POST", "/v1/domains/{domain}/" + verb, r[0], r[2]), f"POST {path}: {status} ({r[0]})")
r = request("GET", f"/v1/domains/{wid}/shutdown", token=token)
check(r[0] == 405, f"GET .../shutdown: 405 ({r[0]})")
# A waiting shutdown whose domain is destroyed meanwhile is answered 409.
waiting = {}
t = threading.Thread(target=lambda: waiting.update(r=post_waiting(f"/v1/domains/{wid}/shutdown?timeout=200", 300)))
t.start()
until = time.time() + 60
while time.time() < until and not re.search(rf"http: waiting up to 200 s for d{wid} to stop", open(log_path, errors="replace").read()):
    time.sleep(0.3)
r = request("DELETE", "/v1/domains/web-1", token=token)
check(r[0] == 200, f"DELETE web-1: 200 ({r[0]})")
t.join(60)
r = waiting.get("r")
check(r is not None and r[0] == 409 and not conforms("POST", "/v1/domains/{domain}/shutdown", r[0], r[2])
      and "destroyed before it shut down" in json.loads(r[2])["error"], f"a waiting shutdown of a domain destroyed meanwhile: 409 ({r and r[0]} {r and r[2]!r})")
r = request("GET", "/v1/host", token=token)
check(r[0] == 200 and json.loads(r[2])["domains"] == len(domains) - 1, "after create and destroy, as many domains as before")

# 9b. A guest that honours control/shutdown (Xen's Mini-OS): POST shutdown waits until it stopped and
# answers 200 with the stopped domain; the shell's reaper then destroys it.
r = post("/v1/domains", {"name": "minios-1", "kernel": "mini-os.elf", "memory": 16})
check(r[0] == 201 and not conforms("POST", "/v1/domains", r[0], r[2]), f"POST /v1/domains minios-1 (Mini-OS): 201 ({r[0]} {r[2]!r})")
mid = json.loads(r[2]).get("id", 98) if r[0] == 201 else 98
until = time.time() + 120
while time.time() < until and not re.search(rf"^\(d{mid}\) .*dummy main", open(log_path, errors="replace").read(), re.M):
    time.sleep(0.5)
r = post(f"/v1/domains/{mid}/pause", b"")
check(r[0] == 200 and json.loads(r[2])["state"] == "paused", f"pause minios-1: 200 ({r[0]})")
r = post(f"/v1/domains/{mid}/unpause", b"")
check(r[0] == 200 and json.loads(r[2])["state"] != "paused", f"unpause minios-1: 200 ({r[0]})")
r = post_waiting(f"/v1/domains/{mid}/shutdown?timeout=120", 600)
answer = json.loads(r[2]) if r else {}
check(r is not None and r[0] == 200 and not conforms("POST", "/v1/domains/{domain}/shutdown", r[0], r[2]) and answer.get("id") == mid
      and answer.get("state") == "shutdown" and answer.get("shutdown_reason") == "poweroff",
      f"POST shutdown to Mini-OS: 200 once it stopped, state shutdown, reason poweroff ({r and r[0]} {r and r[2]!r})")
# The reaper destroys it (the stream says so below); then it is gone.
stream.wait_for(lambda ev: any(e[1] == "destroyed" and isinstance(e[2], dict) and e[2].get("name") == "minios-1" for e in ev), 60)
r = request("GET", f"/v1/domains/{mid}", token=token)
check(r[0] == 404, f"minios-1 is gone once reaped ({r[0]})")

# 10. Scripts/apusctl (the host's xl-like client) drives one lifecycle: list, create from a .cfg file,
# pause, unpause, sched-credit, destroy, list again; a refusal exits 1 with dom0's error.
import subprocess
import tempfile
apusctl = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "Scripts", "apusctl")
env = dict(os.environ, APUS_URL=f"http://127.0.0.1:{port}", APUS_TOKEN=token)
def ctl(*args):
    p = subprocess.run([sys.executable, apusctl, *args], env=env, capture_output=True, text=True, timeout=300)
    print(f"apusctl {' '.join(args)} -> {p.returncode}: {p.stdout.strip()} {p.stderr.strip()}", flush=True)
    return p.returncode, p.stdout, p.stderr
rc, out, _ = ctl("list")
check(rc == 0 and re.search(r"^Domain-0\s+0\s", out, re.M) is not None and "app-1" not in out, "apusctl list: Domain-0, no app-1")
with tempfile.NamedTemporaryFile("w", suffix=".cfg", delete=False) as f:
    f.write('# made by http-client.py\nname = "app-1"\nkernel = "spinner.elf"\nmemory = 4  # MiB\nweight = 128\n')
rc, out, _ = ctl("create", f.name)
os.remove(f.name)
m = re.match(r"created d(\d+) \(app-1\)$", out.strip())
check(rc == 0 and m is not None, f"apusctl create FILE.cfg: created dN (app-1) ({out.strip()!r})")
aid = m.group(1) if m else "app-1"
rc, out, _ = ctl("pause", "app-1")
check(rc == 0 and out.strip() == f"paused d{aid} (app-1): paused", f"apusctl pause ({out.strip()!r})")
rc, out, _ = ctl("list")
check(rc == 0 and re.search(rf"^app-1\s+{aid}\s+4096\s+128\s+0\s+--p---", out, re.M) is not None, f"apusctl list shows app-1 paused, weight 128")
rc, out, _ = ctl("unpause", aid)
check(rc == 0 and out.startswith(f"unpaused d{aid} (app-1): ") and "paused\n" not in out.split(":")[-1], f"apusctl unpause ({out.strip()!r})")
rc, out, _ = ctl("sched-credit", "app-1", "-w", "640", "-c", "10")
check(rc == 0 and json.loads(out)["weight"] == 640 and json.loads(out)["cap"] == 10, "apusctl sched-credit -w 640 -c 10")
rc, out, _ = ctl("top", "--iterations", "2", "--delay", "2")
tables = [t for t in out.split("\n\n") if t.strip()]
rows = re.findall(r"^\s*(\S+)\s+(\d+)\s+(\S+)\s+([\d.]+)\s+([\d.]+)\s+(\d+)\s+([\d.]+)\s+(\d+)\s+(\d+)\s*$", out, re.M)
dom0_rows = [r for r in rows if r[0] == "Domain-0"]
app_rows = [r for r in rows if r[0] == "app-1"]
# CPU% is measured against dom0's clock (uptime_ms); the hypervisor accounts CPU time in slices, so
# one short sample of a capped spinner may show 0 or more than its cap: only the range is checked.
check(rc == 0 and len(tables) == 2 and len(dom0_rows) == 2 and len(app_rows) == 2 and all(0 <= float(r[4]) <= 100 for r in rows),
      f"apusctl top --iterations 2: two tables, Domain-0 and app-1 in each, CPU% within 0-100 ({len(tables)} tables, {rows})")
rc, out, err = ctl("create", "--json", json.dumps({"name": "app-1", "kernel": "spinner.elf", "memory": 4}))
check(rc == 1 and "409" in err and "name exists" in err, f"apusctl create --json with a name in use: exit 1, 409 ({err.strip()!r})")
rc, out, err = ctl("shutdown", "app-1", "--wait", "1")
check(rc == 1 and "did not stop within 1 s" in err, f"apusctl shutdown --wait 1 of a guest that ignores it: exit 1 ({err.strip()!r})")
rc, out, _ = ctl("destroy", "app-1")
check(rc == 0 and out.strip() == f"destroyed d{aid}", f"apusctl destroy ({out.strip()!r})")
rc, out, _ = ctl("list")
check(rc == 0 and "app-1" not in out and "Domain-0" in out, "apusctl list: app-1 gone")
rc, out, err = ctl("info", "app-1")
check(rc == 1 and "404" in err, f"apusctl info of a destroyed domain: exit 1, 404 ({err.strip()!r})")

# 11. The event stream carried each domain's lifecycle, in order, numbered without a gap, every data
# object valid against the document; keep-alive comments while nothing happened; at most 4 streams;
# a Last-Event-ID replays what dom0 kept; apusctl events prints the stream and apusctl top samples it.
stream.wait_for(lambda ev: any(e[1] == "destroyed" and isinstance(e[2], dict) and e[2].get("name") == "app-1" for e in ev), 30)
seen = stream.snapshot()
expected = {"spinner-2": ["created", "destroyed"],
            "web-1": ["created", "paused", "unpaused", "destroyed"],
            "minios-1": ["created", "paused", "unpaused", "shutdown", "destroyed"],
            "app-1": ["created", "paused", "unpaused", "destroyed"]}
for name, kinds in expected.items():
    check(stream.of(name) == kinds, f"the stream carried {name}: {' '.join(kinds)} ({stream.of(name)})")
stop = [e for e in seen if e[1] == "shutdown" and isinstance(e[2], dict) and e[2].get("name") == "minios-1"]
check(len(stop) == 1 and stop[0][2].get("reason") == "poweroff" and stop[0][2].get("state") == "shutdown" and stop[0][2].get("id") == mid,
      f"minios-1's shutdown event has reason poweroff ({stop and stop[0][2]})")
sequences = [e[0] for e in seen]
check(len(seen) > 0 and sequences == list(range(sequences[0], sequences[0] + len(seen))) and sequences[0] == 1,
      f"event ids run 1, 2, 3... without a gap ({sequences})")
invalid = [(e[1], e[2], validate(e[2], {"$ref": "#/components/schemas/LifecycleEvent"})) for e in seen
           if not isinstance(e[2], dict) or validate(e[2], {"$ref": "#/components/schemas/LifecycleEvent"})]
check(not invalid and all(e[1] in ("created", "paused", "unpaused", "shutdown", "crashed", "destroyed") for e in seen),
      f"every event's data is a LifecycleEvent ({invalid[:3]})")
check(all(e[2]["state"] == "destroyed" for e in seen if e[1] == "destroyed") and all(e[2]["state"] == "paused" for e in seen if e[1] == "paused"),
      "destroyed and paused events carry those states")
check(stream.comments >= 1 and not stream.problems and not stream.closed, f"keep-alive comments on a quiet stream ({stream.comments}, {stream.problems}, closed {stream.closed})")
more = [EventStream(port, token) for _ in range(3)]
fifth = EventStream(port, token)
check(all(m.status == 200 for m in more) and fifth.status == 503 and not validate(json.loads(fifth.body or b"{}"), {"$ref": "#/components/schemas/Error"}),
      f"4 streams at once, a fifth gets 503 ({[m.status for m in more]}, {fifth.status} {fifth.body[:80]!r})")
for m in more + [fifth]:
    m.close()
replay = EventStream(port, token, last_event_id=sequences[-3] if len(sequences) >= 3 else 0)
replay.wait_for(lambda ev: len(ev) >= 2, 20)
check([(e[0], e[1], e[2]) for e in replay.snapshot()] == [(e[0], e[1], e[2]) for e in seen[-2:]],
      f"Last-Event-ID {sequences[-3] if len(sequences) >= 3 else 0}: the two later events replayed ({[(e[0], e[1]) for e in replay.snapshot()]})")
replay.close()
rc, out, _ = ctl("events", "--since", "0", "--count", "3")
lines = out.strip().splitlines()
first3 = [f"{e[0]} {e[1]} d{e[2]['id']} ({e[2]['name']})" for e in seen[:3]]
check(rc == 0 and len(lines) == 3 and all(l.startswith(f) for l, f in zip(lines, first3)), f"apusctl events --since 0 --count 3: the first three ({lines} vs {first3})")
stream.close()

# 12. The console endpoint on a real guest (Mini-OS), with apusctl console (Tests/Scenarios/http_console.py).
sys.dont_write_bytecode = True
import http_console
def ctl_start(*args):
    return subprocess.Popen([sys.executable, apusctl, *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
try:
    http_console.run(lambda method, path, body=b"": request(method, path, token=token, body=body), post, check, conforms, ctl, ctl_start)
except Exception as e:
    check(False, f"the console checks stopped: {e!r}")

# 13. Kernels uploaded over the API (POST /v1/kernels): Xen's unmodified Mini-OS, sent by `apusctl
# upload-kernel`, is checked and kept by dom0, listed and shown, then booted as a domain (its own
# console line, relayed to the serial log under its id, proves it ran); refusals: a text file, a
# truncated ELF, a duplicate or initrd name, a bad name, too large a body, a fifth kernel, deleting an
# initrd kernel, creating from an unknown name; delete frees it and the name is unknown again.
def kernels():
    repo = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
    path = os.path.join(repo, "..", "shared", "guests", "mini-os", "mini-os.elf")
    image = open(path, "rb").read()

    def upload(body, query=""):
        return request("POST", "/v1/kernels" + query, token=token, extra="Content-Type: application/octet-stream\r\n", body=body)

    def refused_with(r, template, method, status, needle, what):
        ok = r is not None and r[0] == status and not conforms(method, template, r[0], r[2]) and needle in json.loads(r[2])["error"]
        check(ok, f"{what}: {status} naming '{needle}' ({r and r[0]} {r and r[2][:160]!r})")

    r = request("GET", "/v1/kernels", token=token)
    problems = conforms("GET", "/v1/kernels", r[0], r[2])
    listed = {k["name"]: k for k in json.loads(r[2])} if r[0] == 200 else {}
    check(r[0] == 200 and not problems and listed.get("mini-os.elf", {}).get("source") == "initrd"
          and listed.get("spinner.elf", {}).get("source") == "initrd" and not any(k["source"] == "upload" for k in listed.values()),
          f"GET /v1/kernels: the initrd's kernels, no upload yet {problems} {sorted(listed)}")
    rc, out, _ = ctl("upload-kernel", path, "--name", "minios-up")
    check(rc == 0 and out.strip().startswith(f"uploaded minios-up: {len(image)} bytes, entry 0x") and out.strip().endswith("Mini-OS"),
          f"apusctl upload-kernel mini-os.elf --name minios-up ({out.strip()!r})")
    r = request("GET", "/v1/kernels/minios-up", token=token)
    k = json.loads(r[2]) if r[0] == 200 else {}
    problems = conforms("GET", "/v1/kernels/{name}", r[0], r[2])
    check(r[0] == 200 and not problems and k["source"] == "upload" and k["size"] == len(image) and k["xen_notes"]["guest_os"] == "Mini-OS"
          and k["xen_notes"]["found_in"] == "sections" and k["image_start"] <= k["entry"] < k["image_end"],
          f"GET /v1/kernels/minios-up: the upload with Mini-OS's notes {problems} ({r[0]} {r[2][:200]!r})")
    rc, out, _ = ctl("kernels")
    check(rc == 0 and re.search(r"^minios-up\s+upload\s+%d\s+0x[0-9a-f]{8}\s+Mini-OS" % len(image), out, re.M) is not None
          and re.search(r"^mini-os\.elf\s+initrd\s", out, re.M) is not None, "apusctl kernels: minios-up (upload) beside mini-os.elf (initrd)")

    # Refusals of uploads: each leaves the store as it was.
    refused_with(upload(image, "?name=minios-up"), "/v1/kernels", "POST", 409, "exists", "a second upload named minios-up")
    refused_with(upload(image, "?name=mini-os.elf"), "/v1/kernels", "POST", 409, "exists", "an upload named like an initrd file")
    refused_with(upload(image, "?name=a%2Fb"), "/v1/kernels", "POST", 400, "kernel name", "an upload named a/b")
    refused_with(upload(image, "?name=%zz"), "/v1/kernels", "POST", 400, "percent escape", "a malformed query")
    refused_with(upload(b"#!/bin/sh\necho this is a text file, not a kernel\n", "?name=text"), "/v1/kernels", "POST", 422,
                 "not an ELF file", "a text file as a kernel")
    refused_with(upload(image[:len(image) // 2], "?name=half"), "/v1/kernels", "POST", 422, "not a loadable 32-bit PAE PV kernel",
                 "a truncated Mini-OS")
    elf64 = bytearray(image)
    elf64[4] = 2
    refused_with(upload(bytes(elf64), "?name=wide"), "/v1/kernels", "POST", 422, "not a 32-bit ELF file", "an ELFCLASS64 image")
    (r, closed) = raw(f"POST /v1/kernels?name=big HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer {token}\r\nContent-Length: {1024 * 1024 + 1}\r\n\r\n".encode())
    check(r is not None and r[0] == 413 and not conforms("POST", "/v1/kernels", r[0], r[2]) and closed,
          f"an upload announcing 1 MiB + 1 byte: 413, closed ({r and r[0]})")
    (r, closed) = raw(f"POST /v1/domains HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer {token}\r\nContent-Length: 100000\r\n\r\n".encode())
    check(r is not None and r[0] == 413 and closed, f"other endpoints keep their 64 KiB body limit: 413 ({r and r[0]})")
    r = request("GET", "/v1/kernels", token=token)
    check(r[0] == 200 and [k["name"] for k in json.loads(r[2]) if k["source"] == "upload"] == ["minios-up"], "after the refusals: only minios-up uploaded")

    # One large body at a time: while a connection is sending an upload, another's gets 503 (dom0's
    # heap holds one body in flight); the first then completes.
    first = connect()
    first.sendall(f"POST /v1/kernels?name=concurrent HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer {token}\r\n"
                  f"Connection: close\r\nContent-Length: {len(image)}\r\n\r\n".encode() + image[:4096])
    # Long enough for dom0 to take the first part, short next to its 10 s idle timeout even when its
    # clock races ahead while it idles (icount with sleep=off).
    time.sleep(0.3)
    (r, closed) = raw(f"POST /v1/kernels?name=second HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer {token}\r\nContent-Length: {len(image)}\r\n\r\n".encode() + image)
    check(r is not None and r[0] == 503 and not conforms("POST", "/v1/kernels", r[0], r[2]) and "in progress" in json.loads(r[2])["error"] and closed,
          f"a second upload while one is in flight: 503, closed ({r and r[0]} {r and r[2]!r})")
    first.sendall(image[4096:])
    r = read_response(first)
    first.close()
    check(r is not None and r[0] == 201 and json.loads(r[2])["name"] == "concurrent", f"the first upload then completes: 201 ({r and r[0]})")
    r = request("DELETE", "/v1/kernels/concurrent", token=token)
    check(r[0] == 200, f"DELETE /v1/kernels/concurrent: 200 ({r[0]})")

    # A generated name; the limit of 4 kept kernels (507); deletes free them.
    r = upload(image)
    gen = json.loads(r[2]).get("name", "") if r[0] == 201 else ""
    check(r[0] == 201 and not conforms("POST", "/v1/kernels", r[0], r[2]) and re.fullmatch(r"kernel-\d+", gen) is not None
          and r[1].get("location") == f"/v1/kernels/{gen}", f"an upload without a name: 201, {gen!r}, Location ({r[0]} {r[1].get('location')})")
    for n in ("extra-3", "extra-4"):
        r = upload(image, f"?name={n}")
        check(r[0] == 201, f"upload {n}: 201 ({r[0]})")
    refused_with(upload(image, "?name=extra-5"), "/v1/kernels", "POST", 507, "at most 4", "a fifth kernel")
    for n in (gen, "extra-3", "extra-4"):
        r = request("DELETE", f"/v1/kernels/{n}", token=token)
        check(r[0] == 200 and not conforms("DELETE", "/v1/kernels/{name}", r[0], r[2]) and json.loads(r[2])["deleted"] == n, f"DELETE /v1/kernels/{n}: 200")
    refused_with(request("DELETE", "/v1/kernels/mini-os.elf", token=token), "/v1/kernels/{name}", "DELETE", 409, "initrd", "DELETE of an initrd kernel")
    refused_with(request("DELETE", f"/v1/kernels/{gen}", token=token), "/v1/kernels/{name}", "DELETE", 404, "no such kernel", "DELETE of a deleted kernel")
    refused_with(request("GET", "/v1/kernels/nosuch", token=token), "/v1/kernels/{name}", "GET", 404, "no such kernel", "GET of an unknown kernel")

    # The uploaded Mini-OS boots: dom0 builds the domain from the bytes it keeps.
    r = post("/v1/domains", {"name": "mini-up", "kernel": "minios-up", "memory": 16})
    dom = json.loads(r[2]) if r[0] == 201 else {}
    check(r[0] == 201 and not conforms("POST", "/v1/domains", r[0], r[2]) and dom.get("name") == "mini-up",
          f"POST /v1/domains with kernel minios-up: 201 ({r[0]} {r[2][:160]!r})")
    booted = None
    until = time.time() + 90
    while "id" in dom and time.time() < until and booted is None:
        booted = re.search(r"^\(d%d\) .*kernel\.c: dummy main: par=" % dom["id"], open(log_path, errors="replace").read(), re.M)
        time.sleep(1)
    check(booted is not None, f"the uploaded Mini-OS runs: d{dom.get('id')} printed 'kernel.c: dummy main' on its console")
    refused_with(post("/v1/domains", {"name": "mini-2", "kernel": "nosuch-kernel", "memory": 16}), "/v1/domains", "POST", 404,
                 "nor an uploaded kernel", "POST /v1/domains with an unknown kernel")
    r = request("DELETE", "/v1/domains/mini-up", token=token)
    check(r[0] == 200, f"DELETE mini-up: 200 ({r[0]})")
    rc, out, _ = ctl("delete-kernel", "minios-up")
    check(rc == 0 and out.strip() == "deleted minios-up", f"apusctl delete-kernel minios-up ({out.strip()!r})")
    r = request("GET", "/v1/kernels", token=token)
    check(r[0] == 200 and not any(k["source"] == "upload" for k in json.loads(r[2])), "GET /v1/kernels: no upload left")
    refused_with(post("/v1/domains", {"name": "mini-3", "kernel": "minios-up", "memory": 16}), "/v1/domains", "POST", 404,
                 "nor an uploaded kernel", "POST /v1/domains naming the deleted kernel")


kernels()

# 14. Load: keep-alive GETs from all 16 connection slots at once (the event stream closed above)
# (Tests/Scenarios/http_concurrency.py); dom0 stops on any heap allocation in an event upcall.
import http_concurrency
answered, problems = http_concurrency.run(port, token, clients=16, requests=320)
check(not problems and answered == 320, f"16 keep-alive clients, 320 GET /v1/domains at once: all 200 ({answered}; {problems[:3]})")

# 15. Robustness (http_churn.py): a domU with a vif and a disk from the create body, 16 clients creating
# and destroying domains at once beside a silent connection, connections past the 16 slots, and no
# frame, domain or heap leak across it all (GET /v1/host's counters).
import http_churn
try:
    http_churn.run(http_churn.Api(port, token, request, check, conforms, read_response), log_path)
except Exception as e:
    check(False, f"the churn checks stopped: {e!r}")

finish()
sys.exit(0 if not failures else 1)
