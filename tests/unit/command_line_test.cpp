// Tests for src/cli/command_line.*: every SPEC §1 subcommand and usage errors.
#include "cli/command_line.hpp"

#include <catch2/catch.hpp>

using solod::parse_command_line;
using solod::usage_error;

TEST_CASE("no arguments serves", "[cli]") {
  auto cmd = parse_command_line({});
  CHECK(cmd.command == "serve");
  CHECK(cmd.config_file.empty());
  CHECK(parse_command_line({"--config", "x.toml"}).config_file == "x.toml");
}

TEST_CASE("subcommands parse with their options", "[cli]") {
  auto add = parse_command_line({"user", "add", "alice", "--admin", "--full-name", "Alice A",
                                 "--email", "a@x.org", "--password-stdin", "--config", "c.toml"});
  CHECK(add.command == "user_add");
  CHECK(add.name == "alice");
  CHECK(add.admin);
  CHECK(add.full_name == "Alice A");
  CHECK(add.email == "a@x.org");
  CHECK(add.config_file == "c.toml");
  CHECK(parse_command_line({"user", "passwd", "bob", "--password-stdin"}).command == "user_passwd");
  CHECK(parse_command_line({"user", "disable", "bob"}).command == "user_disable");
  CHECK(parse_command_line({"user", "enable", "bob"}).command == "user_enable");
  CHECK(parse_command_line({"migrate"}).command == "migrate");
  auto ex = parse_command_line({"audit", "export", "--from", "2026-01-01", "--to", "2026-02-01",
                                "--user", "bob", "--format", "json"});
  CHECK(ex.command == "audit_export");
  CHECK(ex.from == "2026-01-01");
  CHECK(ex.to == "2026-02-01");
  CHECK(ex.user == "bob");
  CHECK(ex.format == "json");
  CHECK(parse_command_line({"config", "check", "--config", "f"}).command == "config_check");
  CHECK(parse_command_line({"--version"}).command == "version");
  CHECK(parse_command_line({"--help"}).command == "help");
}

TEST_CASE("bad command lines are usage errors", "[cli]") {
  CHECK_THROWS_AS(parse_command_line({"user", "add", "alice"}), usage_error); // no --password-stdin
  CHECK_THROWS_AS(parse_command_line({"user", "frob", "alice"}), usage_error);
  CHECK_THROWS_AS(parse_command_line({"user", "disable"}), usage_error);
  CHECK_THROWS_AS(parse_command_line({"audit", "export", "--format", "xml"}), usage_error);
  CHECK_THROWS_AS(parse_command_line({"--config"}), usage_error);
  CHECK_THROWS_AS(parse_command_line({"bogus"}), usage_error);
  CHECK_THROWS_AS(parse_command_line({"--bogus"}), usage_error);
}

TEST_CASE("user import and user attr parse with their options", "[cli]") {
  auto imp = parse_command_line({"user", "import", "users.csv", "--format", "sqlite",
                                 "--pbkdf2-iterations", "1000", "--salt-encoding", "utf8",
                                 "--dry-run"});
  CHECK(imp.command == "user_import");
  CHECK(imp.file == "users.csv");
  CHECK(imp.format == "sqlite");
  CHECK(imp.format_given);
  CHECK(imp.pbkdf2_iterations == 1000u);
  CHECK(imp.salt_encoding == "utf8");
  CHECK(imp.dry_run);
  auto plain = parse_command_line({"user", "import", "u.csv"});
  CHECK_FALSE(plain.format_given);
  CHECK_FALSE(plain.pbkdf2_iterations);
  CHECK(plain.salt_encoding == "hex");

  auto list = parse_command_line({"user", "attr", "alice"});
  CHECK(list.command == "user_attr");
  CHECK(list.name == "alice");
  CHECK_FALSE(list.attr_key);
  auto set = parse_command_line({"user", "attr", "alice", "level", "-3", "--type", "integer"});
  CHECK(set.attr_key == "level");
  CHECK(set.attr_value == "-3");
  CHECK(set.attr_type == "integer");
  auto del = parse_command_line({"user", "attr", "alice", "level", "--delete"});
  CHECK(del.attr_delete);
}

TEST_CASE("bad user import and user attr command lines are usage errors", "[cli]") {
  for (const std::vector<std::string>& bad : std::vector<std::vector<std::string>>{
         {"user", "import"},
         {"user", "import", "a.csv", "b.csv"},
         {"user", "import", "a.csv", "--format", "json"},
         {"user", "import", "a.csv", "--pbkdf2-iterations", "0"},
         {"user", "import", "a.csv", "--pbkdf2-iterations", "12abc"},
         {"user", "import", "a.csv", "--pbkdf2-iterations", "1000000000"},
         {"user", "import", "a.csv", "--salt-encoding", "base64"},
         {"user", "attr"},
         {"user", "attr", "alice", "bad key"},
         {"user", "attr", "alice", "k", "v", "extra"},
         {"user", "attr", "alice", "k", "v", "--type", "money"},
         {"user", "attr", "alice", "--delete"},
         {"user", "attr", "alice", "k", "v", "--delete"},
         {"user", "attr", "alice", "k", "--type", "integer"},
       }) {
    INFO(bad.size());
    CHECK_THROWS_AS(parse_command_line(bad), usage_error);
  }
  // --format keeps meaning csv|json for the audit export.
  CHECK_THROWS_AS(parse_command_line({"audit", "export", "--format", "sqlite"}), usage_error);
}
