/*
 * Batched UDP for the media threads (Linux): one recvmmsg reads every pending
 * datagram at the tick, with the kernel's arrival time of each (SO_TIMESTAMPNS),
 * and one sendmmsg sends the tick's packets. Both work on caller-owned typed
 * arrays registered once, so a call allocates nothing and no JavaScript runs
 * per packet. IPv4 only, like the RTP transport. The TypeScript wrapper and its
 * `dgram` fallback are in src/media/rtp/batched-udp.ts.
 */
#define _GNU_SOURCE
#include <node_api.h>
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "batched_udp.h"

#define UDP_ERR "MEDIABOT_UDP_FAILED"
#define ARGS_ERR "MEDIABOT_NATIVE_ARGS"
#define CHECK(call) do { if ((call) != napi_ok) { napi_throw_error(env, UDP_ERR, #call " failed"); return NULL; } } while (0)
/* Room for one SCM_TIMESTAMPNS control message. */
#define CTRL_BYTES CMSG_SPACE(sizeof(struct timespec))
#define RX_ARRAYS 6
#define TX_ARRAYS 5

typedef struct {
  int fd;
  /* Receive side: slot i of rx_data (rx_slot bytes) receives datagram i. */
  size_t rx_cap, rx_slot;
  uint8_t* rx_data;
  int32_t* rx_len;
  uint32_t* rx_addr;
  uint16_t* rx_port;
  double* rx_arrival;
  uint8_t* rx_trunc;
  struct mmsghdr* rx_msgs;
  struct iovec* rx_iov;
  struct sockaddr_in* rx_names;
  unsigned char* rx_ctrl;
  napi_ref rx_refs[RX_ARRAYS];
  /* Send side: packet i is tx_len[i] bytes at tx_off[i] of tx_data, to tx_addr[i]:tx_port[i]. */
  size_t tx_cap, tx_bytes;
  uint8_t* tx_data;
  int32_t* tx_off;
  int32_t* tx_len;
  uint32_t* tx_addr;
  uint16_t* tx_port;
  struct mmsghdr* tx_msgs;
  struct iovec* tx_iov;
  struct sockaddr_in* tx_names;
  napi_ref tx_refs[TX_ARRAYS];
} udp_sock;

static void free_rx(napi_env env, udp_sock* s) {
  for (int i = 0; i < RX_ARRAYS; i++) if (s->rx_refs[i]) { napi_delete_reference(env, s->rx_refs[i]); s->rx_refs[i] = NULL; }
  free(s->rx_msgs); free(s->rx_iov); free(s->rx_names); free(s->rx_ctrl);
  s->rx_msgs = NULL; s->rx_iov = NULL; s->rx_names = NULL; s->rx_ctrl = NULL; s->rx_cap = 0;
}

static void free_tx(napi_env env, udp_sock* s) {
  for (int i = 0; i < TX_ARRAYS; i++) if (s->tx_refs[i]) { napi_delete_reference(env, s->tx_refs[i]); s->tx_refs[i] = NULL; }
  free(s->tx_msgs); free(s->tx_iov); free(s->tx_names);
  s->tx_msgs = NULL; s->tx_iov = NULL; s->tx_names = NULL; s->tx_cap = 0;
}

static void finalize_sock(napi_env env, void* data, void* hint) {
  (void)hint;
  udp_sock* s = (udp_sock*)data;
  if (s->fd >= 0) close(s->fd);
  free_rx(env, s);
  free_tx(env, s);
  free(s);
}

static udp_sock* get_sock(napi_env env, napi_value v) {
  void* p = NULL;
  if (napi_get_value_external(env, v, &p) != napi_ok) return NULL;
  return (udp_sock*)p;
}

static int typed(napi_env env, napi_value v, napi_typedarray_type want, void** data, size_t* len) {
  bool is_ta = false;
  napi_typedarray_type type; napi_value ab; size_t off;
  if (napi_is_typedarray(env, v, &is_ta) != napi_ok || !is_ta) return 0;
  if (napi_get_typedarray_info(env, v, &type, len, data, &ab, &off) != napi_ok) return 0;
  return type == want;
}

