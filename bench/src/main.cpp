// solod-bench: the load tool of solod (issue #4). main() only raises the
// open-file limit and hands the command line to one subcommand.
#include "options.hpp"
#include "scenarios.hpp"
#include "workers.hpp"

#include <csignal>
#include <iostream>
#include <map>

namespace {

const char* const usage_text =
  "usage: solod-bench COMMAND [options]   (COMMAND --help lists its options)\n"
  "\n"
  "  seed      write N users, their live sessions and tokens into a stopped solod's database\n"
  "  logins    password logins/s, and the raw Argon2id rate on the same cores\n"
  "  connect   WebSocket connect + token auth + welcome per second\n"
  "  hold      N idle authenticated connections; server RSS per connection\n"
  "  kick      with N connections live, re-login users: login response -> old connection's close\n"
  "  ping      ping/pong round trips per second across many connections\n"
  "  presence  N users connect while S subscribers watch; N against 2N\n"
  "  handshake the raw OpenSSL handshake rate, solod's TLS context and certificate, no solod\n"
  "  tls-memory  one idle TLS connection's OpenSSL memory, by allocation site\n"
  "  audit     audit actor events/s on SQLite; login latency with durability commit vs async\n"
  "  summary   a run's RESULT lines (bench/results/latest.jsonl) as a markdown table\n"
  "\n"
  "Every scenario prints a table and one line `RESULT {json}`. Only 127.0.0.1 is ever targeted.\n";

} // namespace

int main(int argc, char** argv) {
  using namespace bench;
  // Pipes to workers and sockets to the server may close under us: errors, not signals.
  std::signal(SIGPIPE, SIG_IGN);
  raise_open_file_limit();

  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty() || args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
    std::cout << usage_text;
    return args.empty() ? 2 : 0;
  }
  const std::map<std::string, int (*)(const arguments&)> commands = {
    {"seed", run_seed},       {"logins", run_logins}, {"connect", run_connect},
    {"hold", run_hold},       {"kick", run_kick},     {"ping", run_ping},
    {"presence", run_presence}, {"audit", run_audit}, {"summary", run_summary},
    {"handshake", run_handshake}, {"tls-memory", run_tls_memory},
  };
  auto it = commands.find(args[0]);
  if (it == commands.end()) {
    std::cerr << "solod-bench: unknown command '" << args[0] << "'\n\n" << usage_text;
    return 2;
  }
  try {
    return it->second(arguments(args.begin() + 1, args.end()));
  } catch (const usage_error& e) {
    std::cerr << "solod-bench: " << e.what() << "\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "solod-bench " << args[0] << ": " << e.what() << "\n";
    return 1;
  }
}
