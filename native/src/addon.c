/*
 * virtio-cts native addon: the few Linux calls Node 20 cannot make itself and a
 * vhost-user front-end needs (fd passing over AF_UNIX, memfd + shared mmap,
 * eventfd, fd readiness on Node's own event loop).
 *
 * Plain C on Node-API (ABI-stable: one binary for Node 20/22/24) plus libuv from
 * Node's headers. Every call that could block is non-blocking: would-block is
 * returned as null/false, never waited for. Failures throw an Error whose `code`
 * is the errno name (EBADF, ECONNREFUSED, ...), like Node's own fs/net errors.
 */
#include <node_api.h>
#include <uv.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

/* The kernel's per-message limit for SCM_RIGHTS (SCM_MAX_FD). */
#define MAX_FDS 253

/* ---------------------------------------------------------------- errors -- */

/* Throws Error{code, errno, syscall, path?}; `err` is a positive errno. */
static napi_value throw_errno(napi_env env, int err, const char *syscall, const char *path) {
  char code[64], text[160], msg[512];
  uv_err_name_r(-err, code, sizeof code); /* on Unix, UV_E* == -errno */
  uv_strerror_r(-err, text, sizeof text);
  if (path)
    snprintf(msg, sizeof msg, "%s: %s, %s '%s'", code, text, syscall, path);
  else
    snprintf(msg, sizeof msg, "%s: %s, %s", code, text, syscall);
  napi_value e, m, c, v;
  napi_create_string_utf8(env, code, NAPI_AUTO_LENGTH, &c);
  napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &m);
  napi_create_error(env, c, m, &e);
  napi_create_int32(env, -err, &v);
  napi_set_named_property(env, e, "errno", v);
  napi_create_string_utf8(env, syscall, NAPI_AUTO_LENGTH, &v);
  napi_set_named_property(env, e, "syscall", v);
  if (path) {
    napi_create_string_utf8(env, path, NAPI_AUTO_LENGTH, &v);
    napi_set_named_property(env, e, "path", v);
  }
  napi_throw(env, e);
  return NULL;
}

static napi_value throw_type(napi_env env, const char *code, const char *msg) {
  napi_throw_type_error(env, code, msg);
  return NULL;
}

/* A failed napi_* call: keep the pending exception if there is one. */
static napi_value throw_napi(napi_env env) {
  bool pending = false;
  napi_is_exception_pending(env, &pending);
  if (!pending) {
    const napi_extended_error_info *info = NULL;
    napi_get_last_error_info(env, &info);
    napi_throw_error(env, "ERR_NAPI", info && info->error_message ? info->error_message : "Node-API call failed");
  }
  return NULL;
}

#define NAPI_CALL(call)                 \
  do {                                  \
    if ((call) != napi_ok) return throw_napi(env); \
  } while (0)

/* ------------------------------------------------------------- arguments -- */

static bool get_args(napi_env env, napi_callback_info info, size_t want, napi_value *argv) {
  size_t argc = want;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return false;
  for (size_t i = argc; i < want; i++) napi_get_undefined(env, &argv[i]);
  return true;
}

static bool is_type(napi_env env, napi_value v, napi_valuetype t) {
  napi_valuetype got;
  return napi_typeof(env, v, &got) == napi_ok && got == t;
}

/* An integer-valued number in [min, max]; throws and returns false otherwise. */
static bool arg_int(napi_env env, napi_value v, const char *name, double min, double max, int64_t *out) {
  double d;
  char msg[128];
  if (!is_type(env, v, napi_number) || napi_get_value_double(env, v, &d) != napi_ok) {
    snprintf(msg, sizeof msg, "%s must be a number", name);
    throw_type(env, "ERR_INVALID_ARG_TYPE", msg);
    return false;
  }
  if (!(d >= min && d <= max) || d != (double)(int64_t)d) {
    snprintf(msg, sizeof msg, "%s must be an integer in [%.0f, %.0f]", name, min, max);
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE", msg);
    return false;
  }
  *out = (int64_t)d;
  return true;
}

static bool arg_fd(napi_env env, napi_value v, int *fd) {
  int64_t x;
  if (!arg_int(env, v, "fd", -1, INT32_MAX, &x)) return false;
  *fd = (int)x;
  return true;
}

