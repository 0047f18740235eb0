#include "auth/jwt_secret.hpp"

#include "auth/jwt.hpp"
#include "util/random.hpp"
#include "util/secret_file.hpp"

namespace solod {

namespace {

std::string read_file(const std::string& path, const std::string& what) {
  auto secret = read_secret_file(path);
  if (!secret) {
    throw config_error(what + ": cannot read '" + path + "'");
  }
  return *secret;
}

void check_length(const std::string& secret, const std::string& source) {
  if (secret.size() < min_secret_bytes) {
    throw config_error(source + ": the JWT secret is " + std::to_string(secret.size()) +
                       " bytes; at least " + std::to_string(min_secret_bytes) + " are required");
  }
}

} // namespace

std::string load_jwt_secret(const auth_config& cfg, const environment& env,
                            const std::string& data_dir) {
  if (auto it = env.find("SOLOD_JWT_SECRET"); it != env.end()) {
    check_length(it->second, "SOLOD_JWT_SECRET");
    return it->second;
  }
  if (!cfg.jwt_secret_file.empty()) {
    auto secret = read_file(cfg.jwt_secret_file, "auth.jwt_secret_file");
    check_length(secret, "auth.jwt_secret_file '" + cfg.jwt_secret_file + "'");
    return secret;
  }
  auto path = data_dir + "/jwt.secret";
  if (!create_secret_file(path, random_hex(32))) {
    throw config_error("cannot create '" + path + "'");
  }
  auto secret = read_file(path, "jwt secret");
  check_length(secret, "'" + path + "'");
  return secret;
}

} // namespace solod
