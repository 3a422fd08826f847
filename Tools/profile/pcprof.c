/* pcprof.c: a QEMU TCG plugin for `make profile`: counts how often each guest instruction address
 * executes, and can record the exact address sequence after a trigger. Host-side development tool;
 * it never runs inside Apus and never changes what the guest does.
 *
 * Arguments (-plugin build/host/pcprof.so,ARG=VALUE,...):
 *   out=FILE      at exit, one "hexaddress count" line per executed address (whole run)
 *   trace=HEX     after the skip-th execution of address HEX, record the next len addresses
 *   skip=N len=N  (defaults 0 and 2000)
 *   tracefile=FILE where the recorded addresses go, one hex address a line; QEMU exits once they are
 * Only the plugin API of QEMU 7.2 (plugin version 1) is used; its few declarations are below. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef uint64_t qemu_plugin_id_t;
struct qemu_plugin_tb;
struct qemu_plugin_insn;
typedef struct qemu_info_t qemu_info_t;
enum qemu_plugin_cb_flags { QEMU_PLUGIN_CB_NO_REGS, QEMU_PLUGIN_CB_R_REGS, QEMU_PLUGIN_CB_RW_REGS };
typedef void (*insn_cb_t)(unsigned int vcpu, void *userdata);
typedef void (*tb_trans_cb_t)(qemu_plugin_id_t id, struct qemu_plugin_tb *tb);
typedef void (*atexit_cb_t)(qemu_plugin_id_t id, void *userdata);
void qemu_plugin_register_vcpu_tb_trans_cb(qemu_plugin_id_t id, tb_trans_cb_t cb);
void qemu_plugin_register_vcpu_insn_exec_cb(struct qemu_plugin_insn *insn, insn_cb_t cb,
                                            enum qemu_plugin_cb_flags flags, void *userdata);
size_t qemu_plugin_tb_n_insns(const struct qemu_plugin_tb *tb);
struct qemu_plugin_insn *qemu_plugin_tb_get_insn(const struct qemu_plugin_tb *tb, size_t idx);
uint64_t qemu_plugin_insn_vaddr(const struct qemu_plugin_insn *insn);
void qemu_plugin_register_atexit_cb(qemu_plugin_id_t id, atexit_cb_t cb, void *userdata);

__attribute__((visibility("default"))) int qemu_plugin_version = 1;

/* Open-addressed table: address + 1 (0 marks an empty slot) and its execution count. */
#define SLOTS (1u << 22)
static uint64_t keys[SLOTS], counts[SLOTS];
static char out_path[512] = "build/profile/counts.txt", trace_path[512] = "build/profile/trace.txt";
static uint64_t trigger = UINT64_MAX, skip = 0, len = 2000, seen = 0, recorded = 0;
static FILE *trace_file;

static uint64_t *slot_for(uint64_t address) {
    uint64_t h = (address * 0x9E3779B97F4A7C15ull) >> 42;
    for (;; h++) {
        h &= SLOTS - 1;
        if (keys[h] == address + 1) return &counts[h];
        if (keys[h] == 0) { keys[h] = address + 1; return &counts[h]; }
    }
}

static void executed(unsigned int vcpu, void *userdata) {
    (void)vcpu;
    uint64_t *count = userdata;
    (*count)++;
    if (trigger == UINT64_MAX || recorded >= len) return;
    uint64_t address = keys[count - counts] - 1;
    if (seen <= skip && address == trigger) seen++;
    if (seen > skip) {
        fprintf(trace_file, "%llx\n", (unsigned long long)address);
        if (++recorded == len) {            /* the trace is all a trace run wants: stop QEMU here */
            fclose(trace_file);
            exit(0);
        }
    }
}

static void translated(qemu_plugin_id_t id, struct qemu_plugin_tb *tb) {
    (void)id;
    size_t n = qemu_plugin_tb_n_insns(tb);
    for (size_t i = 0; i < n; i++) {
        struct qemu_plugin_insn *insn = qemu_plugin_tb_get_insn(tb, i);
        qemu_plugin_register_vcpu_insn_exec_cb(insn, executed, QEMU_PLUGIN_CB_NO_REGS,
                                               slot_for(qemu_plugin_insn_vaddr(insn)));
    }
}

static void finished(qemu_plugin_id_t id, void *userdata) {
    (void)id; (void)userdata;
    FILE *f = fopen(out_path, "w");
    if (!f) return;
    for (uint64_t i = 0; i < SLOTS; i++)
        if (keys[i] && counts[i]) fprintf(f, "%llx %llu\n", (unsigned long long)(keys[i] - 1), (unsigned long long)counts[i]);
    fclose(f);
}

__attribute__((visibility("default")))
int qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t *info, int argc, char **argv) {
    (void)info;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (!strncmp(a, "out=", 4)) snprintf(out_path, sizeof out_path, "%s", a + 4);
        else if (!strncmp(a, "tracefile=", 10)) snprintf(trace_path, sizeof trace_path, "%s", a + 10);
        else if (!strncmp(a, "trace=", 6)) trigger = strtoull(a + 6, 0, 16);
        else if (!strncmp(a, "skip=", 5)) skip = strtoull(a + 5, 0, 10);
        else if (!strncmp(a, "len=", 4)) len = strtoull(a + 4, 0, 10);
        else { fprintf(stderr, "pcprof: unknown argument '%s'\n", a); return -1; }
    }
    if (trigger != UINT64_MAX && !(trace_file = fopen(trace_path, "w"))) return -1;
    qemu_plugin_register_vcpu_tb_trans_cb(id, translated);
    qemu_plugin_register_atexit_cb(id, finished, NULL);
    return 0;
}
