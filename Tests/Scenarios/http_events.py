"""http_events.py: the http scenario's reader of dom0's GET /v1/events (a text/event-stream), used by
http-client.py: opens a stream on its own connection and parses it as the HTML server-sent events
format says (fields id, event, data; ':' comments; a blank line dispatches), in a thread, keeping every
event with the wall-clock time it arrived. Standard library only."""
import json
import socket
import threading
import time


class EventStream:
    def __init__(self, port, token, last_event_id=None, timeout=30):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        h = f"GET /v1/events HTTP/1.1\r\nHost: apus\r\nAuthorization: Bearer {token}\r\nAccept: text/event-stream\r\n"
        if last_event_id is not None:
            h += f"Last-Event-ID: {last_event_id}\r\n"
        self.sock.sendall((h + "\r\n").encode())
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = self.sock.recv(4096)
            if not chunk:
                break
            data += chunk
        head, _, rest = data.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        self.status = int(lines[0].split(" ")[1]) if lines and " " in lines[0] else 0
        self.headers = {}
        for l in lines[1:]:
            k, _, v = l.partition(":")
            self.headers[k.strip().lower()] = v.strip()
        self.body = rest
        self.events = []        # (sequence, name, data dict or the raw text, arrival time)
        self.comments = 0
        self.retry = None
        self.problems = []
        self.closed = False
        self.lock = threading.Lock()
        self.thread = None
        if self.status == 200:
            self.sock.settimeout(None)
            self.thread = threading.Thread(target=self._run, daemon=True)
            self.thread.start()

    def _run(self):
        buffer = self.body
        fields = {}
        while True:
            while b"\n" in buffer:
                line, _, buffer = buffer.partition(b"\n")
                text = line.decode("utf-8", "replace").rstrip("\r")
                if text == "":
                    if "event" in fields or "data" in fields:
                        self._dispatch(fields)
                    fields = {}
                elif text.startswith(":"):
                    with self.lock:
                        self.comments += 1
                else:
                    name, _, value = text.partition(":")
                    value = value[1:] if value.startswith(" ") else value
                    if name == "retry":
                        self.retry = value
                    elif name in fields and name == "data":
                        fields["data"] += "\n" + value
                    elif name in ("id", "event", "data"):
                        fields[name] = value
                    else:
                        with self.lock:
                            self.problems.append(f"unknown field {name!r}")
            try:
                chunk = self.sock.recv(65536)
            except OSError:
                chunk = b""
            if not chunk:
                with self.lock:
                    self.closed = True
                return
            buffer += chunk

    def _dispatch(self, fields):
        try:
            data = json.loads(fields.get("data", ""))
        except ValueError:
            data = fields.get("data", "")
        try:
            sequence = int(fields.get("id", ""))
        except ValueError:
            sequence = None
        with self.lock:
            self.events.append((sequence, fields.get("event"), data, time.time()))

    def snapshot(self):
        with self.lock:
            return list(self.events)

    def wait_for(self, predicate, timeout):
        """Waits until predicate(events) holds; whether it did."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            if predicate(self.snapshot()):
                return True
            if self.closed:
                break
            time.sleep(0.2)
        return predicate(self.snapshot())

    def of(self, name):
        """The event names the stream carried for domain `name`, in order."""
        return [e[1] for e in self.snapshot() if isinstance(e[2], dict) and e[2].get("name") == name]

    def close(self):
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()
        if self.thread:
            self.thread.join(5)
