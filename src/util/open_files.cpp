#include "util/open_files.hpp"

#include <sys/resource.h>

#include <cerrno>
#include <cstring>
#include <fstream>

namespace solod {

namespace {

/// The kernel's ceiling for RLIMIT_NOFILE; a soft limit of RLIM_INFINITY is refused above it.
std::uint64_t kernel_nr_open() {
  std::ifstream in("/proc/sys/fs/nr_open");
  std::uint64_t n = 0;
  if (in >> n && n > 0) {
    return n;
  }
  return 1u << 20; // Linux's default
}

} // namespace

open_files_limit raise_open_files_limit() {
  open_files_limit out;
  rlimit lim{};
  if (getrlimit(RLIMIT_NOFILE, &lim) != 0) {
    out.error = std::string("getrlimit: ") + std::strerror(errno);
    return out;
  }
  const std::uint64_t hard =
    lim.rlim_max == RLIM_INFINITY ? kernel_nr_open() : static_cast<std::uint64_t>(lim.rlim_max);
  out.soft_before = lim.rlim_cur == RLIM_INFINITY ? hard : static_cast<std::uint64_t>(lim.rlim_cur);
  out.soft = out.soft_before;
  out.hard = hard;
  if (out.soft_before >= hard) {
    return out;
  }
  rlimit raised = lim;
  raised.rlim_cur = static_cast<rlim_t>(hard);
  if (setrlimit(RLIMIT_NOFILE, &raised) != 0) {
    out.error = std::string("setrlimit: ") + std::strerror(errno);
    return out;
  }
  out.soft = hard;
  return out;
}

} // namespace solod
