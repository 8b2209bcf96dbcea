// The TCP connect scan's probe loop in C, for Linux: non-blocking connect(2) on one socket per probe,
// completions collected with epoll, the answer read with getsockopt(SO_ERROR). It is the same loop as
// src/scan/engine/probe.worker.js (same states, reasons, RTT-adaptive timeouts, retries, rate limit and
// descriptor back-off) without the per-socket cost of libuv handles and JavaScript callbacks, which is
// what keeps a JavaScript connect scan behind nmap's. No library offers this loop: nmap's own is not a
// library, and libuv is the cost being avoided. The loop blocks the thread that calls it, so it is
// called from a probe worker thread; progress and cancel go through a shared Int32Array.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "connect_scan.h"

enum { STATE_OPEN = 1, STATE_CLOSED = 2, STATE_FILTERED = 3 };
enum {
  R_SYN_ACK = 1,
  R_CONN_REFUSED = 2,
  R_NO_RESPONSE = 3,
  R_HOST_UNREACH = 4,
  R_NET_UNREACH = 5,
  R_ADMIN_PROHIBITED = 6,
  R_ERROR = 7
};

typedef struct {
  int fd;
  uint32_t index;
  // Bumped each time the slot takes a probe, and carried in the epoll event: an event left over from
  // an earlier probe of the slot (a socket that outlived its close in a forked child) is ignored.
  uint32_t gen;
  double start;
  double deadline;
} slot_t;

typedef struct {
  cs_job_t *job;
  slot_t *slots;
  uint32_t *free_slots;
  uint32_t nfree;
  uint32_t *queue;
  size_t qhead, qlen, qcap;
  uint32_t inflight, cap, done;
  double paused_until, tokens, last_refill;
  double *srtt, *rttvar;
  int epfd;
  // Sockets whose connect was refused, back in the closed state and still registered (disarmed) with
  // epoll: Linux lets such a socket connect again, which saves a socket(2), a close(2) and an
  // epoll_ctl(ADD) per closed port. [0] IPv4, [1] IPv6.
  int *spare[2];
  uint32_t nspare[2];
} loop_t;

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int reason_of(int err) {
  if (err == EHOSTUNREACH) return R_HOST_UNREACH;
  if (err == ENETUNREACH) return R_NET_UNREACH;
  if (err == EACCES || err == EPERM) return R_ADMIN_PROHIBITED;
  return R_ERROR;
}

static int is_resource_error(int err) {
  return err == EMFILE || err == ENFILE || err == EADDRNOTAVAIL || err == ENOBUFS || err == EAGAIN ||
         err == ENOMEM;
}

static void settle(loop_t *l, uint32_t i, int state, int reason, double rtt) {
  l->job->state[i] = (uint8_t)state;
  l->job->reason[i] = (uint8_t)reason;
  l->job->rtt[i] = (float)rtt;
  l->done++;
  __atomic_store_n(&l->job->control[0], (int32_t)l->done, __ATOMIC_RELAXED);
}

static int push(loop_t *l, uint32_t i) {
  if (l->qlen == l->qcap) {
    size_t ncap = l->qcap * 2 + 16;
    uint32_t *q = realloc(l->queue, ncap * sizeof *q);
    if (!q) return -1;
    l->queue = q;
    l->qcap = ncap;
  }
  l->queue[l->qlen++] = i;
  return 0;
}

// Out of descriptors, ports or buffers: shrink the window and pause briefly instead of failing.
static void back_off(loop_t *l, int err) {
  // Spare sockets hold descriptors too: give them back first.
  for (int f = 0; f < 2; f++) {
    for (uint32_t k = 0; k < l->nspare[f]; k++) close(l->spare[f][k]);
    l->nspare[f] = 0;
  }
  uint32_t c = (uint32_t)(l->inflight * 0.8);
  l->cap = c < 1 ? 1 : c;
  l->paused_until = now_ms() + 50;
  if (!l->job->backoff_errno) l->job->backoff_errno = err;
}

// Timeout of a probe to host h: RTT-adaptive like nmap's (srtt + 4 rttvar), clamped; each retry waits
// longer, as nmap does after drops.
static double timeout_for(loop_t *l, uint32_t h, int attempt) {
  const cs_job_t *j = l->job;
  double s = l->srtt[h], t = j->timeout_ms;
  if (s >= 0) {
    t = s + 4 * l->rttvar[h];
    if (t < j->min_timeout_ms) t = j->min_timeout_ms;
    if (t > j->timeout_ms) t = j->timeout_ms;
  }
  t *= 1 + attempt;
  return t < j->timeout_ms * 2 ? t : j->timeout_ms * 2;
}