/* A string into buf (NUL-terminated); throws on non-strings or when it does not fit. */
static bool arg_string(napi_env env, napi_value v, const char *name, char *buf, size_t cap, int too_long_errno) {
  size_t len;
  char msg[128];
  if (!is_type(env, v, napi_string) || napi_get_value_string_utf8(env, v, NULL, 0, &len) != napi_ok) {
    snprintf(msg, sizeof msg, "%s must be a string", name);
    throw_type(env, "ERR_INVALID_ARG_TYPE", msg);
    return false;
  }
  if (len + 1 > cap) {
    throw_errno(env, too_long_errno, name, NULL);
    return false;
  }
  napi_get_value_string_utf8(env, v, buf, cap, &len);
  if (strlen(buf) != len) { /* an embedded NUL would silently shorten a path */
    snprintf(msg, sizeof msg, "%s must not contain NUL characters", name);
    throw_type(env, "ERR_INVALID_ARG_VALUE", msg);
    return false;
  }
  return true;
}

/* SOCK_STREAM (0) or SOCK_SEQPACKET (1). */
static bool arg_socktype(napi_env env, napi_value v, int *type) {
  int64_t x = 0;
  if (!is_type(env, v, napi_undefined) && !arg_int(env, v, "type", 0, 1, &x)) return false;
  *type = x == 1 ? SOCK_SEQPACKET : SOCK_STREAM;
  return true;
}

static bool arg_sockaddr(napi_env env, napi_value v, struct sockaddr_un *sa, socklen_t *len) {
  memset(sa, 0, sizeof *sa);
  sa->sun_family = AF_UNIX;
  if (!arg_string(env, v, "path", sa->sun_path, sizeof sa->sun_path, ENAMETOOLONG)) return false;
  if (sa->sun_path[0] == 0) {
    throw_errno(env, ENOENT, "path", "");
    return false;
  }
  *len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(sa->sun_path) + 1);
  return true;
}

/* Bytes of any ArrayBufferView (typed array or DataView). */
static bool arg_bytes(napi_env env, napi_value v, const char *name, void **data, size_t *len) {
  bool is = false;
  napi_typedarray_type t;
  size_t n;
  if (napi_is_typedarray(env, v, &is) == napi_ok && is) {
    napi_get_typedarray_info(env, v, &t, &n, data, NULL, NULL);
    static const size_t size_of[] = {1, 1, 1, 2, 2, 4, 4, 4, 8, 8, 8};
    *len = n * (t < sizeof size_of / sizeof size_of[0] ? size_of[t] : 1);
    return true;
  }
  if (napi_is_dataview(env, v, &is) == napi_ok && is) {
    napi_get_dataview_info(env, v, len, data, NULL, NULL);
    return true;
  }
  char msg[128];
  snprintf(msg, sizeof msg, "%s must be a Uint8Array (or another ArrayBufferView)", name);
  throw_type(env, "ERR_INVALID_ARG_TYPE", msg);
  return false;
}

static napi_value make_int(napi_env env, int64_t x) {
  napi_value v;
  napi_create_int64(env, x, &v);
  return v;
}

static napi_value make_null(napi_env env) {
  napi_value v;
  napi_get_null(env, &v);
  return v;
}

static napi_value make_bool(napi_env env, bool b) {
  napi_value v;
  napi_get_boolean(env, b, &v);
  return v;
}

/* -------------------------------------------------- per-environment state -- */

/* One uv_poll per fd (libuv forbids two active polls on one fd); up to one
 * readable and one writable callback share it. */
typedef struct poller {
  uv_poll_t handle;
  napi_env env;
  int fd;
  bool closing;
  uint32_t id[2]; /* 0 = slot empty; [0] readable, [1] writable */
  napi_ref cb[2];
  struct poller *next;
} poller;

typedef struct {
  uv_loop_t *loop;
  poller *pollers;
  uint32_t next_id;
  /* One async context for all watch callbacks, never destroyed: a per-watch one
   * could be destroyed by close()/stop() inside its own callback, mid-use. */
  napi_async_context ctx;
} instance;

