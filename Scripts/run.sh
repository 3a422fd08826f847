#!/usr/bin/env bash
# run.sh QEMU MEMORY DISK [BUILD]: `make run`'s machine. Makes an API token on the host, boots build/apus.iso's
# images with it on dom0's command line (api_token=, in build/run.iso, made for this run), and prints
# the token with a curl line for dom0's HTTP API before QEMU starts. dom0 gets its virtio disk and a
# virtio NIC on QEMU's user network with 127.0.0.1:8080 (APUS_HTTP_PORT picks another) forwarded to
# its port 80, 5555 to its echo port 7 and 5556 to port 7 of 10.0.2.16 (netdemo's echo). A host port
# already taken is not forwarded (said so); the machine still runs. RUN_TIMEOUT=SECONDS stops QEMU
# after that long (for tests). -nodefaults as the scenarios: without the VGA card the disk and the NIC sit
# on different PCI interrupt lines (dom0 does not share a line between two devices). It never writes
# the token anywhere but build/run.iso and the terminal.
set -euo pipefail
qemu=$1 memory=$2 disk=$3 build=${4:-build}
http_port=${APUS_HTTP_PORT:-8080}

free_port() { python3 -c 'import socket,sys; s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(("127.0.0.1", int(sys.argv[1])))' "$1" 2>/dev/null; }

token=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
forwards=""
api=false
if free_port "$http_port"; then
    forwards+=",hostfwd=tcp:127.0.0.1:$http_port-:80"
    api=true
else
    echo "run: 127.0.0.1:$http_port is in use: dom0's HTTP API is not forwarded this time (APUS_HTTP_PORT=N picks another port)"
fi
for pair in 5555-:7 5556-10.0.2.16:7; do
    if free_port "${pair%%-*}"; then forwards+=",hostfwd=tcp:127.0.0.1:$pair"; else echo "run: 127.0.0.1:${pair%%-*} is in use: not forwarded"; fi
done

DOM0_ARGS="api_token=$token" Scripts/make-iso.sh "$build/run.iso" ""

echo "Apus on QEMU: serial console below; quit with Ctrl-A then X. dom0's disk: $disk"
if $api; then
    echo "dom0's HTTP API: http://127.0.0.1:$http_port (docs/openapi.json), token $token"
    echo "  curl -H \"Authorization: Bearer $token\" http://127.0.0.1:$http_port/v1/domains"
    echo "  APUS_URL=http://127.0.0.1:$http_port APUS_TOKEN=$token Scripts/apusctl list"
fi
run=()
[ -n "${RUN_TIMEOUT:-}" ] && run=(timeout --foreground -k 5 "$RUN_TIMEOUT")
exec "${run[@]}" "$qemu" -m "$memory" -cdrom "$build/run.iso" -boot d -nodefaults -display none -serial mon:stdio -no-reboot \
    -drive "file=$disk,if=none,id=d0,format=raw" -device virtio-blk-pci,drive=d0,disable-legacy=on \
    -netdev "user,id=n0$forwards" -device virtio-net-pci,netdev=n0,disable-legacy=on