static void sample(loop_t *l, uint32_t h, double rtt) {
  if (l->srtt[h] < 0) {
    l->srtt[h] = rtt;
    l->rttvar[h] = rtt / 2;
  } else {
    double err = rtt - l->srtt[h];
    l->srtt[h] += err / 8;
    l->rttvar[h] += ((err < 0 ? -err : err) - l->rttvar[h]) / 4;
  }
}

static void retry_or_filter(loop_t *l, uint32_t i) {
  // A cancelled scan leaves a probe it did not finish unprobed rather than calling it filtered.
  if (__atomic_load_n(&l->job->control[1], __ATOMIC_RELAXED)) return;
  uint8_t tries = ++l->job->tries[i];
  if (tries <= l->job->retries && push(l, i) == 0) return;
  settle(l, i, STATE_FILTERED, R_NO_RESPONSE, 0);
}

// A connection to a port of this host with no listener can complete with itself (TCP simultaneous
// open) when the kernel picks the target port as the source port. nmap checks for this too and tries
// again; so do we, as after a timeout.
static int self_connected(int fd, const struct sockaddr_storage *to) {
  struct sockaddr_storage me;
  socklen_t len = sizeof me;
  if (getsockname(fd, (struct sockaddr *)&me, &len) != 0 || me.ss_family != to->ss_family) return 0;
  if (to->ss_family == AF_INET6) {
    const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)&me, *b = (const struct sockaddr_in6 *)to;
    return a->sin6_port == b->sin6_port && memcmp(&a->sin6_addr, &b->sin6_addr, sizeof a->sin6_addr) == 0;
  }
  const struct sockaddr_in *a = (const struct sockaddr_in *)&me, *b = (const struct sockaddr_in *)to;
  return a->sin_port == b->sin_port && a->sin_addr.s_addr == b->sin_addr.s_addr;
}

// The target of probe i.
static socklen_t target_of(const cs_job_t *j, uint32_t i, struct sockaddr_storage *to) {
  *to = j->addrs[j->host_idx[i]];
  if (to->ss_family == AF_INET6) {
    ((struct sockaddr_in6 *)to)->sin6_port = htons(j->ports[i]);
    return sizeof(struct sockaddr_in6);
  }
  ((struct sockaddr_in *)to)->sin_port = htons(j->ports[i]);
  return sizeof(struct sockaddr_in);
}


static void release(loop_t *l, uint32_t s) {
  if (l->slots[s].fd >= 0) close(l->slots[s].fd);
  l->slots[s].fd = -1;
  l->free_slots[l->nfree++] = s;
  l->inflight--;
}

// Probe i, just taken from the queue, could not be sent. Out of descriptors, ports or buffers: it goes
// back to the head of the queue and launching pauses (returns 1). Otherwise it is settled filtered with
// the error's reason (returns 0).
static int not_sent(loop_t *l, uint32_t i, int err) {
  if (is_resource_error(err)) {
    l->queue[--l->qhead] = i;
    back_off(l, err);
    return 1;
  }
  settle(l, i, STATE_FILTERED, reason_of(err), 0);
  return 0;
}

