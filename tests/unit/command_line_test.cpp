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
