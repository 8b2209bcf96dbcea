// One connect-scan job for cs_run (connect_scan.c): the probes to make and where their outcomes go.
#ifndef PORTCULLIS_CONNECT_SCAN_H
#define PORTCULLIS_CONNECT_SCAN_H
#include <stdint.h>
#include <sys/socket.h>

typedef struct {
  // Hosts, already parsed; probe i goes to addrs[host_idx[i]] port ports[i].
  const struct sockaddr_storage *addrs;
  uint32_t nhosts;
  const uint32_t *host_idx;
  const uint16_t *ports;
  uint32_t n;
  uint32_t concurrency;
  double rate;  // new connects per second, 0 = unlimited
  double timeout_ms, min_timeout_ms;
  uint8_t retries;
  // Outcomes, n each: state (1 open, 2 closed, 3 filtered; 0 not probed), reason, RTT in ms; tries is
  // scratch space.
  uint8_t *state, *reason, *tries;
  float *rtt;
  // Shared with other threads: control[0] is the count settled so far, written here; a non-zero
  // control[1] asks the loop to stop.
  int32_t *control;
  // An epoll instance to use (kept by the caller, empty between jobs), or -1 to make one for the job.
  int epfd;
  // Set on return.
  uint32_t done;
  int cancelled;
  int backoff_errno;
} cs_job_t;

// Runs the job to the end (or until cancelled); 0 on success, -1 when the loop itself failed.
int cs_run(cs_job_t *job);
#endif