static napi_value int_value(napi_env env, int32_t n) {
  napi_value v;
  if (napi_create_int32(env, n, &v) != napi_ok) return NULL;
  return v;
}

static void throw_errno(napi_env env, const char* what) {
  char msg[160];
  snprintf(msg, sizeof msg, "%s: %s", what, strerror(errno));
  napi_throw_error(env, UDP_ERR, msg);
}

/* udpOpen(host: string, port: int, recvBufferBytes: int) -> handle. A non-blocking IPv4 socket with kernel receive timestamps. */
static napi_value udp_open(napi_env env, napi_callback_info info) {
  size_t argc = 3; napi_value argv[3]; char host[64]; size_t host_len; int32_t port, rcvbuf;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 3 || napi_get_value_string_utf8(env, argv[0], host, sizeof host, &host_len) != napi_ok ||
      napi_get_value_int32(env, argv[1], &port) != napi_ok || napi_get_value_int32(env, argv[2], &rcvbuf) != napi_ok || port < 0 || port > 65535) {
    napi_throw_type_error(env, ARGS_ERR, "udpOpen(host: string, port: 0-65535, recvBufferBytes: int)"); return NULL;
  }
  struct sockaddr_in addr; memset(&addr, 0, sizeof addr);
  addr.sin_family = AF_INET; addr.sin_port = htons((uint16_t)port);
  if (inet_pton(AF_INET, host, &addr.sin_addr) != 1) { napi_throw_error(env, UDP_ERR, "udpOpen: host must be an IPv4 address"); return NULL; }
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) { throw_errno(env, "socket"); return NULL; }
  int one = 1;
  if (setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof one) != 0) { throw_errno(env, "SO_TIMESTAMPNS"); close(fd); return NULL; }
  /* Best effort, like dgram's recvBufferSize: the kernel caps it at net.core.rmem_max. */
  if (rcvbuf > 0) setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
  if (bind(fd, (struct sockaddr*)&addr, sizeof addr) != 0) { throw_errno(env, "bind"); close(fd); return NULL; }
  udp_sock* s = (udp_sock*)calloc(1, sizeof *s);
  if (!s) { close(fd); napi_throw_error(env, UDP_ERR, "out of memory"); return NULL; }
  s->fd = fd;
  napi_value ext;
  if (napi_create_external(env, s, finalize_sock, NULL, &ext) != napi_ok) { close(fd); free(s); napi_throw_error(env, UDP_ERR, "napi_create_external failed"); return NULL; }
  return ext;
}

/* udpLocalPort(handle) -> the bound port. */
static napi_value udp_local_port(napi_env env, napi_callback_info info) {
  size_t argc = 1; napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  udp_sock* s = argc >= 1 ? get_sock(env, argv[0]) : NULL;
  if (!s || s->fd < 0) { napi_throw_error(env, UDP_ERR, "udpLocalPort: socket is closed"); return NULL; }
  struct sockaddr_in a; socklen_t len = sizeof a;
  if (getsockname(s->fd, (struct sockaddr*)&a, &len) != 0) { throw_errno(env, "getsockname"); return NULL; }
  return int_value(env, ntohs(a.sin_port));
}

/*
 * udpSetRecvBuffers(handle, data: Uint8Array, slotSize, lengths: Int32Array, addresses: Uint32Array,
 *                   ports: Uint16Array, arrivalMs: Float64Array, truncated: Uint8Array)
 * Registers where udpRecv writes; the capacity is the smallest of the arrays' lengths and data.length / slotSize.
 */
