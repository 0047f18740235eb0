// Tests for src/auth/jwt_secret.*: env, file, generated once with mode 0600, short keys refused.
#include "auth/jwt_secret.hpp"

#include <catch2/catch.hpp>

#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <random>

namespace {

std::string fresh_dir() {
  auto dir = std::filesystem::temp_directory_path() /
             ("solod-secret-" + std::to_string(std::random_device{}()));
  std::filesystem::create_directories(dir);
  return dir.string();
}

} // namespace

TEST_CASE("a secret is generated once, 0600, and reused", "[jwt_secret]") {
  auto dir = fresh_dir();
  solod::auth_config cfg;
  auto first = solod::load_jwt_secret(cfg, {}, dir);
  CHECK(first.size() >= 32);
  struct stat st {};
  REQUIRE(::stat((dir + "/jwt.secret").c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  CHECK(solod::load_jwt_secret(cfg, {}, dir) == first);
  std::filesystem::remove_all(dir);
}

TEST_CASE("the environment wins, and short secrets are refused", "[jwt_secret]") {
  auto dir = fresh_dir();
  solod::auth_config cfg;
  std::string long_secret(40, 'k');
  CHECK(solod::load_jwt_secret(cfg, {{"SOLOD_JWT_SECRET", long_secret}}, dir) == long_secret);
  CHECK_THROWS_AS(solod::load_jwt_secret(cfg, {{"SOLOD_JWT_SECRET", "short"}}, dir),
                  solod::config_error);
  CHECK_FALSE(std::filesystem::exists(dir + "/jwt.secret"));
  std::filesystem::remove_all(dir);
}

TEST_CASE("a secret file is read, without its trailing newline", "[jwt_secret]") {
  auto dir = fresh_dir();
  solod::auth_config cfg;
  cfg.jwt_secret_file = dir + "/key";
  std::ofstream(cfg.jwt_secret_file) << std::string(33, 's') << "\n";
  CHECK(solod::load_jwt_secret(cfg, {}, dir) == std::string(33, 's'));
  std::ofstream(cfg.jwt_secret_file) << "tooshort\n";
  CHECK_THROWS_AS(solod::load_jwt_secret(cfg, {}, dir), solod::config_error);
  cfg.jwt_secret_file = dir + "/missing";
  CHECK_THROWS_WITH(solod::load_jwt_secret(cfg, {}, dir), Catch::Contains("missing"));
  std::filesystem::remove_all(dir);
}