static instance *get_instance(napi_env env) {
  void *p = NULL;
  napi_get_instance_data(env, &p);
  return p;
}

static void on_poller_closed(uv_handle_t *h) { free(h->data); }

/* Ends one poller: JS references dropped now, memory freed after uv_close. */
static void remove_poller(instance *inst, poller *p, bool env_alive) {
  for (poller **pp = &inst->pollers; *pp; pp = &(*pp)->next)
    if (*pp == p) {
      *pp = p->next;
      break;
    }
  p->closing = true;
  if (env_alive)
    for (int i = 0; i < 2; i++)
      if (p->cb[i]) napi_delete_reference(p->env, p->cb[i]);
  p->cb[0] = p->cb[1] = NULL;
  p->id[0] = p->id[1] = 0;
  uv_poll_stop(&p->handle);
  uv_close((uv_handle_t *)&p->handle, on_poller_closed);
}

static void stop_watches_on_fd(instance *inst, int fd) {
  for (poller *p = inst->pollers; p;) {
    poller *next = p->next;
    if (p->fd == fd) remove_poller(inst, p, true);
    p = next;
  }
}

static void cleanup_instance(void *arg) {
  instance *inst = arg;
  while (inst->pollers) remove_poller(inst, inst->pollers, false);
  free(inst);
}

/* --------------------------------------------------------------- sockets -- */

static napi_value js_connect(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  struct sockaddr_un sa;
  socklen_t len;
  int type;
  if (!get_args(env, info, 2, argv) || !arg_sockaddr(env, argv[0], &sa, &len) || !arg_socktype(env, argv[1], &type))
    return NULL;
  int fd = socket(AF_UNIX, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return throw_errno(env, errno, "socket", NULL);
  /* A non-blocking AF_UNIX connect completes at once or fails (EAGAIN when the
   * listener's backlog is full); it never returns EINPROGRESS. */
  int r;
  do r = connect(fd, (struct sockaddr *)&sa, len);
  while (r < 0 && errno == EINTR);
  if (r < 0) {
    int e = errno;
    close(fd);
    return throw_errno(env, e, "connect", sa.sun_path);
  }
  return make_int(env, fd);
}

static napi_value js_listen(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  struct sockaddr_un sa;
  socklen_t len;
  int64_t backlog;
  int type;
  if (!get_args(env, info, 3, argv) || !arg_sockaddr(env, argv[0], &sa, &len) ||
      !arg_int(env, argv[1], "backlog", 0, 65535, &backlog) || !arg_socktype(env, argv[2], &type))
    return NULL;
  int fd = socket(AF_UNIX, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return throw_errno(env, errno, "socket", NULL);
  if (bind(fd, (struct sockaddr *)&sa, len) < 0) {
    int e = errno;
    close(fd);
    return throw_errno(env, e, "bind", sa.sun_path);
  }
  if (listen(fd, (int)backlog) < 0) {
    int e = errno;
    close(fd);
    return throw_errno(env, e, "listen", sa.sun_path);
  }
  return make_int(env, fd);
}

static napi_value js_accept(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  int fd;
  if (!get_args(env, info, 1, argv) || !arg_fd(env, argv[0], &fd)) return NULL;
  int c;
  do c = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
  while (c < 0 && errno == EINTR);
  if (c < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK) return make_null(env);
    return throw_errno(env, errno, "accept", NULL);
  }
  return make_int(env, c);
}

static napi_value js_socketpair(napi_env env, napi_callback_info info) {
  napi_value argv[1], arr;
  int type, sv[2];
  if (!get_args(env, info, 1, argv) || !arg_socktype(env, argv[0], &type)) return NULL;
  if (socketpair(AF_UNIX, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) < 0)
    return throw_errno(env, errno, "socketpair", NULL);
  if (napi_create_array_with_length(env, 2, &arr) != napi_ok ||
      napi_set_element(env, arr, 0, make_int(env, sv[0])) != napi_ok ||
      napi_set_element(env, arr, 1, make_int(env, sv[1])) != napi_ok) {
    close(sv[0]);
    close(sv[1]);
    return throw_napi(env);
  }
  return arr;
}

static napi_value js_close(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  int fd;
  if (!get_args(env, info, 1, argv) || !arg_fd(env, argv[0], &fd)) return NULL;
  /* A poll left on a closed fd would misfire on whatever reuses the number. */
  stop_watches_on_fd(get_instance(env), fd);
  /* Linux releases the fd even when close() reports EINTR: never retry. */
  if (close(fd) < 0 && errno != EINTR) return throw_errno(env, errno, "close", NULL);
  return NULL;
}

typedef union {
  struct cmsghdr align;
  char buf[CMSG_SPACE(sizeof(int) * MAX_FDS)];
} cmsg_buf;

static napi_value js_sendmsg(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  int fd;
  void *data;
  size_t len;
  uint32_t nfds = 0;
  int fds[MAX_FDS];
  if (!get_args(env, info, 3, argv) || !arg_fd(env, argv[0], &fd) || !arg_bytes(env, argv[1], "data", &data, &len))
    return NULL;
  if (!is_type(env, argv[2], napi_undefined)) {
    bool is_array = false;
    napi_is_array(env, argv[2], &is_array);
    if (!is_array) return throw_type(env, "ERR_INVALID_ARG_TYPE", "fds must be an array of fds");
    NAPI_CALL(napi_get_array_length(env, argv[2], &nfds));
    if (nfds > MAX_FDS) return throw_errno(env, EINVAL, "sendmsg", NULL);
    for (uint32_t i = 0; i < nfds; i++) {
      napi_value el;
      int64_t x;
      NAPI_CALL(napi_get_element(env, argv[2], i, &el));
      if (!arg_int(env, el, "fds[i]", 0, INT32_MAX, &x)) return NULL;
      fds[i] = (int)x;
    }
  }
  /* On a stream socket the kernel sends ancillary data only with payload bytes:
   * fds with an empty message would vanish silently. */
  if (nfds > 0 && len == 0)
    return throw_type(env, "ERR_INVALID_ARG_VALUE", "fds must travel with at least one data byte");
  struct iovec iov = {.iov_base = data, .iov_len = len};
  struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};
  cmsg_buf cbuf;
  if (nfds > 0) {
    memset(&cbuf, 0, sizeof cbuf);
    msg.msg_control = cbuf.buf;
    msg.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
    struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
    memcpy(CMSG_DATA(c), fds, sizeof(int) * nfds);
  }
  ssize_t n;
  do n = sendmsg(fd, &msg, MSG_DONTWAIT | MSG_NOSIGNAL);
  while (n < 0 && errno == EINTR);
  if (n < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK) return make_null(env);
    return throw_errno(env, errno, "sendmsg", NULL);
  }
  return make_int(env, n);
}

