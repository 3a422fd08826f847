/* netglue.c: lwIP (NO_SYS, raw API) glued to dom0's bridge port (and, linked the same way, to the
 * netdemo domU's netfront: Sources/Guests/NetDemo answers the same callbacks), the C side of it: the
 * Ethernet netif whose frames go out through dom0_net_transmit and come in through apus_net_input,
 * DHCP, ICMP echo (ping) over a raw pcb, a TCP echo service, and a one-connection TCP client (make
 * bench's round trips). Single-threaded: its kernel calls it
 * from its main loop only, never from an event upcall. It owns no device and decides no policy. */
#include "lwip/init.h"
#include "lwip/netif.h"
#include "lwip/pbuf.h"
#include "lwip/timeouts.h"
#include "lwip/dhcp.h"
#include "lwip/etharp.h"
#include "lwip/raw.h"
#include "lwip/icmp.h"
#include "lwip/inet_chksum.h"
#include "lwip/prot/ip4.h"
#include "lwip/tcp.h"
#include "lwip/stats.h"
#include "lwip/memp.h"
#include "netif/ethernet.h"
#include <string.h>

/* Swift's side (Sources/Dom0/NetStack.swift). */
int dom0_net_transmit(const void *frame, uint32_t length);
void dom0_net_ping_reply(uint16_t seq, uint32_t from);
void dom0_net_tcp_event(int kind, uint32_t address, uint16_t port, const void *data, uint32_t length);

static struct netif apus_netif;
static uint8_t apus_mac[6];
static uint8_t frame_out[1536];

static err_t apus_linkoutput(struct netif *netif, struct pbuf *p) {
    (void)netif;
    if (p->tot_len > sizeof frame_out) return ERR_BUF;
    uint16_t n = pbuf_copy_partial(p, frame_out, p->tot_len, 0);
    return dom0_net_transmit(frame_out, n) == 0 ? ERR_OK : ERR_MEM;
}

static err_t apus_netif_init(struct netif *netif) {
    netif->name[0] = 'e';
    netif->name[1] = 'n';
    netif->output = etharp_output;
    netif->linkoutput = apus_linkoutput;
    netif->mtu = 1500;
    netif->hwaddr_len = 6;
    memcpy(netif->hwaddr, apus_mac, 6);
    netif->flags = NETIF_FLAG_BROADCAST | NETIF_FLAG_ETHARP | NETIF_FLAG_ETHERNET | NETIF_FLAG_LINK_UP;
    return ERR_OK;
}

void apus_net_start(const uint8_t *mac) {
    memcpy(apus_mac, mac, 6);
    lwip_init();
    netif_add(&apus_netif, IP4_ADDR_ANY4, IP4_ADDR_ANY4, IP4_ADDR_ANY4, NULL, apus_netif_init, ethernet_input);
    netif_set_default(&apus_netif);
    netif_set_up(&apus_netif);
    dhcp_start(&apus_netif);
}

/* One received Ethernet frame (copied into a pool pbuf): 0, or -1 when lwIP had no buffer. */
int apus_net_input(const void *frame, uint32_t length) {
    struct pbuf *p = pbuf_alloc(PBUF_RAW, (u16_t)length, PBUF_POOL);
    if (p == NULL) return -1;
    pbuf_take(p, frame, (u16_t)length);
    if (apus_netif.input(p, &apus_netif) != ERR_OK) pbuf_free(p);
    return 0;
}

void apus_net_timers(void) { sys_check_timeouts(); }

/* 0: address, 1: netmask, 2: gateway (network byte order); 3: whether DHCP holds a lease. */
uint32_t apus_net_info(int which) {
    switch (which) {
    case 0: return ip4_addr_get_u32(netif_ip4_addr(&apus_netif));
    case 1: return ip4_addr_get_u32(netif_ip4_netmask(&apus_netif));
    case 2: return ip4_addr_get_u32(netif_ip4_gw(&apus_netif));
    default: return dhcp_supplied_address(&apus_netif) ? 1 : 0;
    }
}

/* lwIP's own counts of what it could not do: 0 TCP pcbs it could not allocate (a SYN dropped),
 * 1 pool pbufs it could not allocate (a frame dropped), 2 TCP segments it sent,
 * 3 TCP segments it dropped, 4 TCP out-of-memory errors. */
