// Linked only into the ThreadSanitizer build (INLET_SANITIZE=thread).
//
// glibc's C11 thrd_create starts a thread through its internal pthread_create, which
// ThreadSanitizer does not intercept: the new thread has no sanitizer state and crashes
// at its first allocation. Debian's librdkafka starts its threads that way. These
// definitions, in the executable, take precedence over glibc's for every library, and
// start and join threads through the intercepted pthread functions.
#include <errno.h>
#include <pthread.h>
#include <threads.h>

#include <cstdint>

namespace {

struct Start {
  thrd_start_t func;
  void* arg;
};

void* Run(void* p) {
  Start s = *static_cast<Start*>(p);
  delete static_cast<Start*>(p);
  // As glibc does: the int result travels through the void* of pthread_join.
  return reinterpret_cast<void*>(static_cast<intptr_t>(s.func(s.arg)));
}

}  // namespace

extern "C" int thrd_create(thrd_t* thr, thrd_start_t func, void* arg) {
  auto* start = new Start{func, arg};
  int rc = pthread_create(reinterpret_cast<pthread_t*>(thr), nullptr, Run, start);
  if (rc == 0) return thrd_success;
  delete start;
  return rc == EAGAIN ? thrd_nomem : thrd_error;
}

extern "C" int thrd_join(thrd_t thr, int* res) {
  void* out = nullptr;
  if (pthread_join(static_cast<pthread_t>(thr), &out) != 0) return thrd_error;
  if (res) *res = static_cast<int>(reinterpret_cast<intptr_t>(out));
  return thrd_success;
}

extern "C" int thrd_detach(thrd_t thr) {
  return pthread_detach(static_cast<pthread_t>(thr)) == 0 ? thrd_success : thrd_error;
}