static void launch(loop_t *l) {
  cs_job_t *j = l->job;
  double now = now_ms();
  if (now < l->paused_until) return;
  if (j->rate > 0) {
    double burst = j->rate / 20 > 1 ? j->rate / 20 : 1;
    l->tokens += (now - l->last_refill) * j->rate / 1000;
    if (l->tokens > burst) l->tokens = burst;
    l->last_refill = now;
  }
  while (l->inflight < l->cap && l->qhead < l->qlen && l->nfree > 0 && (j->rate <= 0 || l->tokens >= 1)) {
    if (__atomic_load_n(&j->control[1], __ATOMIC_RELAXED)) return;
    uint32_t i = l->queue[l->qhead++];
    uint32_t h = j->host_idx[i];
    const struct sockaddr_storage *sa = &j->addrs[h];
    int fam = sa->ss_family == AF_INET6;
    int reused = l->nspare[fam] > 0;
    int fd = reused ? l->spare[fam][--l->nspare[fam]]
                    : socket(sa->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
      if (not_sent(l, i, errno)) return;
      continue;
    }
    struct sockaddr_storage to;
    socklen_t len = target_of(j, i, &to);
    double start = now_ms();
    int rc = connect(fd, (struct sockaddr *)&to, len);
    int err = rc == 0 ? 0 : errno;
    if (reused && err == ECONNABORTED) {
      // The first connect after a refusal only reports the old failure and resets the socket.
      rc = connect(fd, (struct sockaddr *)&to, len);
      err = rc == 0 ? 0 : errno;
    }
    if (rc == 0 && self_connected(fd, &to)) {
      close(fd);
      retry_or_filter(l, i);
      continue;
    }
    if (rc == 0 || err == ECONNREFUSED) {
      // Answered at once (possible on loopback).
      close(fd);
      double rtt = now_ms() - start;
      sample(l, h, rtt);
      settle(l, i, rc == 0 ? STATE_OPEN : STATE_CLOSED, rc == 0 ? R_SYN_ACK : R_CONN_REFUSED, rtt);
      if (j->rate > 0) l->tokens -= 1;
      continue;
    }
    if (err != EINPROGRESS) {
      close(fd);
      if (not_sent(l, i, err)) return;
      continue;
    }
    uint32_t s = l->free_slots[--l->nfree];
    uint32_t gen = l->slots[s].gen + 1;
    struct epoll_event ev = {.events = EPOLLOUT | EPOLLONESHOT, .data = {.u64 = ((uint64_t)gen << 32) | s}};
    if (epoll_ctl(l->epfd, reused ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, fd, &ev) != 0) {
      int e = errno;
      close(fd);
      l->nfree++;
      l->queue[--l->qhead] = i;
      back_off(l, e);
      return;
    }
    l->slots[s] = (slot_t){.fd = fd, .index = i, .gen = gen, .start = start,
                           .deadline = start + timeout_for(l, h, j->tries[i])};
    l->inflight++;
    if (j->rate > 0) l->tokens -= 1;
  }
}

static void complete(loop_t *l, uint64_t data) {
  cs_job_t *j = l->job;
  uint32_t s = (uint32_t)data;
  slot_t *sl = &l->slots[s];
  if (s >= j->concurrency || sl->fd < 0 || sl->gen != (uint32_t)(data >> 32)) return;
  uint32_t i = sl->index;
  int status = 0;
  socklen_t sl_len = sizeof status;
  if (getsockopt(sl->fd, SOL_SOCKET, SO_ERROR, &status, &sl_len) != 0) status = errno;
  double rtt = now_ms() - sl->start;
  uint32_t h = j->host_idx[i];
  if (status == ECONNREFUSED && l->inflight - 1 + l->nspare[0] + l->nspare[1] < l->cap) {
    // Kept for the next probe, as long as sockets in flight and spare stay within the window.
    int fam = j->addrs[h].ss_family == AF_INET6;
    l->spare[fam][l->nspare[fam]++] = sl->fd;
    sl->fd = -1;
  } else if (status == 0) {
    struct sockaddr_storage to;
    target_of(j, i, &to);
    if (self_connected(sl->fd, &to)) {
      release(l, s);
      retry_or_filter(l, i);
      return;
    }
  }
  // An answered connection is closed gracefully, as by any client: a reset would make some services
  // log or even fail on it, and the source port the closing side keeps in TIME_WAIT does not stop
  // connects to other ports or hosts.
  release(l, s);
  if (status == 0 || status == ECONNREFUSED || status == ECONNRESET) {
    sample(l, h, rtt);
    if (status == 0)
      settle(l, i, STATE_OPEN, R_SYN_ACK, rtt);
    else
      settle(l, i, STATE_CLOSED, R_CONN_REFUSED, rtt);
  } else if (status == ETIMEDOUT) {
    retry_or_filter(l, i);
  } else if (is_resource_error(status)) {
    if (push(l, i) != 0) settle(l, i, STATE_FILTERED, R_ERROR, rtt);
    back_off(l, status);
  } else {
    settle(l, i, STATE_FILTERED, reason_of(status), rtt);
  }
  if (l->cap < j->concurrency) l->cap++;
}

static void expire(loop_t *l, double now) {
  for (uint32_t s = 0; s < l->job->concurrency; s++) {
    slot_t *sl = &l->slots[s];
    if (sl->fd < 0 || now < sl->deadline) continue;
    uint32_t i = sl->index;
    release(l, s);
    retry_or_filter(l, i);
  }
}