static napi_value udp_set_recv(napi_env env, napi_callback_info info) {
  size_t argc = 8; napi_value argv[8]; int32_t slot; size_t dl, ll, al, pl, tl, fl;
  void *data, *lens, *addrs, *ports, *arr, *trunc;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  udp_sock* s = argc >= 8 ? get_sock(env, argv[0]) : NULL;
  if (!s || napi_get_value_int32(env, argv[2], &slot) != napi_ok || slot <= 0 || !typed(env, argv[1], napi_uint8_array, &data, &dl) ||
      !typed(env, argv[3], napi_int32_array, &lens, &ll) || !typed(env, argv[4], napi_uint32_array, &addrs, &al) ||
      !typed(env, argv[5], napi_uint16_array, &ports, &pl) || !typed(env, argv[6], napi_float64_array, &arr, &tl) ||
      !typed(env, argv[7], napi_uint8_array, &trunc, &fl)) {
    napi_throw_type_error(env, ARGS_ERR, "udpSetRecvBuffers(handle, data: Uint8Array, slotSize, lengths: Int32Array, addresses: Uint32Array, ports: Uint16Array, arrivalMs: Float64Array, truncated: Uint8Array)");
    return NULL;
  }
  size_t cap = dl / (size_t)slot;
  size_t mins[5] = { ll, al, pl, tl, fl };
  for (int i = 0; i < 5; i++) if (mins[i] < cap) cap = mins[i];
  if (cap == 0) { napi_throw_type_error(env, ARGS_ERR, "udpSetRecvBuffers: no room for one datagram"); return NULL; }
  free_rx(env, s);
  s->rx_msgs = calloc(cap, sizeof *s->rx_msgs); s->rx_iov = calloc(cap, sizeof *s->rx_iov);
  s->rx_names = calloc(cap, sizeof *s->rx_names); s->rx_ctrl = calloc(cap, CTRL_BYTES);
  if (!s->rx_msgs || !s->rx_iov || !s->rx_names || !s->rx_ctrl) { free_rx(env, s); napi_throw_error(env, UDP_ERR, "out of memory"); return NULL; }
  /* The arrays stay alive as long as the socket uses them. */
  napi_value keep[RX_ARRAYS] = { argv[1], argv[3], argv[4], argv[5], argv[6], argv[7] };
  for (int i = 0; i < RX_ARRAYS; i++) CHECK(napi_create_reference(env, keep[i], 1, &s->rx_refs[i]));
  s->rx_cap = cap; s->rx_slot = (size_t)slot; s->rx_data = data; s->rx_len = lens; s->rx_addr = addrs;
  s->rx_port = ports; s->rx_arrival = arr; s->rx_trunc = trunc;
  for (size_t i = 0; i < cap; i++) {
    s->rx_iov[i].iov_base = s->rx_data + i * s->rx_slot;
    s->rx_iov[i].iov_len = s->rx_slot;
    s->rx_msgs[i].msg_hdr.msg_iov = &s->rx_iov[i];
    s->rx_msgs[i].msg_hdr.msg_iovlen = 1;
    s->rx_msgs[i].msg_hdr.msg_name = &s->rx_names[i];
  }
  return int_value(env, (int32_t)cap);
}

static double ns_of(const struct timespec* t) { return (double)t->tv_sec * 1e9 + (double)t->tv_nsec; }

/*
 * udpRecv(handle, clockOffsetMs: number) -> count. Reads every pending datagram (up to the capacity)
 * without blocking. arrivalMs[i] is the kernel's receive time on the CLOCK_MONOTONIC timeline in ms,
 * plus clockOffsetMs (which puts it on performance.now()'s timeline).
 */
