#!/usr/bin/env python3
"""devices-client.py PORT RESULT: the host's end of the devices scenario's TCP exchange. Connects to
127.0.0.1:PORT (QEMU forwards it to dom0's port 7), sends a token made of fresh random bytes, and
writes the token to RESULT once the same bytes came back. Until dom0's lwIP listens, QEMU accepts and
drops the connection: it retries for 150 seconds, then gives up (RESULT is then never written)."""
import os
import socket
import sys
import time

port, result = int(sys.argv[1]), sys.argv[2]
token = ("apus-" + os.urandom(12).hex() + "\n").encode()
deadline = time.time() + 150
while time.time() < deadline:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
            s.sendall(token)
            got = b""
            while len(got) < len(token):
                chunk = s.recv(4096)
                if not chunk:
                    break
                got += chunk
            if got == token:
                with open(result + ".tmp", "w") as f:
                    f.write(token.decode().strip() + "\n")
                os.rename(result + ".tmp", result)
                print(f"client: {token.decode().strip()} echoed")
                sys.exit(0)
            print(f"client: got {got!r}; retrying")
    except OSError as e:
        print(f"client: {e}; retrying")
    time.sleep(0.3)
print("client: gave up")
sys.exit(1)
