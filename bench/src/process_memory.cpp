#include "process_memory.hpp"

#include <dirent.h>

#include <cstdlib>
#include <fstream>
#include <map>
#include <string>
#include <thread>
#include <vector>

namespace bench {

namespace {

std::optional<std::uint64_t> rss_of(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) {
      return std::strtoull(line.c_str() + 6, nullptr, 10) * 1024; // kB
    }
  }
  return std::nullopt;
}

/// Parent pid of `pid` from /proc/PID/stat (the field after the command name).
pid_t parent_of(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat;
  std::getline(in, stat);
  auto close = stat.rfind(')');
  if (close == std::string::npos || close + 4 >= stat.size()) {
    return 0;
  }
  // ") S PPID ..."
  return static_cast<pid_t>(std::strtol(stat.c_str() + close + 4, nullptr, 10));
}

} // namespace

std::optional<std::uint64_t> tree_rss_bytes(pid_t root) {
  auto total = rss_of(root);
  if (!total) {
    return std::nullopt;
  }
  std::multimap<pid_t, pid_t> children;
  if (DIR* d = ::opendir("/proc")) {
    while (auto* e = ::readdir(d)) {
      char* end = nullptr;
      long pid = std::strtol(e->d_name, &end, 10);
      if (pid > 0 && *end == '\0') {
        children.emplace(parent_of(static_cast<pid_t>(pid)), static_cast<pid_t>(pid));
      }
    }
    ::closedir(d);
  }
  std::vector<pid_t> todo{root};
  while (!todo.empty()) {
    auto p = todo.back();
    todo.pop_back();
    auto [lo, hi] = children.equal_range(p);
    for (auto it = lo; it != hi; ++it) {
      *total += rss_of(it->second).value_or(0);
      todo.push_back(it->second);
    }
  }
  return total;
}

std::optional<std::uint64_t> settled_tree_rss_bytes(pid_t pid, std::chrono::milliseconds max_wait) {
  constexpr std::uint64_t still = 256 * 1024;
  const auto deadline = std::chrono::steady_clock::now() + max_wait;
  auto last = tree_rss_bytes(pid);
  while (last && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
    auto now = tree_rss_bytes(pid);
    if (!now) {
      return now;
    }
    const auto moved = *now > *last ? *now - *last : *last - *now;
    last = now;
    if (moved < still) {
      break;
    }
  }
  return last;
}

} // namespace bench