static napi_value js_recvmsg(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  int fd;
  int64_t max_len, max_fds;
  if (!get_args(env, info, 3, argv) || !arg_fd(env, argv[0], &fd) ||
      !arg_int(env, argv[1], "maxLen", 1, 1 << 30, &max_len) || !arg_int(env, argv[2], "maxFds", 0, MAX_FDS, &max_fds))
    return NULL;
  void *buf = malloc((size_t)max_len);
  if (!buf) return throw_errno(env, ENOMEM, "recvmsg", NULL);
  struct iovec iov = {.iov_base = buf, .iov_len = (size_t)max_len};
  struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};
  cmsg_buf cbuf;
  if (max_fds > 0) {
    msg.msg_control = cbuf.buf;
    msg.msg_controllen = CMSG_SPACE(sizeof(int) * (size_t)max_fds);
  }
  ssize_t n;
  do n = recvmsg(fd, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
  while (n < 0 && errno == EINTR);
  if (n < 0) {
    int e = errno;
    free(buf);
    if (e == EAGAIN || e == EWOULDBLOCK) return make_null(env);
    return throw_errno(env, e, "recvmsg", NULL);
  }
  /* Keep at most max_fds. CMSG_SPACE rounds up, so the kernel may deliver one
   * more than asked: close the extras so nothing leaks, and say so. */
  int got[MAX_FDS + 2];
  size_t ngot = 0;
  bool ctrunc = (msg.msg_flags & MSG_CTRUNC) != 0;
  for (struct cmsghdr *c = msg.msg_controllen ? CMSG_FIRSTHDR(&msg) : NULL; c; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
    size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    int *p = (int *)CMSG_DATA(c);
    for (size_t i = 0; i < k; i++) {
      int rfd;
      memcpy(&rfd, p + i, sizeof rfd);
      if (ngot < (size_t)max_fds)
        got[ngot++] = rfd;
      else {
        close(rfd);
        ctrunc = true;
      }
    }
  }
  napi_value result, ab, data, fds, trunc;
  void *dst;
  bool ok = napi_create_object(env, &result) == napi_ok && napi_create_arraybuffer(env, (size_t)n, &dst, &ab) == napi_ok &&
            napi_create_typedarray(env, napi_uint8_array, (size_t)n, ab, 0, &data) == napi_ok &&
            napi_create_array_with_length(env, ngot, &fds) == napi_ok && napi_create_object(env, &trunc) == napi_ok;
  if (ok) {
    if (n > 0) memcpy(dst, buf, (size_t)n);
    for (size_t i = 0; ok && i < ngot; i++) ok = napi_set_element(env, fds, (uint32_t)i, make_int(env, got[i])) == napi_ok;
    ok = ok && napi_set_named_property(env, trunc, "data", make_bool(env, (msg.msg_flags & MSG_TRUNC) != 0)) == napi_ok &&
         napi_set_named_property(env, trunc, "control", make_bool(env, ctrunc)) == napi_ok &&
         napi_set_named_property(env, result, "data", data) == napi_ok &&
         napi_set_named_property(env, result, "fds", fds) == napi_ok &&
         napi_set_named_property(env, result, "truncated", trunc) == napi_ok;
  }
  free(buf);
  if (!ok) {
    for (size_t i = 0; i < ngot; i++) close(got[i]);
    return throw_napi(env);
  }
  return result;
}

