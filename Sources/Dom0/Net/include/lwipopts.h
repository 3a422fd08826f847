/* lwipopts.h: how dom0 (and the netdemo domU, linking the same objects) builds lwIP 2.1: NO_SYS
 * (one thread, the raw/altcp callback API, no OS), IPv4 with ARP, DHCP, ICMP, UDP and TCP, static
 * memory only. Settings only; no code. */
#ifndef APUS_LWIPOPTS_H
#define APUS_LWIPOPTS_H

#define NO_SYS                      1
#define SYS_LIGHTWEIGHT_PROT        0
#define LWIP_SOCKET                 0
#define LWIP_NETCONN                0
#define LWIP_ALTCP                  1
#define LWIP_IPV4                   1
#define LWIP_IPV6                   0
#define LWIP_ARP                    1
#define LWIP_ETHERNET               1
#define LWIP_ICMP                   1
#define LWIP_RAW                    1
#define LWIP_UDP                    1
#define LWIP_TCP                    1
#define LWIP_DHCP                   1
#define DHCP_DOES_ARP_CHECK         0
#define LWIP_DNS                    0
#define LWIP_IGMP                   0
#define LWIP_AUTOIP                 0
#define LWIP_NETIF_STATUS_CALLBACK  1
#define LWIP_NETIF_LINK_CALLBACK    0
#define LWIP_STATS                  1   /* counted, never printed by lwIP: `net` shows a few (apus_net_stat) */
#define LWIP_STATS_DISPLAY          0
#define LWIP_PROVIDE_ERRNO          1

/* Memory: lwIP's own heap and pools in dom0's bss. */
#define MEM_LIBC_MALLOC             0
#define MEMP_MEM_MALLOC             0
#define MEM_ALIGNMENT               4
#define MEM_SIZE                    (96 * 1024)
#define MEMP_NUM_PBUF               32
#define MEMP_NUM_TCP_PCB            24  /* the echo service and 16 HTTP connections, with room for TIME_WAIT */
#define MEMP_NUM_TCP_SEG            64
#define PBUF_POOL_SIZE              48
#define PBUF_POOL_BUFSIZE           1536

#define TCP_MSS                     1460
#define TCP_WND                     (4 * TCP_MSS)
#define TCP_SND_BUF                 (4 * TCP_MSS)

#define LWIP_RAND()                 apus_lwip_random()
#endif