int cs_run(cs_job_t *j) {
  loop_t l = {0};
  int rc = -1;
  l.epfd = -1;
  l.job = j;
  if (j->concurrency < 1) j->concurrency = 1;
  l.cap = j->concurrency;
  l.qcap = j->n ? j->n : 1;
  l.queue = malloc(l.qcap * sizeof *l.queue);
  l.slots = malloc(j->concurrency * sizeof *l.slots);
  l.free_slots = malloc(j->concurrency * sizeof *l.free_slots);
  l.srtt = malloc((j->nhosts ? j->nhosts : 1) * sizeof(double));
  l.rttvar = calloc(j->nhosts ? j->nhosts : 1, sizeof(double));
  l.spare[0] = malloc(j->concurrency * sizeof(int));
  l.spare[1] = malloc(j->concurrency * sizeof(int));
  if (l.slots)
    for (uint32_t s = 0; s < j->concurrency; s++) l.slots[s] = (slot_t){.fd = -1};
  l.epfd = j->epfd;
  // Another thread may hold every descriptor for a moment: wait for one instead of failing.
  for (int tries = 0; l.epfd < 0 && tries < 1000; tries++) {
    l.epfd = epoll_create1(EPOLL_CLOEXEC);
    if (l.epfd < 0 && !is_resource_error(errno)) break;
    if (l.epfd < 0) nanosleep(&(struct timespec){.tv_nsec = 10 * 1000 * 1000}, NULL);
  }
  if (!l.queue || !l.slots || !l.free_slots || !l.srtt || !l.rttvar || !l.spare[0] || !l.spare[1] || l.epfd < 0) goto out;
  for (uint32_t i = 0; i < j->n; i++) l.queue[i] = i;
  l.qlen = j->n;
  for (uint32_t h = 0; h < j->nhosts; h++) l.srtt[h] = -1;
  for (uint32_t s = 0; s < j->concurrency; s++) l.free_slots[s] = j->concurrency - 1 - s;
  l.nfree = j->concurrency;
  l.tokens = j->rate > 0 ? (j->rate < 1 ? j->rate : 1) : 0;
  l.last_refill = now_ms();

  struct epoll_event events[256];
  double next_sweep = now_ms() + 5;
  for (;;) {
    if (__atomic_load_n(&j->control[1], __ATOMIC_RELAXED)) {
      j->cancelled = 1;
      for (uint32_t s = 0; s < j->concurrency; s++)
        if (l.slots[s].fd >= 0) release(&l, s);
      break;
    }
    launch(&l);
    if (l.inflight == 0 && l.qhead >= l.qlen) break;
    double now = now_ms();
    int wait = 5;
    if (l.inflight == 0) {
      // Paused (back-off) or waiting for rate tokens.
      double until = l.paused_until > now ? l.paused_until - now : 1;
      wait = until < 5 ? (int)until + 1 : 5;
    }
    int n = epoll_wait(l.epfd, events, 256, wait);
    if (n < 0 && errno != EINTR) goto out;
    for (int k = 0; k < n; k++) complete(&l, events[k].data.u64);
    // Read every answer already there before any deadline is checked: an answer noticed late is
    // still an answer, never a timeout.
    while (n == 256) {
      n = epoll_wait(l.epfd, events, 256, 0);
      if (n < 0 && errno != EINTR) goto out;
      for (int k = 0; k < n; k++) complete(&l, events[k].data.u64);
    }
    now = now_ms();
    if (now >= next_sweep) {
      expire(&l, now);
      next_sweep = now + 5;
    }
  }
  rc = 0;
out:
  if (rc != 0 && l.slots)
    for (uint32_t s = 0; s < j->concurrency; s++)
      if (l.slots[s].fd >= 0) close(l.slots[s].fd);
  for (int f = 0; f < 2; f++)
    for (uint32_t k = 0; k < l.nspare[f]; k++) close(l.spare[f][k]);
  j->done = l.done;
  if (l.epfd >= 0 && l.epfd != j->epfd) close(l.epfd);
  free(l.queue);
  free(l.slots);
  free(l.free_slots);
  free(l.srtt);
  free(l.rttvar);
  free(l.spare[0]);
  free(l.spare[1]);
  return rc;
}