/* ------------------------------------------------------- memfd and mmap -- */

static napi_value js_memfd_create(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  char name[250]; /* the kernel allows 249 bytes after its "memfd:" prefix */
  int64_t size;
  if (!get_args(env, info, 2, argv) || !arg_string(env, argv[0], "name", name, sizeof name, EINVAL) ||
      !arg_int(env, argv[1], "size", 0, 9007199254740991.0, &size))
    return NULL;
  int fd = memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING);
  if (fd < 0) return throw_errno(env, errno, "memfd_create", NULL);
  if (ftruncate(fd, (off_t)size) < 0) {
    int e = errno;
    close(fd);
    return throw_errno(env, e, "ftruncate", NULL);
  }
  /* Nobody (a back-end holding the fd included) may shrink it later: a mapped
   * page past EOF would SIGBUS the whole suite. Growing stays allowed. */
  if (fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK) < 0) {
    int e = errno;
    close(fd);
    return throw_errno(env, e, "fcntl", NULL);
  }
  return make_int(env, fd);
}

/* Live mappings, process-wide (finalizers may run at env teardown, after the
 * per-env state is gone). An entry is freed only by its ArrayBuffer's
 * finalizer, so a finalizer never sees freed memory, and an address reused by
 * a later mmap never gets unmapped by an old, already-unmapped buffer. */
typedef struct mapping {
  void *addr;
  size_t len;
  bool live;
  struct mapping *prev, *next;
} mapping;

static mapping *mappings;
static pthread_mutex_t mappings_lock = PTHREAD_MUTEX_INITIALIZER;

static void unlink_mapping(mapping *m) {
  if (m->prev) m->prev->next = m->next;
  else mappings = m->next;
  if (m->next) m->next->prev = m->prev;
  m->prev = m->next = NULL;
  m->live = false;
}

static void finalize_mapping(napi_env env, void *data, void *hint) {
  mapping *m = hint;
  pthread_mutex_lock(&mappings_lock);
  if (m->live) {
    munmap(m->addr, m->len);
    unlink_mapping(m);
  }
  pthread_mutex_unlock(&mappings_lock);
  free(m);
}

