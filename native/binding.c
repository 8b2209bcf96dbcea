// Node-API binding of the native connect-scan loop (connect_scan.c). One synchronous function:
//   scan({ hosts, families, hostIdx, ports, concurrency, rate, timeoutMs, minTimeoutMs, retries,
//          state, reason, rtt, control }) -> { done, cancelled, backoffErrno }
// It blocks the calling thread until the job ends, so it is meant for a worker thread. The output
// arrays are filled in place; control is an Int32Array (on a SharedArrayBuffer) of progress and cancel.
#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <node_api.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "connect_scan.h"

#define CHECK(call)                                                                                \
  do {                                                                                             \
    if ((call) != napi_ok) return fail(env, "scan: bad argument (" #call ")");                   \
  } while (0)

static napi_value fail(napi_env env, const char *msg) {
  napi_throw_type_error(env, NULL, msg);
  return NULL;
}

static napi_status typed(napi_env env, napi_value obj, const char *key, napi_typedarray_type want,
                         void **data, size_t *len) {
  napi_value v;
  napi_status st = napi_get_named_property(env, obj, key, &v);
  if (st != napi_ok) return st;
  bool is;
  st = napi_is_typedarray(env, v, &is);
  if (st != napi_ok) return st;
  if (!is) return napi_invalid_arg;
  napi_typedarray_type type;
  st = napi_get_typedarray_info(env, v, &type, len, data, NULL, NULL);
  if (st != napi_ok) return st;
  return type == want ? napi_ok : napi_invalid_arg;
}

static napi_status number(napi_env env, napi_value obj, const char *key, double *out) {
  napi_value v;
  napi_status st = napi_get_named_property(env, obj, key, &v);
  if (st != napi_ok) return st;
  st = napi_get_value_double(env, v, out);
  if (st != napi_ok) return st;
  // NaN and infinities have no integer value (converting them is undefined behaviour in C).
  return isfinite(*out) ? napi_ok : napi_invalid_arg;
}

// Each thread that loads the module (a probe worker) gets its epoll instance when it loads, before any
// scan can take every descriptor; it is closed with the thread.
typedef struct {
  int epfd;
} instance_t;

static void close_instance(napi_env env, void *data, void *hint) {
  instance_t *inst = data;
  if (inst->epfd >= 0) close(inst->epfd);
  free(inst);
}

static napi_value scan(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value opts;
  instance_t *inst = NULL;
  CHECK(napi_get_cb_info(env, info, &argc, &opts, NULL, (void **)&inst));
  if (argc < 1) return fail(env, "scan: options object expected");

  cs_job_t job;
  memset(&job, 0, sizeof job);
  void *p;
  size_t nfam, nidx, nports, n2;
  uint8_t *families;
  CHECK(typed(env, opts, "families", napi_uint8_array, &p, &nfam));
  families = p;
  CHECK(typed(env, opts, "hostIdx", napi_uint32_array, &p, &nidx));
  job.host_idx = p;
  CHECK(typed(env, opts, "ports", napi_uint16_array, &p, &nports));
  job.ports = p;
  if (nidx != nports) return fail(env, "scan: hostIdx and ports differ in length");
  job.n = (uint32_t)nports;
  CHECK(typed(env, opts, "state", napi_uint8_array, &p, &n2));
  job.state = p;
  if (n2 != nports) return fail(env, "scan: state has the wrong length");
  CHECK(typed(env, opts, "reason", napi_uint8_array, &p, &n2));
  job.reason = p;
  if (n2 != nports) return fail(env, "scan: reason has the wrong length");
  CHECK(typed(env, opts, "rtt", napi_float32_array, &p, &n2));
  job.rtt = p;
  if (n2 != nports) return fail(env, "scan: rtt has the wrong length");
  CHECK(typed(env, opts, "control", napi_int32_array, &p, &n2));
  job.control = p;
  if (n2 < 2) return fail(env, "scan: control needs two slots");

  double concurrency, retries;
  CHECK(number(env, opts, "concurrency", &concurrency));
  CHECK(number(env, opts, "rate", &job.rate));
  CHECK(number(env, opts, "timeoutMs", &job.timeout_ms));
  CHECK(number(env, opts, "minTimeoutMs", &job.min_timeout_ms));
  CHECK(number(env, opts, "retries", &retries));
  job.concurrency = concurrency < 1 ? 1 : concurrency > 65536 ? 65536 : (uint32_t)concurrency;
  job.retries = retries < 0 ? 0 : retries > 10 ? 10 : (uint8_t)retries;

  napi_value hosts;
  uint32_t nhosts;
  CHECK(napi_get_named_property(env, opts, "hosts", &hosts));
  CHECK(napi_get_array_length(env, hosts, &nhosts));
  if (nhosts != nfam) return fail(env, "scan: hosts and families differ in length");
  for (uint32_t i = 0; i < job.n; i++)
    if (job.host_idx[i] >= nhosts) return fail(env, "scan: hostIdx out of range");

  struct sockaddr_storage *addrs = calloc(nhosts ? nhosts : 1, sizeof *addrs);
  job.tries = calloc(job.n ? job.n : 1, 1);
  if (!addrs || !job.tries) {
    free(addrs);
    free(job.tries);
    return fail(env, "scan: out of memory");
  }
  for (uint32_t h = 0; h < nhosts; h++) {
    napi_value v;
    char text[INET6_ADDRSTRLEN + 2];
    size_t tl = 0;
    // A longer string is cut by the copy: refuse it rather than parse what is left.
    int ok = napi_get_element(env, hosts, h, &v) == napi_ok &&
             napi_get_value_string_utf8(env, v, text, sizeof text, &tl) == napi_ok && tl < sizeof text - 1;
    if (ok && families[h] == 6) {
      struct sockaddr_in6 *a = (struct sockaddr_in6 *)&addrs[h];
      a->sin6_family = AF_INET6;
      ok = inet_pton(AF_INET6, text, &a->sin6_addr) == 1;
    } else if (ok) {
      struct sockaddr_in *a = (struct sockaddr_in *)&addrs[h];
      a->sin_family = AF_INET;
      ok = inet_pton(AF_INET, text, &a->sin_addr) == 1;
    }
    if (!ok) {
      free(addrs);
      free(job.tries);
      return fail(env, "scan: a host is not an IP address");
    }
  }
  job.addrs = addrs;
  job.nhosts = nhosts;
  job.epfd = inst ? inst->epfd : -1;

  int rc = cs_run(&job);
  free(addrs);
  free(job.tries);
  if (rc != 0) {
    napi_throw_error(env, NULL, "scan: the probe loop failed");
    return NULL;
  }
  napi_value out, v;
  CHECK(napi_create_object(env, &out));
  CHECK(napi_create_uint32(env, job.done, &v));
  CHECK(napi_set_named_property(env, out, "done", v));
  CHECK(napi_get_boolean(env, job.cancelled != 0, &v));
  CHECK(napi_set_named_property(env, out, "cancelled", v));
  CHECK(napi_create_int32(env, job.backoff_errno, &v));
  CHECK(napi_set_named_property(env, out, "backoffErrno", v));
  return out;
}

NAPI_MODULE_INIT() {
  napi_value fn;
  instance_t *inst = malloc(sizeof *inst);
  if (!inst) return NULL;
  inst->epfd = epoll_create1(EPOLL_CLOEXEC);
  if (napi_set_instance_data(env, inst, close_instance, NULL) != napi_ok) {
    close_instance(env, inst, NULL);
    return NULL;
  }
  if (napi_create_function(env, "scan", NAPI_AUTO_LENGTH, scan, inst, &fn) != napi_ok) return NULL;
  if (napi_set_named_property(env, exports, "scan", fn) != napi_ok) return NULL;
  return exports;
}
