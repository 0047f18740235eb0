#include "cli/command_line.hpp"

#include "auth/legacy_hash.hpp"
#include "storage/user_attribute.hpp"

namespace solod {

std::string usage_text() {
  return R"(solod - one live session per user

Usage:
  solod [--config FILE]                      run the server
  solod user add NAME [--admin] [--full-name S] [--email S] --password-stdin
  solod user passwd NAME --password-stdin    set a new password (read from stdin)
  solod user disable NAME                    disable an account
  solod user enable NAME                     enable an account
  solod user import FILE [--format csv|sqlite] [--pbkdf2-iterations N]
                    [--salt-encoding hex|utf8] [--dry-run]
                                             bring users in with their password hashes
  solod user attr NAME [KEY [VALUE]] [--type T] [--delete]
                                             list, show, set or delete a user's attributes
                                             (T: string, integer, float, boolean, json)
  solod user export NAME                     everything held about a user, as JSON (GDPR art. 15)
  solod user erase NAME                      end the session, delete the profile, pseudonymize
                                             the user's rows (GDPR art. 17)
  solod session export [--from ISO] [--to ISO] [--user NAME] [--ip IP] [--reason R]
                    [--active true|false] [--format csv|json]
                                             write the session history to stdout
  solod migrate                              create or upgrade the schema, then exit
  solod audit export [--from ISO] [--to ISO] [--user NAME] [--format csv|json] [--with-proof]
                                             write the audit log to stdout (with its proof:
                                             chain data and signed checkpoints)
  solod audit verify [--from ISO] [--to ISO] [--pubkey KEY]...
                                             check the audit chain and its checkpoints;
                                             exit 0 intact, 1 broken (names the first row)
  solod audit verify-report FILE [--pubkey KEY]...
                                             check a report with proof, no database needed
  solod audit pubkey                         print the key that checks the checkpoints
  solod config check [--config FILE]         validate and print the effective config
  solod --version                            print the version
  solod --help                               print this help

Every command accepts --config FILE (default: config/solod.toml if present).
Every config key can be overridden by SOLOD_<SECTION>_<KEY>, e.g. SOLOD_SERVER_LISTEN.
)";
}

