#!/usr/bin/env python3
"""bench.py: make bench. Boots build/test-bench.iso twice under QEMU with -icount shift=0
(the TSC advances one tick per guest instruction, so counts repeat exactly), collects the
"bench:" lines the hypervisor and dom0 print, checks both runs agree, and writes
build/bench.json and build/bench.md. It reports; it never fails a run for being slow."""
import json
import re
import subprocess
import sys

LINE = re.compile(r"^\((apus|d\d+)\) bench: (native|guest|hv) (\S+) (\d+)$")


def run_once(index: int) -> dict:
    log = f"build/logs/bench-{index}.log"
    cmd = ["timeout", "-k", "5", "180", "qemu-system-x86_64", "-icount", "shift=0,sleep=off", "-rtc", "clock=vm",
           "-nodefaults", "-display", "none", "-no-reboot", "-serial", f"file:{log}",
           "-device", "isa-debug-exit,iobase=0xf4,iosize=4", "-m", "1024", "-cdrom", "build/test-bench.iso", "-boot", "d"]
    status = subprocess.run(cmd, stdin=subprocess.DEVNULL).returncode
    values = {}
    with open(log, errors="replace") as f:
        for line in f:
            m = LINE.match(line.strip())
            if m:
                values[f"{m.group(2)}.{m.group(3)}"] = int(m.group(4))
    if status != 33:
        sys.exit(f"bench: the bench run {index} did not finish cleanly (QEMU exit {status}); see {log}")
    return values


def main() -> None:
    first, second = run_once(1), run_once(2)
    # Absolute TSC values move by a few instructions between runs: the RTC is read at boot and
    # QEMU's RTC starts from the host's clock, so waiting out its update takes a varying time.
    # Every per-operation count must be identical.
    absolute = {"guest.first_instruction_tsc", "hv.entry_tsc"}
    same = {k: x for k, x in first.items() if k not in absolute} == {k: x for k, x in second.items() if k not in absolute}
    boot1 = first["guest.first_instruction_tsc"] - first["hv.entry_tsc"]
    boot2 = second["guest.first_instruction_tsc"] - second["hv.entry_tsc"]
    v = first
    natives = {"call/ret": v["native.call_ret"], "int/iret (ring 0)": v["native.int_iret"],
               "#PF handler (ring 0)": v["native.page_fault"], "PTE write + invlpg": v["native.pte_write_invlpg"]}
    # operation, guest value, baseline name (or None with a reason), ring transitions, CR3 loads (from the code path)
    rows = [
        ("null hypercall (xen_version)", v["guest.null_hypercall"], "call/ret", "2", "0"),
        ("  (same, against an int/iret round trip)", v["guest.null_hypercall"], "int/iret (ring 0)", "2", "0"),
        ("system call ring 3 -> guest kernel (int 0x80, bounced)", v["guest.syscall"], "int/iret (ring 0)", "4", "0"),
        ("page fault bounced to the guest handler", v["guest.page_fault"], "#PF handler (ring 0)", "4", "0"),
        ("mmu_update, 1 entry", v["guest.mmu_update_1"], "PTE write + invlpg", "2", "1"),
        ("mmu_update, batch of 512 (per entry)", v["guest.mmu_update_512_per_entry"], "PTE write + invlpg", "2/512", "1/512"),
        ("update_va_mapping with invlpg", v["guest.update_va_mapping_invlpg"], "PTE write + invlpg", "2", "0"),
        ("event ping-pong round trip between two domUs", v["guest.event_round_trip_ns"], None, "8", "2"),
        ("event send -> handler in the other domain (half a round trip)", v["guest.event_round_trip_ns"] // 2, None, "4", "1"),
        ("boot: apus_main -> dom0 first instruction", v["guest.first_instruction_tsc"] - v["hv.entry_tsc"], None, "1", "1"),
        ("domU build (domctl createdomain, 4 MiB)", v["guest.domain_create_4mib"], None, "2", "0"),
        ("domain switch (scheduler pick + CR3 load + state restore)", v["hv.domain_switch"], None, "1", "1"),
    ]
    reasons = {
        "event ping-pong round trip between two domUs": "needs two domains: no native equivalent",
        "event send -> handler in the other domain (half a round trip)": "needs two domains: no native equivalent",
        "boot: apus_main -> dom0 first instruction": "no native equivalent (includes scrubbing dom0's 64 MiB)",
        "domU build (domctl createdomain, 4 MiB)": "no native equivalent (allocate, scrub, load, validate)",
        "domain switch (scheduler pick + CR3 load + state restore)": "no native equivalent (one address space natively)",
    }
    table = []
    for name, value, base, transitions, cr3 in rows:
        if base:
            b = natives[base]
            ratio = f"{value / b:.0f}x" if b else "-"
            table.append((name, value, f"{base}: {b}", ratio, transitions, cr3))
        else:
            table.append((name, value, reasons[name], "-", transitions, cr3))
    memory = v.get("hv.heap_per_domain", 0)
    md = ["| operation | guest instructions | native baseline (instructions) | ratio | ring transitions | CR3 loads |",
          "| --- | ---: | --- | ---: | ---: | ---: |"]
    for name, value, base, ratio, t, c in table:
        md.append(f"| {name.strip()} | {value} | {base} | {ratio} | {t} | {c} |")
    md.append(f"| hypervisor heap per domain | {memory} bytes | - | - | - | - |")
    base = v.get("guest.scalability_1")
    if base:
        md.append("")
        md.append("| spinner domains sharing 4,000,000 iterations | total instructions | relative to N = 1 |")
        md.append("| ---: | ---: | ---: |")
        for n in (1, 8, 32, 64, 128):
            t = v.get(f"guest.scalability_{n}")
            if t:
                md.append(f"| {n} | {t} | {t / base:.3f} |")
    md.append("")
    md.append(f"Two runs, identical per-operation counts: {'yes' if same else 'NO'} (boot: {boot1} and {boot2} instructions; "
              "the RTC read at boot varies a little).")
    text = "\n".join(md)
    with open("build/bench.md", "w") as f:
        f.write(text + "\n")
    with open("build/bench.json", "w") as f:
        json.dump({"runs_identical": same, "values": v, "rows": [
            {"operation": n.strip(), "guest_instructions": val, "baseline": b, "ratio": r, "ring_transitions": t, "cr3_loads": c}
            for n, val, b, r, t, c in table], "heap_per_domain_bytes": memory}, f, indent=2)
    print(text)
    if not same:
        for k in sorted(set(first) | set(second)):
            if k not in absolute and first.get(k) != second.get(k):
                print(f"  differs: {k}: {first.get(k)} vs {second.get(k)}")


if __name__ == "__main__":
    main()