uint32_t apus_net_stat(int which) {
    switch (which) {
    case 0: return lwip_stats.memp[MEMP_TCP_PCB]->err;
    case 1: return lwip_stats.memp[MEMP_PBUF_POOL]->err;
    case 2: return lwip_stats.tcp.xmit;
    case 3: return lwip_stats.tcp.drop;
    default: return lwip_stats.tcp.memerr;
    }
}

/* ---- ping: ICMP echo over a raw pcb ---- */
static struct raw_pcb *ping_pcb;
static const uint16_t ping_id = 0xA905;

static u8_t ping_recv(void *arg, struct raw_pcb *pcb, struct pbuf *p, const ip_addr_t *addr) {
    (void)arg; (void)pcb;
    struct icmp_echo_hdr echo;
    uint16_t header = (uint16_t)(IPH_HL_BYTES((struct ip_hdr *)p->payload));
    if (p->tot_len < header + sizeof echo) return 0;
    pbuf_copy_partial(p, &echo, sizeof echo, header);
    if (echo.type != ICMP_ER || echo.id != PP_HTONS(ping_id)) return 0;
    dom0_net_ping_reply(lwip_ntohs(echo.seqno), ip4_addr_get_u32(ip_2_ip4(addr)));
    pbuf_free(p);
    return 1;
}

/* Sends echo request `seq` to `address` (network byte order): 0, or a negative lwIP error. */
int apus_net_ping(uint32_t address, uint16_t seq) {
    if (ping_pcb == NULL) {
        ping_pcb = raw_new(IP_PROTO_ICMP);
        if (ping_pcb == NULL) return ERR_MEM;
        raw_recv(ping_pcb, ping_recv, NULL);
        raw_bind(ping_pcb, IP_ADDR_ANY);
    }
    struct pbuf *p = pbuf_alloc(PBUF_IP, sizeof(struct icmp_echo_hdr) + 32, PBUF_RAM);
    if (p == NULL) return ERR_MEM;
    struct icmp_echo_hdr *echo = (struct icmp_echo_hdr *)p->payload;
    ICMPH_TYPE_SET(echo, ICMP_ECHO);
    ICMPH_CODE_SET(echo, 0);
    echo->id = PP_HTONS(ping_id);
    echo->seqno = lwip_htons(seq);
    echo->chksum = 0;
    for (int i = 0; i < 32; i++) ((uint8_t *)(echo + 1))[i] = (uint8_t)('a' + i % 26);
    echo->chksum = inet_chksum(echo, p->len);
    ip_addr_t to;
    ip_addr_set_ip4_u32(&to, address);
    err_t e = raw_sendto(ping_pcb, p, &to);
    pbuf_free(p);
    return e;
}

/* ---- a TCP echo service: every byte received is sent back; events go to Swift ---- */
enum { TCP_ACCEPTED = 1, TCP_DATA = 2, TCP_CLOSED = 3 };

static err_t echo_recv(void *arg, struct tcp_pcb *pcb, struct pbuf *p, err_t err) {
    (void)arg;
    if (p == NULL || err != ERR_OK) {
        dom0_net_tcp_event(TCP_CLOSED, ip4_addr_get_u32(ip_2_ip4(&pcb->remote_ip)), pcb->remote_port, NULL, 0);
        if (p != NULL) pbuf_free(p);
        tcp_arg(pcb, NULL);
        tcp_recv(pcb, NULL);
        tcp_close(pcb);
        return ERR_OK;
    }
    static uint8_t chunk[1536];
    uint16_t done = 0;
    while (done < p->tot_len) {
        uint16_t n = pbuf_copy_partial(p, chunk, sizeof chunk, done);
        dom0_net_tcp_event(TCP_DATA, ip4_addr_get_u32(ip_2_ip4(&pcb->remote_ip)), pcb->remote_port, chunk, n);
        if (tcp_write(pcb, chunk, n, TCP_WRITE_FLAG_COPY) != ERR_OK) break;
        done = (uint16_t)(done + n);
    }
    tcp_output(pcb);
    tcp_recved(pcb, p->tot_len);
    pbuf_free(p);
    return ERR_OK;
}

static err_t echo_accept(void *arg, struct tcp_pcb *pcb, err_t err) {
    (void)arg;
    if (err != ERR_OK || pcb == NULL) return ERR_VAL;
    dom0_net_tcp_event(TCP_ACCEPTED, ip4_addr_get_u32(ip_2_ip4(&pcb->remote_ip)), pcb->remote_port, NULL, 0);
    tcp_recv(pcb, echo_recv);
    return ERR_OK;
}