namespace {

std::uint64_t parse_iterations(const std::string& text) {
  std::uint64_t n = 0;
  bool digits = !text.empty() && text.size() <= 12;
  for (char c : text) {
    digits = digits && c >= '0' && c <= '9';
    if (digits) {
      n = n * 10 + static_cast<std::uint64_t>(c - '0');
    }
  }
  if (!digits || n < 1 || n > hash_bounds::max_pbkdf2_iterations) {
    throw usage_error("--pbkdf2-iterations must be 1-" +
                      std::to_string(hash_bounds::max_pbkdf2_iterations));
  }
  return n;
}

/// `audit export|verify|verify-report|pubkey`.
void parse_audit(const std::vector<std::string>& words, command_line& cmd) {
  const std::string verb = words.size() >= 2 ? words[1] : "";
  if (verb == "export" && words.size() == 2) {
    if (cmd.format != "csv" && cmd.format != "json") {
      throw usage_error("--format must be csv or json");
    }
    cmd.command = "audit_export";
  } else if (verb == "verify" && words.size() == 2) {
    cmd.command = "audit_verify";
  } else if (verb == "verify-report" && words.size() == 3) {
    cmd.command = "audit_verify_report";
    cmd.file = words[2];
  } else if (verb == "pubkey" && words.size() == 2) {
    cmd.command = "audit_pubkey";
  } else {
    throw usage_error("usage: solod audit export [--from ISO] [--to ISO] [--user NAME] [--format csv|json] "
                      "[--with-proof], solod audit verify [--from ISO] [--to ISO] [--pubkey KEY], "
                      "solod audit verify-report FILE [--pubkey KEY], or solod audit pubkey");
  }
  if (cmd.with_proof && cmd.command != "audit_export") {
    throw usage_error("--with-proof belongs to solod audit export");
  }
}

/// `user attr NAME [KEY [VALUE]]`, with --type and --delete.
void parse_attr(const std::vector<std::string>& words, command_line& cmd) {
  if (words.size() < 3 || words.size() > 5) {
    throw usage_error("usage: solod user attr NAME [KEY [VALUE]] [--type T] [--delete]");
  }
  cmd.command = "user_attr";
  cmd.name = words[2];
  if (words.size() > 3) {
    cmd.attr_key = words[3];
    if (!is_valid_attribute_name(*cmd.attr_key)) {
      throw usage_error("an attribute name is 1-64 of A-Z a-z 0-9 _ . -");
    }
  }
  if (words.size() > 4) {
    cmd.attr_value = words[4];
  }
  if (cmd.attr_delete && (!cmd.attr_key || cmd.attr_value)) {
    throw usage_error("usage: solod user attr NAME KEY --delete");
  }
  if (!cmd.attr_type.empty() && !cmd.attr_value) {
    throw usage_error("--type goes with a VALUE to set");
  }
}

} // namespace

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
    } else if (a == "--ip") {
      cmd.ip = value("--ip");
    } else if (a == "--reason") {
      cmd.reason = value("--reason");
    } else if (a == "--active") {
      cmd.active = value("--active");
      if (cmd.active != "true" && cmd.active != "false") {
        throw usage_error("--active must be true or false");
      }
    } else if (a == "--format") {
      cmd.format = value("--format");
      cmd.format_given = true;
    } else if (a == "--pbkdf2-iterations") {
      cmd.pbkdf2_iterations = parse_iterations(value("--pbkdf2-iterations"));
    } else if (a == "--salt-encoding") {
      cmd.salt_encoding = value("--salt-encoding");
      if (cmd.salt_encoding != "hex" && cmd.salt_encoding != "utf8") {
        throw usage_error("--salt-encoding must be hex or utf8");
      }
    } else if (a == "--dry-run") {
      cmd.dry_run = true;
    } else if (a == "--type") {
      cmd.attr_type = value("--type");
      if (!is_attribute_type(cmd.attr_type)) {
        throw usage_error("--type must be string, integer, float, boolean or json");
      }
    } else if (a == "--delete") {
      cmd.attr_delete = true;
    } else if (a == "--with-proof") {
      cmd.with_proof = true;
    } else if (a == "--pubkey") {
      cmd.pubkeys.push_back(value("--pubkey"));
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
      throw usage_error("usage: solod user add|passwd|disable|enable|attr|export|erase NAME, or solod user import FILE");
    }
    const auto& verb = words[1];
    if (verb == "import") {
      expect(3, "user import FILE [--format csv|sqlite] [--pbkdf2-iterations N] "
                "[--salt-encoding hex|utf8] [--dry-run]");
      if (cmd.format_given && cmd.format != "csv" && cmd.format != "sqlite") {
        throw usage_error("--format must be csv or sqlite");
      }
      cmd.command = "user_import";
      cmd.file = words[2];
      return cmd;
    }
    if (verb == "attr") {
      parse_attr(words, cmd);
      return cmd;
    }
    if (verb != "add" && verb != "passwd" && verb != "disable" && verb != "enable" &&
        verb != "export" && verb != "erase") {
      throw usage_error("unknown user subcommand '" + verb + "'");
    }
    expect(3, ("user " + verb + " NAME").c_str());
    cmd.command = "user_" + verb;
    cmd.name = words[2];
    if ((verb == "add" || verb == "passwd") && !cmd.password_stdin) {
      throw usage_error("solod user " + verb + " needs --password-stdin (passwords are never taken as arguments)");
    }
  } else if (words[0] == "session") {
    if (words.size() != 2 || words[1] != "export") {
      throw usage_error("usage: solod session export [--from ISO] [--to ISO] [--user NAME] [--ip IP] "
                        "[--reason R] [--active true|false] [--format csv|json]");
    }
    if (cmd.format != "csv" && cmd.format != "json") {
      throw usage_error("--format must be csv or json");
    }
    cmd.command = "session_export";
  } else if (words[0] == "migrate") {
    expect(1, "migrate");
    cmd.command = "migrate";
  } else if (words[0] == "audit") {
    parse_audit(words, cmd);
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
