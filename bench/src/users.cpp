#include "users.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace bench {

std::string user_name(const std::string& prefix, std::size_t i) {
  char digits[32];
  std::snprintf(digits, sizeof digits, "%06zu", i);
  return prefix + digits;
}

std::vector<bench_user> generated_users(const std::string& prefix, std::size_t n) {
  std::vector<bench_user> out(n);
  for (std::size_t i = 0; i < n; ++i) {
    out[i].name = user_name(prefix, i + 1);
  }
  return out;
}

std::vector<bench_user> read_token_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    throw std::runtime_error("cannot read token file '" + path + "'");
  }
  std::vector<bench_user> out;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') {
      continue;
    }
    std::istringstream fields(line);
    bench_user u;
    if (!(fields >> u.id >> u.name >> u.token)) {
      throw std::runtime_error("token file '" + path + "': bad line '" + line.substr(0, 80) + "'");
    }
    out.push_back(std::move(u));
  }
  return out;
}

void write_token_file(const std::string& path, const std::vector<bench_user>& users) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  if (fd < 0) {
    throw std::runtime_error("cannot write token file '" + path + "'");
  }
  ::close(fd);
  std::ofstream out(path, std::ios::trunc);
  out << "# solod-bench token file: ID USERNAME TOKEN\n";
  for (const auto& u : users) {
    out << u.id << ' ' << u.name << ' ' << u.token << '\n';
  }
  if (!out.flush()) {
    throw std::runtime_error("cannot write token file '" + path + "'");
  }
}

} // namespace bench
