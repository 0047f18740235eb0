#pragma once
/// @brief The command line of one subcommand: `--name value` options and `--flag`s, each declared with its default.

#include <map>
#include <stdexcept>
#include <string>
#include <vector>

namespace bench {

/// A bad command line; main prints it with the usage and exits 2.
class usage_error : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

/// One declared option.
struct option_spec {
  std::string name;          ///< without the leading "--"
  std::string default_value; ///< "" = none; ignored for flags
  std::string help;
  bool flag = false;         ///< takes no value
};

/// The parsed options of one subcommand; unknown names are refused.
class options {
public:
  options(std::string command, std::vector<option_spec> specs);

  /// Parses `args` (everything after the subcommand); throws usage_error.
  void parse(const std::vector<std::string>& args);

  /// Like parse, but `--help` prints the usage and returns false.
  bool parse_or_help(const std::vector<std::string>& args);

  /// True when given on the command line, or it has a non-empty default.
  bool has(const std::string& name) const;
  /// True when given (flags and options alike).
  bool given(const std::string& name) const;

  std::string str(const std::string& name) const;
  long long integer(const std::string& name) const;
  double number(const std::string& name) const;
  bool flag(const std::string& name) const;

  /// "usage: solod-bench COMMAND [options]" and one line per option.
  std::string usage() const;

private:
  const option_spec& spec(const std::string& name) const;

  std::string command_;
  std::vector<option_spec> specs_;
  std::map<std::string, std::string> values_;
};

} // namespace bench
