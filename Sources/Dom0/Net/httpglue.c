/* httpglue.c: the TCP side of dom0's HTTP API server on lwIP's raw API: a listening pcb, up to
 * APUS_HTTP_SLOTS connections, each a slot number given to Swift (Sources/Dom0/HttpServer.swift),
 * which gets every event (accepted, bytes, sent, poll tick, gone) and answers what to do. lwIP calls
 * these from dom0's main loop (NetStack.poll), never from an event upcall; nothing here busy-waits.
 * It never parses the bytes and decides no policy: Swift does. */
#include "lwip/tcp.h"
#include <string.h>

#define APUS_HTTP_SLOTS 16

/* Swift's side: what to do next with the connection. */
enum { HTTP_KEEP = 0, HTTP_CLOSE = 1, HTTP_ABORT = 2 };
/* HTTP_REFUSED: a connection came while every slot was taken (slot -1); it is reset whatever Swift answers. */
enum { HTTP_OPENED = 1, HTTP_DATA = 2, HTTP_SENT = 3, HTTP_POLL = 4, HTTP_GONE = 5, HTTP_REFUSED = 6 };
int dom0_http_event(int kind, int slot, uint32_t address, uint16_t port, const void *data, uint32_t length);

static struct tcp_pcb *slots[APUS_HTTP_SLOTS];

static void http_forget(int slot) {
    struct tcp_pcb *pcb = slots[slot];
    slots[slot] = NULL;
    if (pcb == NULL) return;
    tcp_arg(pcb, NULL);
    tcp_recv(pcb, NULL);
    tcp_sent(pcb, NULL);
    tcp_poll(pcb, NULL, 0);
    tcp_err(pcb, NULL);
}

/* Carries out Swift's answer: ERR_ABRT when the pcb was aborted (lwIP must not touch it again). */
static err_t http_act(int slot, int action) {
    struct tcp_pcb *pcb = slots[slot];
    if (pcb == NULL || action == HTTP_KEEP) return ERR_OK;
    if (action == HTTP_CLOSE) {
        http_forget(slot);
        if (tcp_close(pcb) == ERR_OK) return ERR_OK;
    } else {
        http_forget(slot);
    }
    tcp_abort(pcb);
    return ERR_ABRT;
}

static int slot_of(void *arg) { return (int)(intptr_t)arg - 1; }

/* Aborts a pcb that no slot owns any more: its arg and err callback go first, so the abort's error
 * event cannot reach (and forget) whichever connection holds that slot now. */
static err_t http_abort_stray(struct tcp_pcb *pcb) {
    tcp_arg(pcb, NULL);
    tcp_err(pcb, NULL);
    tcp_abort(pcb);
    return ERR_ABRT;
}

static err_t http_recv(void *arg, struct tcp_pcb *pcb, struct pbuf *p, err_t err) {
    int slot = slot_of(arg);
    if (slot < 0 || slots[slot] != pcb) { if (p) pbuf_free(p); return http_abort_stray(pcb); }
    uint32_t address = ip4_addr_get_u32(ip_2_ip4(&pcb->remote_ip));
    if (p == NULL || err != ERR_OK) {
        /* The client closed its side: Swift decides (it may still owe responses). */
        if (p) pbuf_free(p);
        return http_act(slot, dom0_http_event(HTTP_DATA, slot, address, pcb->remote_port, NULL, 0));
    }
    static uint8_t chunk[1536];
    uint16_t done = 0;
    int action = HTTP_KEEP;
    while (done < p->tot_len && action == HTTP_KEEP) {
        uint16_t n = pbuf_copy_partial(p, chunk, sizeof chunk, done);
        if (n == 0) break;
        action = dom0_http_event(HTTP_DATA, slot, address, pcb->remote_port, chunk, n);
        done = (uint16_t)(done + n);
    }
    uint16_t total = p->tot_len;
    pbuf_free(p);
    if (action == HTTP_ABORT) return http_act(slot, action);
    tcp_recved(pcb, total);
    return http_act(slot, action);
}

static err_t http_sent(void *arg, struct tcp_pcb *pcb, u16_t len) {
    (void)len;
    int slot = slot_of(arg);
    if (slot < 0 || slots[slot] != pcb) return ERR_OK;
    return http_act(slot, dom0_http_event(HTTP_SENT, slot, 0, 0, NULL, 0));
}

static err_t http_poll(void *arg, struct tcp_pcb *pcb) {
    int slot = slot_of(arg);
    if (slot < 0 || slots[slot] != pcb) return http_abort_stray(pcb);
    return http_act(slot, dom0_http_event(HTTP_POLL, slot, 0, 0, NULL, 0));
}

static void http_err(void *arg, err_t err) {
    (void)err;
    /* The pcb is already freed by lwIP. */
    int slot = slot_of(arg);
    if (slot < 0) return;
    slots[slot] = NULL;
    dom0_http_event(HTTP_GONE, slot, 0, 0, NULL, 0);
}

static err_t http_accept(void *arg, struct tcp_pcb *pcb, err_t err) {
    (void)arg;
    if (err != ERR_OK || pcb == NULL) return ERR_VAL;
    int slot = -1;
    for (int i = 0; i < APUS_HTTP_SLOTS; i++) if (slots[i] == NULL) { slot = i; break; }
    if (slot < 0) {
        dom0_http_event(HTTP_REFUSED, -1, ip4_addr_get_u32(ip_2_ip4(&pcb->remote_ip)), pcb->remote_port, NULL, 0);
        tcp_abort(pcb);
        return ERR_ABRT;
    }
    slots[slot] = pcb;
    tcp_arg(pcb, (void *)(intptr_t)(slot + 1));
    tcp_recv(pcb, http_recv);
    tcp_sent(pcb, http_sent);
    tcp_err(pcb, http_err);
    /* Every 2 coarse ticks (1 s): Swift's idle and slow-client timeout. */
    tcp_poll(pcb, http_poll, 2);
    return http_act(slot, dom0_http_event(HTTP_OPENED, slot, ip4_addr_get_u32(ip_2_ip4(&pcb->remote_ip)), pcb->remote_port, NULL, 0));
}

/* Listens on TCP `port`: 0, or a negative lwIP error. */
int apus_http_listen(uint16_t port) {
    struct tcp_pcb *pcb = tcp_new();
    if (pcb == NULL) return ERR_MEM;
    err_t e = tcp_bind(pcb, IP_ADDR_ANY, port);
    if (e != ERR_OK) { tcp_close(pcb); return e; }
    struct tcp_pcb *listening = tcp_listen_with_backlog(pcb, APUS_HTTP_SLOTS);
    if (listening == NULL) return ERR_MEM;
    tcp_accept(listening, http_accept);
    return 0;
}

/* Queues up to `length` bytes on the slot's connection: how many it took (0 when its send buffer is
 * full: Swift tries again on the next SENT event), or -1 when the slot has no connection. */
int apus_http_send(int slot, const void *data, uint32_t length) {
    if (slot < 0 || slot >= APUS_HTTP_SLOTS || slots[slot] == NULL) return -1;
    struct tcp_pcb *pcb = slots[slot];
    uint32_t room = tcp_sndbuf(pcb);
    if (tcp_sndqueuelen(pcb) >= TCP_SND_QUEUELEN - 2) room = 0;
    uint32_t n = length < room ? length : room;
    if (n > 0xFFFF) n = 0xFFFF;
    if (n == 0) return 0;
    if (tcp_write(pcb, data, (u16_t)n, TCP_WRITE_FLAG_COPY) != ERR_OK) return 0;
    tcp_output(pcb);
    return (int)n;
}