static napi_value js_mmap(napi_env env, napi_callback_info info) {
  napi_value argv[3], ab;
  int fd;
  int64_t size, offset = 0;
  if (!get_args(env, info, 3, argv) || !arg_fd(env, argv[0], &fd) ||
      !arg_int(env, argv[1], "size", 1, 9007199254740991.0, &size))
    return NULL;
  if (!is_type(env, argv[2], napi_undefined) && !arg_int(env, argv[2], "offset", 0, 9007199254740991.0, &offset))
    return NULL;
  /* Touching a page past the end of a file raises SIGBUS: refuse up front. */
  struct stat st;
  if (fstat(fd, &st) < 0) return throw_errno(env, errno, "fstat", NULL);
  if (S_ISREG(st.st_mode) && (uint64_t)offset + (uint64_t)size > (uint64_t)st.st_size)
    return throw_errno(env, ENXIO, "mmap", NULL);
  mapping *m = calloc(1, sizeof *m);
  if (!m) return throw_errno(env, ENOMEM, "mmap", NULL);
  void *addr = mmap(NULL, (size_t)size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, (off_t)offset);
  if (addr == MAP_FAILED) {
    int e = errno;
    free(m);
    return throw_errno(env, e, "mmap", NULL);
  }
  m->addr = addr;
  m->len = (size_t)size;
  m->live = true;
  pthread_mutex_lock(&mappings_lock);
  m->next = mappings;
  if (mappings) mappings->prev = m;
  mappings = m;
  pthread_mutex_unlock(&mappings_lock);
  if (napi_create_external_arraybuffer(env, addr, (size_t)size, finalize_mapping, m, &ab) != napi_ok) {
    pthread_mutex_lock(&mappings_lock);
    munmap(addr, (size_t)size);
    unlink_mapping(m);
    pthread_mutex_unlock(&mappings_lock);
    free(m);
    return throw_napi(env);
  }
  return ab;
}

static napi_value js_munmap(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  bool is_ab = false;
  void *data = NULL;
  size_t len = 0;
  if (!get_args(env, info, 1, argv)) return NULL;
  if (napi_is_arraybuffer(env, argv[0], &is_ab) != napi_ok || !is_ab)
    return throw_type(env, "ERR_INVALID_ARG_TYPE", "buffer must be an ArrayBuffer returned by mmap()");
  NAPI_CALL(napi_get_arraybuffer_info(env, argv[0], &data, &len));
  pthread_mutex_lock(&mappings_lock);
  mapping *m = mappings;
  while (m && !(data && m->addr == data && m->len == len)) m = m->next;
  pthread_mutex_unlock(&mappings_lock);
  /* Not ours, or already unmapped (a detached buffer has no data). */
  if (!m) return throw_errno(env, EINVAL, "munmap", NULL);
  /* Detach first: afterwards no JS view can reach the pages we unmap. */
  NAPI_CALL(napi_detach_arraybuffer(env, argv[0]));
  pthread_mutex_lock(&mappings_lock);
  munmap(m->addr, m->len);
  unlink_mapping(m);
  pthread_mutex_unlock(&mappings_lock);
  return NULL;
}

/* ------------------------------------------------------------- eventfd -- */

static napi_value js_eventfd(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  int64_t init, flags = 0;
  if (!get_args(env, info, 2, argv) || !arg_int(env, argv[0], "initval", 0, UINT32_MAX, &init)) return NULL;
  if (!is_type(env, argv[1], napi_undefined) && !arg_int(env, argv[1], "flags", 0, INT32_MAX, &flags)) return NULL;
  int fd = eventfd((unsigned)init, (int)flags | EFD_NONBLOCK | EFD_CLOEXEC);
  if (fd < 0) return throw_errno(env, errno, "eventfd", NULL);
  return make_int(env, fd);
}

static napi_value js_eventfd_read(napi_env env, napi_callback_info info) {
  napi_value argv[1], v;
  int fd;
  uint64_t x;
  if (!get_args(env, info, 1, argv) || !arg_fd(env, argv[0], &fd)) return NULL;
  ssize_t n;
  do n = read(fd, &x, sizeof x);
  while (n < 0 && errno == EINTR);
  if (n < 0) {
    if (errno == EAGAIN) return make_null(env);
    return throw_errno(env, errno, "read", NULL);
  }
  if (n != sizeof x) return throw_errno(env, EINVAL, "read", NULL); /* not an eventfd */
  NAPI_CALL(napi_create_bigint_uint64(env, x, &v));
  return v;
}

