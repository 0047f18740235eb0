#include "workers.hpp"

#include "clock.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/streambuf.hpp>

#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <map>

namespace bench {

namespace net = boost::asio;

namespace {

/// Writes all of `data` to `fd`, blocking; false on error.
bool write_all(int fd, const std::string& data) {
  std::size_t off = 0;
  while (off < data.size()) {
    auto n = ::write(fd, data.data() + off, data.size() - off);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      return false;
    }
    off += static_cast<std::size_t>(n);
  }
  return true;
}

} // namespace

// -- the worker's side ----------------------------------------------------------------

struct worker_link::reader {
  net::posix::stream_descriptor fd;
  net::streambuf buf;
  explicit reader(net::io_context& ioc, int down) : fd(ioc, down) {}
};

worker_link::worker_link(std::size_t index, std::size_t count, int up_fd, int down_fd)
  : index_(index), count_(count), up_fd_(up_fd), down_fd_(down_fd) {}

worker_link::~worker_link() = default;

std::pair<std::size_t, std::size_t> worker_link::share(std::size_t n) const {
  return {n * index_ / count_, n * (index_ + 1) / count_};
}

void worker_link::write_line(const json& j) {
  if (!write_all(up_fd_, j.dump() + "\n")) {
    std::fprintf(stderr, "solod-bench worker %zu: lost the parent\n", index_);
    ::_exit(3);
  }
}

void worker_link::barrier(net::io_context& ioc, const std::string& name, json payload,
                          std::function<void(json)> go) {
  if (!reader_) {
    reader_ = std::make_unique<reader>(ioc, down_fd_);
  }
  write_line({{"barrier", name}, {"payload", std::move(payload)}});
  net::async_read_until(reader_->fd, reader_->buf, '\n',
                        [this, go = std::move(go)](boost::system::error_code ec, std::size_t n) {
    if (ec) {
      std::fprintf(stderr, "solod-bench worker %zu: lost the parent\n", index_);
      ::_exit(3);
    }
    std::string line(net::buffers_begin(reader_->buf.data()), net::buffers_begin(reader_->buf.data()) + n);
    reader_->buf.consume(n);
    auto answer = json::parse(line, nullptr, false);
    go(answer.is_object() ? answer.value("answer", json::object()) : json::object());
  });
}

void worker_link::report(const json& result) {
  write_line({{"result", result}});
}

// -- the parent's side ------------------------------------------------------------------