static napi_value udp_recv(napi_env env, napi_callback_info info) {
  size_t argc = 2; napi_value argv[2]; double offset_ms = 0;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  udp_sock* s = argc >= 1 ? get_sock(env, argv[0]) : NULL;
  if (!s || s->fd < 0 || s->rx_cap == 0) { napi_throw_error(env, UDP_ERR, "udpRecv: socket closed or no receive buffers"); return NULL; }
  if (argc >= 2) napi_get_value_double(env, argv[1], &offset_ms);
  for (size_t i = 0; i < s->rx_cap; i++) {
    struct msghdr* h = &s->rx_msgs[i].msg_hdr;
    h->msg_namelen = sizeof(struct sockaddr_in);
    h->msg_control = s->rx_ctrl + i * CTRL_BYTES;
    h->msg_controllen = CTRL_BYTES;
    h->msg_flags = 0;
  }
  int n;
  do n = recvmmsg(s->fd, s->rx_msgs, (unsigned)s->rx_cap, MSG_DONTWAIT, NULL);
  while (n < 0 && errno == EINTR);
  if (n < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK) return int_value(env, 0);
    throw_errno(env, "recvmmsg"); return NULL;
  }
  /* Kernel stamps are CLOCK_REALTIME: carry them over to CLOCK_MONOTONIC by the clocks' present difference. */
  struct timespec real_now, mono_now;
  clock_gettime(CLOCK_REALTIME, &real_now);
  clock_gettime(CLOCK_MONOTONIC, &mono_now);
  const double real_ns = ns_of(&real_now), mono_ms = ns_of(&mono_now) / 1e6;
  for (int i = 0; i < n; i++) {
    struct msghdr* h = &s->rx_msgs[i].msg_hdr;
    s->rx_len[i] = (int32_t)s->rx_msgs[i].msg_len;
    s->rx_trunc[i] = (h->msg_flags & MSG_TRUNC) ? 1 : 0;
    s->rx_addr[i] = ntohl(s->rx_names[i].sin_addr.s_addr);
    s->rx_port[i] = ntohs(s->rx_names[i].sin_port);
    double age_ms = 0;
    for (struct cmsghdr* c = CMSG_FIRSTHDR(h); c != NULL; c = CMSG_NXTHDR(h, c)) {
      if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS) {
        struct timespec ts;
        memcpy(&ts, CMSG_DATA(c), sizeof ts);
        age_ms = (real_ns - ns_of(&ts)) / 1e6;
        if (age_ms < 0) age_ms = 0;
      }
    }
    s->rx_arrival[i] = mono_ms - age_ms + offset_ms;
  }
  return int_value(env, n);
}

/*
 * udpSetSendBuffers(handle, data: Uint8Array, offsets: Int32Array, lengths: Int32Array,
 *                   addresses: Uint32Array, ports: Uint16Array) -> capacity
 */
static napi_value udp_set_send(napi_env env, napi_callback_info info) {
  size_t argc = 6; napi_value argv[6]; size_t dl, ol, ll, al, pl; void *data, *offs, *lens, *addrs, *ports;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  udp_sock* s = argc >= 6 ? get_sock(env, argv[0]) : NULL;
  if (!s || !typed(env, argv[1], napi_uint8_array, &data, &dl) || !typed(env, argv[2], napi_int32_array, &offs, &ol) ||
      !typed(env, argv[3], napi_int32_array, &lens, &ll) || !typed(env, argv[4], napi_uint32_array, &addrs, &al) ||
      !typed(env, argv[5], napi_uint16_array, &ports, &pl)) {
    napi_throw_type_error(env, ARGS_ERR, "udpSetSendBuffers(handle, data: Uint8Array, offsets: Int32Array, lengths: Int32Array, addresses: Uint32Array, ports: Uint16Array)");
    return NULL;
  }
  size_t cap = ol;
  size_t mins[3] = { ll, al, pl };
  for (int i = 0; i < 3; i++) if (mins[i] < cap) cap = mins[i];
  if (cap == 0) { napi_throw_type_error(env, ARGS_ERR, "udpSetSendBuffers: no room for one datagram"); return NULL; }
  free_tx(env, s);
  s->tx_msgs = calloc(cap, sizeof *s->tx_msgs); s->tx_iov = calloc(cap, sizeof *s->tx_iov); s->tx_names = calloc(cap, sizeof *s->tx_names);
  if (!s->tx_msgs || !s->tx_iov || !s->tx_names) { free_tx(env, s); napi_throw_error(env, UDP_ERR, "out of memory"); return NULL; }
  napi_value keep[TX_ARRAYS] = { argv[1], argv[2], argv[3], argv[4], argv[5] };
  for (int i = 0; i < TX_ARRAYS; i++) CHECK(napi_create_reference(env, keep[i], 1, &s->tx_refs[i]));
  s->tx_cap = cap; s->tx_bytes = dl; s->tx_data = data; s->tx_off = offs; s->tx_len = lens; s->tx_addr = addrs; s->tx_port = ports;
  for (size_t i = 0; i < cap; i++) {
    s->tx_names[i].sin_family = AF_INET;
    s->tx_msgs[i].msg_hdr.msg_name = &s->tx_names[i];
    s->tx_msgs[i].msg_hdr.msg_namelen = sizeof(struct sockaddr_in);
    s->tx_msgs[i].msg_hdr.msg_iov = &s->tx_iov[i];
    s->tx_msgs[i].msg_hdr.msg_iovlen = 1;
  }
  return int_value(env, (int32_t)cap);
}