static napi_value js_eventfd_write(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  int fd;
  uint64_t x;
  if (!get_args(env, info, 2, argv) || !arg_fd(env, argv[0], &fd)) return NULL;
  if (is_type(env, argv[1], napi_bigint)) {
    bool lossless = false;
    NAPI_CALL(napi_get_value_bigint_uint64(env, argv[1], &x, &lossless));
    if (!lossless) {
      napi_throw_range_error(env, "ERR_OUT_OF_RANGE", "value must fit in 64 unsigned bits");
      return NULL;
    }
  } else {
    int64_t y;
    if (!arg_int(env, argv[1], "value", 0, 9007199254740991.0, &y)) return NULL;
    x = (uint64_t)y;
  }
  ssize_t n;
  do n = write(fd, &x, sizeof x);
  while (n < 0 && errno == EINTR);
  if (n < 0) {
    if (errno == EAGAIN) return make_bool(env, false); /* counter would overflow */
    return throw_errno(env, errno, "write", NULL);
  }
  if (n != sizeof x) return throw_errno(env, EINVAL, "write", NULL);
  return make_bool(env, true);
}

/* -------------------------------------------------------------- watches -- */

static void on_poll(uv_poll_t *h, int status, int events) {
  poller *p = h->data;
  napi_env env = p->env;
  napi_handle_scope scope;
  if (napi_open_handle_scope(env, &scope) != napi_ok) return;
  napi_value err = NULL, recv;
  napi_get_global(env, &recv); /* napi_make_callback wants an object receiver */
  if (status < 0) {
    /* libuv has already stopped the handle (e.g. EBADF); tell every callback. */
    char code[64], text[160], msg[300];
    napi_value c, m;
    uv_err_name_r(status, code, sizeof code);
    uv_strerror_r(status, text, sizeof text);
    snprintf(msg, sizeof msg, "%s: %s, poll", code, text);
    napi_create_string_utf8(env, code, NAPI_AUTO_LENGTH, &c);
    napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &m);
    napi_create_error(env, c, m, &err);
    napi_set_named_property(env, err, "errno", make_int(env, status));
  }
  for (int i = 0; i < 2; i++) {
    /* A callback may stop/close anything: re-check before each call. */
    if (p->closing || !p->id[i]) continue;
    if (!err && !(events & (i == 0 ? UV_READABLE : UV_WRITABLE))) continue;
    napi_value cb, arg = err ? err : make_null(env), result;
    if (napi_get_reference_value(env, p->cb[i], &cb) != napi_ok || !cb) continue;
    if (napi_make_callback(env, get_instance(env)->ctx, recv, cb, 1, &arg, &result) == napi_pending_exception) {
      napi_value exc;
      napi_get_and_clear_last_exception(env, &exc);
      napi_fatal_exception(env, exc); /* surfaces as 'uncaughtException' */
    }
  }
  if (err && !p->closing) remove_poller(get_instance(env), p, true);
  napi_close_handle_scope(env, scope);
}

static int poll_mask(poller *p) { return (p->id[0] ? UV_READABLE : 0) | (p->id[1] ? UV_WRITABLE : 0); }

