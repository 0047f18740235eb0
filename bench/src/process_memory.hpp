#pragma once
/// @brief A server's resident memory, read from /proc: the process and every descendant.

#include <chrono>
#include <cstdint>
#include <optional>
#include <sys/types.h>

namespace bench {

/// VmRSS of `pid` plus every process below it, in bytes (peers may run a
/// worker under a shell); nothing when `pid` does not exist.
std::optional<std::uint64_t> tree_rss_bytes(pid_t pid);

/// tree_rss_bytes once it has stopped moving: sampled every 250 ms until two
/// samples differ by less than 256 KiB, for at most `max_wait`. A server that
/// has just opened its port may still be setting up (solod restores its live
/// sessions then); that memory is not the connections'.
std::optional<std::uint64_t> settled_tree_rss_bytes(pid_t pid, std::chrono::milliseconds max_wait);

} // namespace bench
