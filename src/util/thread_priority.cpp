#include "util/thread_priority.hpp"

#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>

namespace solod {

namespace {

/// On Linux a thread id names one thread to setpriority: POSIX says the
/// process, but Linux gives each thread its own nice value.
id_t this_thread_id() {
  return static_cast<id_t>(::syscall(SYS_gettid));
}

} // namespace

bool lower_this_thread_priority(int increment) {
  if (increment <= 0) {
    return true;
  }
  return ::setpriority(PRIO_PROCESS, this_thread_id(), this_thread_niceness() + increment) == 0;
}

int this_thread_niceness() {
  errno = 0; // -1 is a valid answer: only errno tells an error apart
  int nice = ::getpriority(PRIO_PROCESS, this_thread_id());
  return errno == 0 ? nice : 0;
}

} // namespace solod