/* watch(fd, which: 0 readable | 1 writable, cb(err|null)) -> watch id */
static napi_value js_watch(napi_env env, napi_callback_info info) {
  napi_value argv[3], name;
  int fd;
  int64_t which;
  if (!get_args(env, info, 3, argv) || !arg_fd(env, argv[0], &fd) || !arg_int(env, argv[1], "event", 0, 1, &which))
    return NULL;
  if (!is_type(env, argv[2], napi_function)) return throw_type(env, "ERR_INVALID_ARG_TYPE", "callback must be a function");
  if (fd < 0) return throw_errno(env, EBADF, "watch", NULL);
  instance *inst = get_instance(env);
  poller *p = inst->pollers;
  while (p && p->fd != fd) p = p->next;
  bool fresh = p == NULL;
  if (!fresh && p->id[which]) return throw_errno(env, EEXIST, "watch", NULL);
  if (!inst->ctx) {
    if (napi_create_string_utf8(env, "virtio-cts-native:watch", NAPI_AUTO_LENGTH, &name) != napi_ok ||
        napi_async_init(env, NULL, name, &inst->ctx) != napi_ok)
      return throw_napi(env);
  }
  if (fresh) {
    p = calloc(1, sizeof *p);
    if (!p) return throw_errno(env, ENOMEM, "watch", NULL);
    int r = uv_poll_init(inst->loop, &p->handle, fd);
    if (r < 0) {
      free(p);
      return throw_errno(env, -r, "watch", NULL);
    }
    p->handle.data = p;
    p->env = env;
    p->fd = fd;
    p->next = inst->pollers;
    inst->pollers = p;
  }
  if (napi_create_reference(env, argv[2], 1, &p->cb[which]) != napi_ok) {
    if (fresh) remove_poller(inst, p, true);
    return throw_napi(env);
  }
  if (++inst->next_id == 0) inst->next_id = 1;
  p->id[which] = inst->next_id;
  int r = uv_poll_start(&p->handle, poll_mask(p), on_poll);
  if (r < 0) {
    napi_delete_reference(env, p->cb[which]);
    p->cb[which] = NULL;
    p->id[which] = 0;
    if (fresh) remove_poller(inst, p, true);
    return throw_errno(env, -r, "watch", NULL);
  }
  return make_int(env, p->id[which]);
}

/* unwatch(id) -> true if that watch was still active */
static napi_value js_unwatch(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  int64_t id;
  if (!get_args(env, info, 1, argv) || !arg_int(env, argv[0], "id", 0, UINT32_MAX, &id)) return NULL;
  instance *inst = get_instance(env);
  for (poller *p = inst->pollers; p; p = p->next)
    for (int i = 0; i < 2; i++)
      if (id && p->id[i] == (uint32_t)id) {
        napi_delete_reference(env, p->cb[i]);
        p->cb[i] = NULL;
        p->id[i] = 0;
        if (!poll_mask(p))
          remove_poller(inst, p, true);
        else
          uv_poll_start(&p->handle, poll_mask(p), on_poll);
        return make_bool(env, true);
      }
  return make_bool(env, false);
}

/* ---------------------------------------------------------------- module -- */

NAPI_MODULE_INIT() {
  instance *inst = calloc(1, sizeof *inst);
  if (!inst) {
    napi_throw_error(env, "ENOMEM", "virtio-cts-native: out of memory");
    return NULL;
  }
  if (napi_get_uv_event_loop(env, &inst->loop) != napi_ok || napi_set_instance_data(env, inst, NULL, NULL) != napi_ok ||
      napi_add_env_cleanup_hook(env, cleanup_instance, inst) != napi_ok) {
    free(inst);
    return throw_napi(env);
  }
#define FN(name, fn) {name, NULL, fn, NULL, NULL, NULL, napi_default_jsproperty, NULL}
  napi_property_descriptor props[] = {
      FN("connect", js_connect),         FN("listen", js_listen),
      FN("accept", js_accept),           FN("socketpair", js_socketpair),
      FN("close", js_close),             FN("sendmsg", js_sendmsg),
      FN("recvmsg", js_recvmsg),         FN("memfdCreate", js_memfd_create),
      FN("mmap", js_mmap),               FN("munmap", js_munmap),
      FN("eventfd", js_eventfd),         FN("eventfdRead", js_eventfd_read),
      FN("eventfdWrite", js_eventfd_write), FN("watch", js_watch),
      FN("unwatch", js_unwatch),
  };
#undef FN
  NAPI_CALL(napi_define_properties(env, exports, sizeof props / sizeof props[0], props));
  napi_value v;
  napi_create_int32(env, EFD_SEMAPHORE, &v);
  napi_set_named_property(env, exports, "EFD_SEMAPHORE", v);
  napi_create_int32(env, MAX_FDS, &v);
  napi_set_named_property(env, exports, "MAX_FDS", v);
  return exports;
}