worker_results run_workers(std::size_t count, std::chrono::seconds timeout, barrier_hook hook,
                           std::function<json(worker_link&)> body) {
  struct child {
    pid_t pid = -1;
    int up = -1;    // we read
    int down = -1;  // we write
    std::string pending;
    bool open = true;
    bool reported = false;
  };
  std::vector<child> children(count);
  std::cout.flush();
  std::fflush(stdout);
  std::fflush(stderr);

  for (std::size_t w = 0; w < count; ++w) {
    int up[2];
    int down[2];
    if (::pipe(up) != 0 || ::pipe(down) != 0) {
      throw std::runtime_error(std::string("pipe: ") + std::strerror(errno));
    }
    pid_t pid = ::fork();
    if (pid < 0) {
      throw std::runtime_error(std::string("fork: ") + std::strerror(errno));
    }
    if (pid == 0) {
      // The worker: only its own pipe ends stay open.
      for (std::size_t o = 0; o < w; ++o) {
        ::close(children[o].up);
        ::close(children[o].down);
      }
      ::close(up[0]);
      ::close(down[1]);
      worker_link link(w, count, up[1], down[0]);
      int code = 0;
      try {
        link.report(body(link));
      } catch (const std::exception& e) {
        std::fprintf(stderr, "solod-bench worker %zu: %s\n", w, e.what());
        code = 1;
      }
      std::fflush(stderr);
      ::_exit(code); // no destructors: the kernel closes every socket at once
    }
    ::close(up[1]);
    ::close(down[0]);
    children[w].pid = pid;
    children[w].up = up[0];
    children[w].down = down[1];
  }

  worker_results out;
  out.reports.assign(count, json());
  std::map<std::string, std::vector<json>> arrivals;
  std::map<std::string, std::size_t> arrived;

  // A barrier opens when every worker still alive has reached it.
  auto release_ready = [&] {
    std::size_t alive = 0;
    for (const auto& c : children) {
      alive += c.open && !c.reported ? 1 : 0;
    }
    for (auto it = arrived.begin(); it != arrived.end();) {
      if (it->second < alive || alive == 0) {
        ++it;
        continue;
      }
      json answer = hook ? hook(it->first, arrivals[it->first]) : json::object();
      std::string line = json{{"answer", answer}}.dump() + "\n";
      for (auto& c : children) {
        if (c.open) {
          write_all(c.down, line);
        }
      }
      arrivals.erase(it->first);
      it = arrived.erase(it);
    }
  };

  const auto deadline = now_ns() + std::chrono::duration_cast<std::chrono::nanoseconds>(timeout).count();
  while (true) {
    std::vector<pollfd> fds;
    std::vector<std::size_t> who;
    for (std::size_t w = 0; w < count; ++w) {
      if (children[w].open) {
        fds.push_back({children[w].up, POLLIN, 0});
        who.push_back(w);
      }
    }
    if (fds.empty()) {
      break;
    }
    auto left_ms = (deadline - now_ns()) / 1'000'000;
    if (left_ms <= 0) {
      out.ok = false;
      out.error = "timed out after " + std::to_string(timeout.count()) + " s";
      for (auto& c : children) {
        if (c.open) {
          ::kill(c.pid, SIGKILL);
        }
      }
      break;
    }
    int n = ::poll(fds.data(), fds.size(), static_cast<int>(std::min<long long>(left_ms, 1000)));
    if (n < 0 && errno != EINTR) {
      throw std::runtime_error(std::string("poll: ") + std::strerror(errno));
    }
    for (std::size_t i = 0; n > 0 && i < fds.size(); ++i) {
      if (fds[i].revents == 0) {
        continue;
      }
      auto& c = children[who[i]];
      char buf[65536];
      auto got = ::read(c.up, buf, sizeof buf);
      if (got < 0 && errno == EINTR) {
        continue;
      }
      if (got <= 0) {
        c.open = false;
        if (!c.reported) {
          out.ok = false;
          if (out.error.empty()) {
            out.error = "worker " + std::to_string(who[i]) + " ended without a report";
          }
        }
        release_ready();
        continue;
      }
      c.pending.append(buf, static_cast<std::size_t>(got));
      for (auto nl = c.pending.find('\n'); nl != std::string::npos; nl = c.pending.find('\n')) {
        auto msg = json::parse(c.pending.substr(0, nl), nullptr, false);
        c.pending.erase(0, nl + 1);
        if (!msg.is_object()) {
          continue;
        }
        if (msg.contains("barrier")) {
          auto name = msg["barrier"].get<std::string>();
          auto& list = arrivals[name];
          list.resize(count);
          list[who[i]] = msg.value("payload", json::object());
          arrived[name]++;
        } else if (msg.contains("result")) {
          out.reports[who[i]] = msg["result"];
          c.reported = true;
        }
      }
      release_ready();
    }
  }
  for (auto& c : children) {
    ::close(c.up);
    ::close(c.down);
    int status = 0;
    ::waitpid(c.pid, &status, 0);
  }
  return out;
}

std::size_t raise_open_file_limit() {
  rlimit lim{};
  if (::getrlimit(RLIMIT_NOFILE, &lim) != 0) {
    return 1024;
  }
  if (lim.rlim_cur < lim.rlim_max) {
    lim.rlim_cur = lim.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &lim);
    ::getrlimit(RLIMIT_NOFILE, &lim);
  }
  return static_cast<std::size_t>(lim.rlim_cur);
}

std::size_t processes_for(std::size_t connections, std::size_t requested) {
  rlimit lim{};
  ::getrlimit(RLIMIT_NOFILE, &lim);
  auto per_process = std::max<std::size_t>(static_cast<std::size_t>(lim.rlim_cur) * 3 / 4, 64);
  auto needed = (connections + per_process - 1) / per_process;
  return std::max<std::size_t>({requested, needed, 1});
}

} // namespace bench
