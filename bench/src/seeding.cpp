// `solod-bench seed`: many authenticated sessions without many Argon2id logins.
//
// A login costs one Argon2id verify (~40 ms of CPU at solod's parameters), so
// 19,000 sessions by logging in would take minutes of the server's time.
// Instead, while solod is stopped, this writes N users (all sharing ONE hash
// of the bench password, computed once at the server's parameters) and one
// live session each straight into its SQLite database, and signs each
// session's token with the secret solod will be started with
// (SOLOD_JWT_SECRET). solod restores live sessions at start (a product
// feature: sessions survive restarts), so the tokens work at once.
//
// It uses solod's own code for everything that must match the server
// byte for byte: migrations, Argon2id parameters, JWT signing, timestamps.

#include "clock.hpp"
#include "options.hpp"
#include "report.hpp"
#include "scenarios.hpp"
#include "users.hpp"

#include "auth/jwt.hpp"
#include "auth/password_hasher.hpp"
#include "storage/database.hpp"
#include "storage/migrations.hpp"
#include "util/random.hpp"
#include "util/time_format.hpp"

#include <soci/soci.h>

#include <cstdlib>
#include <iostream>

namespace bench {

int run_seed(const arguments& args) {
  const char* env_password = std::getenv("BENCH_PASSWORD");
  options opts("seed", {
    {"db", "", "SQLite file of a STOPPED solod (created and migrated if missing) (this or --db-url)"},
    {"db-url", "", "or a database.url: sqlite3://PATH, or postgresql://... (a cluster's database; "
                   "its nodes must be stopped or started afterwards)"},
    {"users", "1000", "users to create, each with one live session"},
    {"tokens-out", "", "token file to write: ID USERNAME TOKEN per line (required)"},
    {"secret", "", "HS256 secret solod will run with (>= 32 bytes; default env SOLOD_JWT_SECRET)"},
    {"password", env_password ? env_password : "bench-password-1", "password of every user (env BENCH_PASSWORD)"},
    {"user-prefix", "bench-", "user names: PREFIX000001..."},
    {"ttl-hours", "24", "token and session lifetime, hours"},
  });
  if (!opts.parse_or_help(args)) {
    return 0;
  }
  if ((!opts.given("db") && !opts.given("db-url")) || !opts.given("tokens-out")) {
    throw usage_error("seed: --db (or --db-url) and --tokens-out are required");
  }
  std::string secret = opts.str("secret");
  if (secret.empty() && std::getenv("SOLOD_JWT_SECRET")) {
    secret = std::getenv("SOLOD_JWT_SECRET");
  }
  if (secret.size() < solod::min_secret_bytes) {
    throw usage_error("seed: --secret (or SOLOD_JWT_SECRET) must be at least 32 bytes");
  }
  const auto n = static_cast<std::size_t>(std::max(0LL, opts.integer("users")));
  const auto prefix = opts.str("user-prefix");
  const auto ttl = std::chrono::hours(std::max(1LL, opts.integer("ttl-hours")));
  const auto started = now_ns();

  const auto url = opts.given("db-url") ? solod::database_url::parse(opts.str("db-url"))
                                        : solod::database_url{solod::sql_dialect::sqlite, opts.str("db")};
  auto sql = solod::open_database(url);
  solod::migrate(*sql, url.dialect);

  // One hash for everyone, at the server's parameters (solod's own hasher).
  const auto hash = solod::password_hasher{}.hash(opts.str("password"));
  const solod::token_codec codec(secret);
  const auto now = std::chrono::time_point_cast<std::chrono::milliseconds>(std::chrono::system_clock::now());
  const auto now_text = solod::format_iso8601(now);
  const auto expires_text = solod::format_iso8601(now + ttl);

  std::vector<bench_user> users(n);
  {
    soci::transaction tx(*sql);
    std::string name;
    std::string session_id;
    long long user_id = 0;
    const std::string ip = "127.0.0.1";
    const std::string agent = "solod-bench seed";
    // PostgreSQL: the id comes back with RETURNING (SOCI has no last insert id there).
    const bool pg = url.dialect == solod::sql_dialect::postgresql;
    soci::statement insert_user =
      pg ? (sql->prepare << "INSERT INTO users (username, password_hash, created_at) VALUES (:u, :p, :c) "
                            "RETURNING id",
            soci::use(name), soci::use(hash), soci::use(now_text), soci::into(user_id))
         : (sql->prepare << "INSERT INTO users (username, password_hash, created_at) VALUES (:u, :p, :c)",
            soci::use(name), soci::use(hash), soci::use(now_text));
    soci::statement insert_session =
      (sql->prepare << "INSERT INTO sessions (id, user_id, login_ts, ip_address, user_agent, last_seen, "
                       "expires_at) VALUES (:id, :u, :t, :ip, :ua, :ls, :ex)",
       soci::use(session_id), soci::use(user_id), soci::use(now_text), soci::use(ip), soci::use(agent),
       soci::use(now_text), soci::use(expires_text));
    for (std::size_t i = 0; i < n; ++i) {
      name = user_name(prefix, i + 1);
      try {
        insert_user.execute(true);
      } catch (const soci::soci_error& e) {
        throw std::runtime_error("cannot add user '" + name + "' (seed a fresh database): " + e.what());
      }
      if (!pg) {
        sql->get_last_insert_id("users", user_id);
      }
      session_id = solod::random_hex(16);
      insert_session.execute(true);

      solod::token_claims claims;
      claims.sub = std::to_string(user_id);
      claims.name = name;
      claims.sid = session_id;
      claims.jti = solod::random_hex(16);
      claims.iat = solod::to_unix_seconds(now);
      claims.exp = solod::to_unix_seconds(now + ttl);
      users[i] = {user_id, name, codec.sign(claims)};
    }
    tx.commit();
  }
  write_token_file(opts.str("tokens-out"), users);

  // Not a scenario: no RESULT line, just what was done.
  std::cout << "seeded " << n << " users with live sessions into " << (opts.given("db-url") ? "the database" : opts.str("db")) << " in "
            << fmt(seconds_of(now_ns() - started), 2) << " s; tokens in " << opts.str("tokens-out") << "\n";
  return 0;
}

} // namespace bench
