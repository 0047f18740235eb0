// solod: one live session per user. main() only reads the command line and
// the config, then hands over to the server or to one offline subcommand.
#include "app/server.hpp"
#include "auth/jwt_secret.hpp"
#include "cli/admin_commands.hpp"
#include "cli/command_line.hpp"
#include "config/config.hpp"
#include "storage/database.hpp"
#include "util/logging.hpp"

#include <iostream>

int main(int argc, char** argv) {
  using namespace solod;
  command_line cmd;
  try {
    cmd = parse_command_line(std::vector<std::string>(argv + 1, argv + argc));
  } catch (const usage_error& e) {
    std::cerr << "solod: " << e.what() << "\n\n" << usage_text();
    return 2;
  }
  if (cmd.command == "help") {
    std::cout << usage_text();
    return 0;
  }
  if (cmd.command == "version") {
    std::cout << "solod " << SOLOD_VERSION << "\n";
    return 0;
  }

  auto env = process_environment();
  config cfg;
  try {
    cfg = load_config(cmd.config_file, env);
  } catch (const config_error& e) {
    std::cerr << "solod: " << e.what() << "\n";
    return 2;
  }

  if (cmd.command == "config_check") {
    // A secret given by env or file is part of the config: check its length
    // too (without generating one, which is start-up's business).
    if (env.count("SOLOD_JWT_SECRET") != 0 || !cfg.auth.jwt_secret_file.empty()) {
      try {
        load_jwt_secret(cfg.auth, env, cfg.data_dir);
      } catch (const config_error& e) {
        std::cerr << "solod: " << e.what() << "\n";
        return 2;
      }
    }
    // The database URL as libpq will get it, and the password file: read
    // now, so a typo is found before start-up (no connection is made).
    try {
      database_url::from_config(cfg.database, env);
    } catch (const database_error& e) {
      std::cerr << "solod: " << e.what() << "\n";
      return 2;
    }
    std::cout << render_config(cfg);
    return 0;
  }
  if (cmd.command == "serve") {
    return run_server(cfg, env);
  }
  setup_cli_logging();
  return run_admin_command(cfg, env, cmd, std::cin, std::cout, std::cerr);
}
