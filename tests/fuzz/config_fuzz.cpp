/// @brief Fuzz target: the configuration, a TOML file plus SOLOD_* environment overrides.
///
/// Input: the file's text, then optionally a line `#--env--` followed by
/// `NAME=value` lines. load_config must either succeed or throw config_error
/// (main catches nothing else); what it accepts must render (`solod config
/// check`) to a file that loads back to the same configuration.

#include "config/config.hpp"

#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

namespace {

[[noreturn]] void fail(const std::string& why) {
  std::fprintf(stderr, "config: %s\n", why.c_str());
  std::abort();
}

const std::string& config_path() {
  static const std::string path = [] {
    auto dir = std::filesystem::temp_directory_path() /
               ("solod-config-fuzz-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    return (dir / "solod.toml").string();
  }();
  return path;
}

void write_file(const std::string& text) {
  std::ofstream out(config_path(), std::ios::binary | std::ios::trunc);
  out << text;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  solod::environment env;
  const std::string marker = "#--env--\n";
  if (auto at = text.find(marker); at != std::string::npos) {
    std::string_view rest = std::string_view(text).substr(at + marker.size());
    while (!rest.empty()) {
      auto line = rest.substr(0, rest.find('\n'));
      rest.remove_prefix(std::min(rest.size(), line.size() + 1));
      auto eq = line.find('=');
      if (eq != std::string_view::npos) {
        env.emplace(std::string(line.substr(0, eq)), std::string(line.substr(eq + 1)));
      }
    }
    text.resize(at);
  }
  write_file(text);
  solod::config cfg;
  try {
    cfg = solod::load_config(config_path(), env);
  } catch (const solod::config_error&) {
    return 0;
  }
  const auto rendered = solod::render_config(cfg);
  write_file(rendered);
  try {
    if (!(solod::load_config(config_path(), {}) == cfg)) {
      fail("the rendered configuration loads to a different one:\n" + rendered);
    }
  } catch (const solod::config_error& e) {
    fail(std::string("the rendered configuration does not load: ") + e.what() + "\n" + rendered);
  }
  return 0;
}