/*
 * udpSend(handle, count) -> packets the kernel took. Sends packets 0..count-1 of the send buffers in
 * one sendmmsg (more calls only after an error). A packet the kernel refuses (say, an ICMP error
 * reported on this socket) is skipped; when the socket buffer is full the rest are dropped.
 */
static napi_value udp_send(napi_env env, napi_callback_info info) {
  size_t argc = 2; napi_value argv[2]; int32_t count;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  udp_sock* s = argc >= 2 ? get_sock(env, argv[0]) : NULL;
  if (!s || s->fd < 0 || s->tx_cap == 0) { napi_throw_error(env, UDP_ERR, "udpSend: socket closed or no send buffers"); return NULL; }
  if (napi_get_value_int32(env, argv[1], &count) != napi_ok || count < 0 || (size_t)count > s->tx_cap) {
    napi_throw_range_error(env, ARGS_ERR, "udpSend: count must be 0..capacity"); return NULL;
  }
  for (int32_t i = 0; i < count; i++) {
    int64_t off = s->tx_off[i], len = s->tx_len[i];
    if (off < 0 || len < 0 || (uint64_t)(off + len) > s->tx_bytes) {
      napi_throw_range_error(env, ARGS_ERR, "udpSend: a packet's offset and length fall outside the data buffer"); return NULL;
    }
    s->tx_iov[i].iov_base = s->tx_data + off;
    s->tx_iov[i].iov_len = (size_t)len;
    s->tx_names[i].sin_port = htons(s->tx_port[i]);
    s->tx_names[i].sin_addr.s_addr = htonl(s->tx_addr[i]);
  }
  int32_t done = 0, sent = 0;
  while (done < count) {
    int r = sendmmsg(s->fd, s->tx_msgs + done, (unsigned)(count - done), 0);
    if (r > 0) { done += r; sent += r; continue; }
    if (r < 0 && errno == EINTR) continue;
    if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS)) break;
    done++; /* this packet failed: skip it */
  }
  return int_value(env, sent);
}

/* udpClose(handle): closes the socket now (the handle's finalizer would otherwise). */
static napi_value udp_close(napi_env env, napi_callback_info info) {
  size_t argc = 1; napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  udp_sock* s = argc >= 1 ? get_sock(env, argv[0]) : NULL;
  if (s && s->fd >= 0) { close(s->fd); s->fd = -1; }
  if (s) { free_rx(env, s); free_tx(env, s); }
  return NULL;
}

void register_batched_udp(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
    { "udpOpen", NULL, udp_open, NULL, NULL, NULL, napi_default, NULL },
    { "udpLocalPort", NULL, udp_local_port, NULL, NULL, NULL, napi_default, NULL },
    { "udpSetRecvBuffers", NULL, udp_set_recv, NULL, NULL, NULL, napi_default, NULL },
    { "udpRecv", NULL, udp_recv, NULL, NULL, NULL, napi_default, NULL },
    { "udpSetSendBuffers", NULL, udp_set_send, NULL, NULL, NULL, napi_default, NULL },
    { "udpSend", NULL, udp_send, NULL, NULL, NULL, napi_default, NULL },
    { "udpClose", NULL, udp_close, NULL, NULL, NULL, napi_default, NULL },
  };
  napi_define_properties(env, exports, sizeof(props) / sizeof(props[0]), props);
}
