#pragma once
/// @brief The process's open-file limit (RLIMIT_NOFILE), raised at start-up to what the system allows.
///
/// Every connection is a file descriptor. Debian starts services with a soft
/// limit of 1024 and a hard limit of 524288: without raising the soft limit,
/// accept() fails with EMFILE near a thousand clients whatever
/// `server.max_connections` says. Raising the soft limit up to the hard one
/// needs no privilege; raising the hard one is the service manager's job
/// (systemd `LimitNOFILE=`, docker `--ulimit nofile=`).

#include <cstdint>
#include <string>

namespace solod {

/// Descriptors solod needs besides its client connections: listeners, the
/// epoll and eventfd of each io thread, database connections, log files, the
/// TLS key files, /dev/urandom.
inline constexpr std::uint64_t open_files_reserve = 128;

/// What `raise_open_files_limit` found and did.
struct open_files_limit {
  std::uint64_t soft_before = 0; ///< the soft limit at start
  std::uint64_t soft = 0;        ///< the soft limit now
  std::uint64_t hard = 0;        ///< the hard limit (unlimited: the kernel's fs.nr_open)
  std::string error;             ///< why reading or raising failed; empty when it did not
};

/// Raises the soft RLIMIT_NOFILE to the hard limit (when the hard limit is
/// unlimited, to the kernel's `fs.nr_open`, the most Linux accepts).
open_files_limit raise_open_files_limit();

} // namespace solod