/* Listens on TCP `port`: 0, or a negative lwIP error. */
int apus_net_echo_listen(uint16_t port) {
    struct tcp_pcb *pcb = tcp_new();
    if (pcb == NULL) return ERR_MEM;
    err_t e = tcp_bind(pcb, IP_ADDR_ANY, port);
    if (e != ERR_OK) { tcp_close(pcb); return e; }
    struct tcp_pcb *listening = tcp_listen(pcb);
    if (listening == NULL) return ERR_MEM;
    tcp_accept(listening, echo_accept);
    return 0;
}

/* ---- a TCP client for make bench's round trips: one connection at a time; events to Swift ---- */
enum { TCP_PROBE_CONNECTED = 4, TCP_PROBE_DATA = 5, TCP_PROBE_CLOSED = 6 };
static struct tcp_pcb *probe_pcb;

static err_t probe_recv(void *arg, struct tcp_pcb *pcb, struct pbuf *p, err_t err) {
    (void)arg;
    if (p == NULL || err != ERR_OK) {
        if (p != NULL) pbuf_free(p);
        dom0_net_tcp_event(TCP_PROBE_CLOSED, ip4_addr_get_u32(ip_2_ip4(&pcb->remote_ip)), pcb->remote_port, NULL, 0);
        tcp_arg(pcb, NULL);
        tcp_recv(pcb, NULL);
        tcp_err(pcb, NULL);
        tcp_close(pcb);
        if (probe_pcb == pcb) probe_pcb = NULL;
        return ERR_OK;
    }
    uint16_t n = p->tot_len;
    tcp_recved(pcb, n);
    pbuf_free(p);
    dom0_net_tcp_event(TCP_PROBE_DATA, ip4_addr_get_u32(ip_2_ip4(&pcb->remote_ip)), pcb->remote_port, NULL, n);
    return ERR_OK;
}

static void probe_error(void *arg, err_t err) {
    (void)arg; (void)err;
    probe_pcb = NULL;                                /* lwIP has freed it */
    dom0_net_tcp_event(TCP_PROBE_CLOSED, 0, 0, NULL, 0);
}

static err_t probe_connected(void *arg, struct tcp_pcb *pcb, err_t err) {
    (void)arg;
    dom0_net_tcp_event(err == ERR_OK ? TCP_PROBE_CONNECTED : TCP_PROBE_CLOSED,
                       ip4_addr_get_u32(ip_2_ip4(&pcb->remote_ip)), pcb->remote_port, NULL, 0);
    return ERR_OK;
}

/* Connects to `address` (network byte order) port `port`, Nagle off: 0, or a negative lwIP error
 * (also when a connection is already open). The outcome comes as an event. */
int apus_net_probe_connect(uint32_t address, uint16_t port) {
    if (probe_pcb != NULL) return ERR_ISCONN;
    struct tcp_pcb *pcb = tcp_new();
    if (pcb == NULL) return ERR_MEM;
    tcp_nagle_disable(pcb);
    tcp_recv(pcb, probe_recv);
    tcp_err(pcb, probe_error);
    ip_addr_t to;
    ip_addr_set_ip4_u32(&to, address);
    err_t e = tcp_connect(pcb, &to, port, probe_connected);
    if (e != ERR_OK) { tcp_err(pcb, NULL); tcp_abort(pcb); return e; }     /* no event for a connect never made */
    probe_pcb = pcb;
    return 0;
}

/* Sends `length` bytes on the open connection at once: 0, or a negative lwIP error. */
int apus_net_probe_send(const void *data, uint16_t length) {
    if (probe_pcb == NULL) return ERR_CONN;
    err_t e = tcp_write(probe_pcb, data, length, TCP_WRITE_FLAG_COPY);
    if (e != ERR_OK) return e;
    tcp_output(probe_pcb);                           /* a frame it could not send yet, lwIP sends again */
    return 0;
}

/* Closes the open connection (if any). */
void apus_net_probe_close(void) {
    if (probe_pcb == NULL) return;
    tcp_arg(probe_pcb, NULL);
    tcp_recv(probe_pcb, NULL);
    tcp_err(probe_pcb, NULL);
    if (tcp_close(probe_pcb) != ERR_OK) tcp_abort(probe_pcb);
    probe_pcb = NULL;
}
