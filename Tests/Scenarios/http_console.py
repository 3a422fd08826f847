"""http_console.py: the http scenario's checks of GET and POST /v1/domains/{id}/console (issue #15),
run by http-client.py with its request/check/conforms helpers. It creates Xen's unmodified Mini-OS
(mini-os.elf from dom0's initrd) through the API, reads the lines Mini-OS really printed on its console
ring ("kernel.c: dummy main: par=..."), types into its console input ring one byte per request (Mini-OS
echoes what it reads, one byte per event, and answers a carriage return with "No console input
handler.") and reads the echo back, drives `apusctl console` (lines, --follow, --send), tries the
refusals (unknown domain, dom0, an empty and an oversized body, a bad query, a full ring), and
destroys it: its console is then gone."""
import json
import re
import subprocess
import sys
import time


def run(request, post, check, conforms, ctl, ctl_start):
    path = "/v1/domains/con-1/console"
    schema = "/v1/domains/{domain}/console"

    def read(query=""):
        r = request("GET", path + query)
        problems = conforms("GET", schema, r[0], r[2])
        return r[0], (json.loads(r[2]) if r[0] == 200 else {}), problems

    def wait_for(what, until, seconds=60):
        """Polls GET until `until(body)` holds; the last body."""
        deadline = time.time() + seconds
        body = {}
        while time.time() < deadline:
            status, body, _ = read("?lines=50")
            if status == 200 and until(body):
                return body, True
            time.sleep(0.3)
        print(f"timed out waiting for {what}: {body}", flush=True)
        return body, False

    def type_slowly(text):
        """One byte per POST, each echoed before the next (Mini-OS writes a NUL after the byte it reads,
        over the next slot of its ring: it takes input as a person types it)."""
        ok = True
        typed = ""
        for ch in text:
            r = post(path, ch.encode())
            ok = ok and r[0] == 200 and json.loads(r[2])["accepted"] == 1 and not conforms("POST", schema, r[0], r[2])
            typed += ch
            if ch == "\r":
                line = typed[:-1]
                _, seen = wait_for(f"the echo of {line!r}", lambda b: b["lines"][-2:] == [line, "No console input handler."])
                typed = ""
            else:
                _, seen = wait_for(f"the echo of {ch!r}", lambda b: b["partial"].endswith(typed), 10)
            ok = ok and seen
        return ok

    # 1. Mini-OS, created through the API; its banner line comes through its console ring.
    r = post("/v1/domains", {"name": "con-1", "kernel": "mini-os.elf", "memory": 16})
    check(r[0] == 201, f"POST /v1/domains mini-os.elf as con-1: 201 ({r[0]} {r[2]!r})")
    cid = json.loads(r[2]).get("id", 0) if r[0] == 201 else 0
    body, seen = wait_for("Mini-OS's banner", lambda b: any(re.search(r"kernel\.c: dummy main: par=", l) for l in b["lines"]))
    status, body, problems = read()
    check(seen and status == 200 and not problems and body["id"] == cid and body["bytes_seen"] >= body["bytes_held"] > 0
          and not body["truncated"], f"GET {path}: Mini-OS's lines, matching ConsoleOutput {problems} ({str(body)[:300]})")
    check(any(re.search(r"kernel\.c: dummy main: par=", l) for l in body.get("lines", [])), "the lines hold Mini-OS's 'kernel.c: dummy main: par='")
    status, one, problems = read("?lines=1")
    check(status == 200 and not problems and one["lines"] == body["lines"][-1:], f"?lines=1: the last line only ({one.get('lines')})")
    r = request("GET", f"/v1/domains/{cid}/console?lines=0")
    check(r[0] == 200 and json.loads(r[2])["lines"] == [] and json.loads(r[2])["bytes_seen"] == body["bytes_seen"],
          f"by id, ?lines=0: no lines, the same byte count ({r[0]})")
    cursor = body["cursor"]

    # 2. Input: typed into its `in` ring, echoed by Mini-OS on its `out` ring, read back.
    check(type_slowly("hello from http\r"), "POST .../console one byte at a time: each accepted and echoed by Mini-OS")
    status, news, problems = read(f"?since={cursor}")
    check(status == 200 and not problems and news["lines"] == ["hello from http", "No console input handler."] and news["partial"] == "",
          f"?since=cursor: only the two new lines ({news.get('lines')} {news.get('partial')!r})")

    # 3. apusctl console: the lines; --follow prints new ones as they come; --send types.
    rc, out, _ = ctl("console", "con-1")
    check(rc == 0 and "kernel.c: dummy main: par=" in out and out.rstrip("\n").endswith("hello from http\nNo console input handler."),
          "apusctl console con-1: Mini-OS's lines and the echo")
    rc, out, _ = ctl("console", str(cid), "--lines", "1")
    check(rc == 0 and out == "No console input handler.\n", f"apusctl console ID --lines 1 ({out!r})")
    follower = ctl_start("console", "con-1", "--follow", "--lines", "0")
    time.sleep(2)
    typed = type_slowly("follow me\r")
    time.sleep(2)
    follower.terminate()
    out, _ = follower.communicate(timeout=10)
    print(f"apusctl console con-1 --follow printed {out!r}", flush=True)
    check(typed and out == "follow me\nNo console input handler.\n", f"apusctl console --follow: each new line once ({out!r})")
    rc, out, _ = ctl("console", "con-1", "--send", "!")
    check(rc == 0 and out.strip() == f"sent 1 of 1 bytes to d{cid}'s console", f"apusctl console --send ({out.strip()!r})")
    _, seen = wait_for("the echo of '!'", lambda b: b["partial"] == "!", 10)
    rc, out, _ = ctl("console", "con-1", "--lines", "0")
    check(seen and rc == 0 and out == "!\n", f"apusctl console --lines 0: the unfinished line ({out!r})")
    rc, out, err = ctl("console", "0", "--send", "x")
    check(rc == 1 and "409" in err, f"apusctl console 0 --send: exit 1, 409 ({err.strip()!r})")

    # 4. Refusals.
    for method, target, data, status in (
            ("GET", "/v1/domains/nosuch/console", None, 404),
            ("POST", "/v1/domains/nosuch/console", b"x", 404),
            ("GET", "/v1/domains/0/console", None, 409),
            ("POST", "/v1/domains/0/console", b"x", 409),
            ("POST", path, b"y" * 2000, 413),
            ("POST", path, b"", 400),
            ("GET", path + "?lines=5000", None, 400),
            ("GET", path + "?since=x", None, 400)):
        r = post(target, data) if method == "POST" else request("GET", target)
        check(r[0] == status and not conforms(method, schema, r[0], r[2]), f"{method} {target} ({len(data or b'')} bytes): {status} ({r[0]} {r[2]!r})")
    r = request("PUT", path)
    check(r[0] == 405, f"PUT {path}: 405 ({r[0]})")

    # 5. A full ring: with Mini-OS paused nothing is consumed; 1024 bytes fill `in`, the next byte is refused.
    r = post(f"/v1/domains/{cid}/pause", b"")
    check(r[0] == 200, f"pause con-1 ({r[0]})")
    r = post(path, b"z" * 1024)
    check(r[0] == 200 and json.loads(r[2]) == {"id": cid, "accepted": 1024, "sent": 1024}, f"1024 bytes fill the paused domain's ring ({r[0]} {r[2]!r})")
    r = post(path, b"z")
    check(r[0] == 409 and "full" in json.loads(r[2])["error"], f"the next byte: 409, ring full ({r[0]} {r[2]!r})")

    # 6. Destroyed: its console goes with it.
    r = request("DELETE", "/v1/domains/con-1")
    check(r[0] == 200, f"DELETE con-1: 200 ({r[0]})")
    r = request("GET", f"/v1/domains/{cid}/console")
    check(r[0] == 404, f"the destroyed domain's console: 404 ({r[0]})")
