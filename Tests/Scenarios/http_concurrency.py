"""http_concurrency.py: the http scenario's load check of dom0's API server, used by http-client.py:
keep-alive connections at once (dom0 has 16 connection slots; the scenario's event stream holds one), each sending GET /v1/domains in a
loop, a few hundred requests in all, every answer checked (200, a JSON list naming dom0). Under this load
dom0's network card interrupts all the time, so an event upcall lands inside the main loop's malloc or
free again and again: it once corrupted dom0's heap (the pirq EOI allocated its hypercall argument) and
crashed dom0 in about one boot in five; dom0 now stops on any allocation in an upcall (Traps.swift).
Standard library only; it never stops dom0 and leaves no connection open."""
import http.client
import json
import threading


def run(port, token, clients=15, requests=300, timeout=120):
    """Returns (answered, failures): how many requests got a correct answer, and what went wrong."""
    CLIENTS = clients
    failures = []
    answered = [0] * CLIENTS
    conns = [http.client.HTTPConnection("127.0.0.1", port, timeout=timeout) for _ in range(CLIENTS)]
    shares = [requests // CLIENTS + (1 if i < requests % CLIENTS else 0) for i in range(CLIENTS)]
    start = threading.Barrier(CLIENTS)

    def client(i):
        try:
            start.wait(timeout)
            for _ in range(shares[i]):
                conns[i].request("GET", "/v1/domains", headers={"Authorization": f"Bearer {token}"})
                r = conns[i].getresponse()
                body = r.read()
                if r.status != 200 or not any(d.get("id") == 0 for d in json.loads(body)):
                    failures.append(f"client {i}: {r.status} {body[:80]!r}")
                    return
                answered[i] += 1
        except Exception as e:                       # noqa: BLE001 (any failure is the verdict's)
            failures.append(f"client {i}: {type(e).__name__}: {e}")
        finally:
            conns[i].close()

    threads = [threading.Thread(target=client, args=(i,)) for i in range(CLIENTS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout * 2)
    if any(t.is_alive() for t in threads):
        failures.append("a client never finished")
    return sum(answered), failures
