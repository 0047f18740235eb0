#include "cli/command_line.hpp"

namespace solod {

std::string usage_text() {
  return R"(solod - one live session per user

Usage:
  solod [--config FILE]                      run the server
  solod user add NAME [--admin] [--full-name S] [--email S] --password-stdin
  solod user passwd NAME --password-stdin    set a new password (read from stdin)
  solod user disable NAME                    disable an account
  solod user enable NAME                     enable an account
  solod migrate                              create or upgrade the schema, then exit
  solod audit export [--from ISO] [--to ISO] [--user NAME] [--format csv|json]
                                             write the audit log to stdout
  solod config check [--config FILE]         validate and print the effective config
  solod --version                            print the version
  solod --help                               print this help

Every command accepts --config FILE (default: config/solod.toml if present).
Every config key can be overridden by SOLOD_<SECTION>_<KEY>, e.g. SOLOD_SERVER_LISTEN.
)";
}

command_line parse_command_line(const std::vector<std::string>& args) {
  command_line cmd;
  std::vector<std::string> words;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const auto& a = args[i];
    auto value = [&](const char* flag) -> std::string {
      if (i + 1 >= args.size()) {
        throw usage_error(std::string(flag) + " needs a value");
      }
      return args[++i];
    };
    if (a == "--config") {
      cmd.config_file = value("--config");
    } else if (a.rfind("--config=", 0) == 0) {
      cmd.config_file = a.substr(9);
    } else if (a == "--help" || a == "-h") {
      cmd.command = "help";
      return cmd;
    } else if (a == "--version" || a == "-V") {
      cmd.command = "version";
      return cmd;
    } else if (a == "--admin") {
      cmd.admin = true;
    } else if (a == "--full-name") {
      cmd.full_name = value("--full-name");
    } else if (a == "--email") {
      cmd.email = value("--email");
    } else if (a == "--password-stdin") {
      cmd.password_stdin = true;
    } else if (a == "--from") {
      cmd.from = value("--from");
    } else if (a == "--to") {
      cmd.to = value("--to");
    } else if (a == "--user") {
      cmd.user = value("--user");
    } else if (a == "--format") {
      cmd.format = value("--format");
      if (cmd.format != "csv" && cmd.format != "json") {
        throw usage_error("--format must be csv or json");
      }
    } else if (a.rfind("--", 0) == 0) {
      throw usage_error("unknown option " + a);
    } else {
      words.push_back(a);
    }
  }

  auto expect = [&](std::size_t n, const char* what) {
    if (words.size() != n) {
      throw usage_error(std::string("usage: solod ") + what);
    }
  };
  if (words.empty()) {
    cmd.command = "serve";
  } else if (words[0] == "user") {
    if (words.size() < 2) {
      throw usage_error("usage: solod user add|passwd|disable|enable NAME");
    }
    const auto& verb = words[1];
    if (verb != "add" && verb != "passwd" && verb != "disable" && verb != "enable") {
      throw usage_error("unknown user subcommand '" + verb + "'");
    }
    expect(3, ("user " + verb + " NAME").c_str());
    cmd.command = "user_" + verb;
    cmd.name = words[2];
    if ((verb == "add" || verb == "passwd") && !cmd.password_stdin) {
      throw usage_error("solod user " + verb + " needs --password-stdin (passwords are never taken as arguments)");
    }
  } else if (words[0] == "migrate") {
    expect(1, "migrate");
    cmd.command = "migrate";
  } else if (words[0] == "audit") {
    if (words.size() != 2 || words[1] != "export") {
      throw usage_error("usage: solod audit export [--from ISO] [--to ISO] [--user NAME] [--format csv|json]");
    }
    cmd.command = "audit_export";
  } else if (words[0] == "config") {
    if (words.size() != 2 || words[1] != "check") {
      throw usage_error("usage: solod config check [--config FILE]");
    }
    cmd.command = "config_check";
  } else {
    throw usage_error("unknown command '" + words[0] + "'");
  }
  return cmd;
}

} // namespace solod
