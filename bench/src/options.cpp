#include "options.hpp"

#include <algorithm>
#include <cstdlib>
#include <iostream>
#include <sstream>

namespace bench {

options::options(std::string command, std::vector<option_spec> specs)
  : command_(std::move(command)), specs_(std::move(specs)) {}

const option_spec& options::spec(const std::string& name) const {
  auto it = std::find_if(specs_.begin(), specs_.end(), [&](const auto& s) { return s.name == name; });
  if (it == specs_.end()) {
    throw usage_error(command_ + ": unknown option --" + name);
  }
  return *it;
}

void options::parse(const std::vector<std::string>& args) {
  for (std::size_t i = 0; i < args.size(); ++i) {
    const auto& arg = args[i];
    if (arg.rfind("--", 0) != 0) {
      throw usage_error(command_ + ": unexpected argument '" + arg + "'");
    }
    auto name = arg.substr(2);
    std::string value;
    if (auto eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
      if (spec(name).flag) {
        throw usage_error(command_ + ": --" + name + " takes no value");
      }
    } else if (spec(name).flag) {
      value = "1";
    } else {
      if (i + 1 >= args.size()) {
        throw usage_error(command_ + ": --" + name + " needs a value");
      }
      value = args[++i];
    }
    values_[name] = value;
  }
}

bool options::parse_or_help(const std::vector<std::string>& args) {
  for (const auto& a : args) {
    if (a == "--help" || a == "-h") {
      std::cout << usage();
      return false;
    }
  }
  parse(args);
  return true;
}

bool options::given(const std::string& name) const {
  spec(name);
  return values_.count(name) != 0;
}

bool options::has(const std::string& name) const {
  return given(name) || !spec(name).default_value.empty();
}

std::string options::str(const std::string& name) const {
  const auto& s = spec(name);
  auto it = values_.find(name);
  return it != values_.end() ? it->second : s.default_value;
}

long long options::integer(const std::string& name) const {
  auto text = str(name);
  char* end = nullptr;
  long long v = std::strtoll(text.c_str(), &end, 10);
  if (text.empty() || *end != '\0') {
    throw usage_error(command_ + ": --" + name + " wants an integer, got '" + text + "'");
  }
  return v;
}

double options::number(const std::string& name) const {
  auto text = str(name);
  char* end = nullptr;
  double v = std::strtod(text.c_str(), &end);
  if (text.empty() || *end != '\0') {
    throw usage_error(command_ + ": --" + name + " wants a number, got '" + text + "'");
  }
  return v;
}

bool options::flag(const std::string& name) const {
  return given(name);
}

std::string options::usage() const {
  std::ostringstream out;
  out << "usage: solod-bench " << command_ << " [options]\n";
  std::size_t width = 0;
  for (const auto& s : specs_) {
    width = std::max(width, s.name.size() + (s.flag ? 0 : 4));
  }
  for (const auto& s : specs_) {
    std::string left = "--" + s.name + (s.flag ? "" : " ARG");
    out << "  " << left << std::string(width + 4 - left.size(), ' ') << s.help;
    if (!s.flag && !s.default_value.empty()) {
      out << " (default " << s.default_value << ")";
    }
    out << "\n";
  }
  return out.str();
}

} // namespace bench
