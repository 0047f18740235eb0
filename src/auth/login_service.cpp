#include "auth/login_service.hpp"

#include "actors/messages.hpp"
#include "auth/account_lockout.hpp"
#include "auth/credentials.hpp"
#include "auth/hashing_pool.hpp"
#include "auth/ip_rate_limiter.hpp"
#include "auth/password_hasher.hpp"
#include "config/config.hpp"
#include "storage/db_pool.hpp"
#include "storage/user_repository.hpp"
#include "util/metrics.hpp"

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

namespace solod {

namespace {

login_result unavailable() {
  return login_result{login_result::status::unavailable, 0, {}, {}};
}

} // namespace

void login_service::audit(audit_event ev) {
  caf::anon_send(deps_.audit, audit_atom::value, std::move(ev));
}

void login_service::audit_then(audit_event ev, std::function<void()> then) {
  if (deps_.cfg->audit.durability != audit_durability::commit) {
    audit(std::move(ev));
    if (then) {
      then();
    }
    return;
  }
  end_reply committed = [then](bool) {
    if (then) {
      then();
    }
  };
  caf::anon_send(deps_.audit, audit_atom::value, std::move(ev), std::move(committed));
}

void login_service::audit_failure(const std::string& username,
                                  std::optional<std::int64_t> user_id, const std::string& reason,
                                  const client_info& client, std::function<void()> then) {
  audit_then(audit_event{.timestamp = deps_.clk->now(),
                    .event_type = "login_failure",
                    .user_id = user_id,
                    .username = username,
                    .ip_address = client.ip,
                    .user_agent = client.user_agent,
                    .status = "failure",
                    .error_message = reason},
             std::move(then));
}

void login_service::finish_failure(const std::string& username,
                                   std::optional<std::int64_t> user_id, const std::string& reason,
                                   const client_info& client,
                                   std::function<void(login_result)>& done) {
  deps_.stats->count_login(metrics::login_result::invalid_credentials);
  audit_failure(username, user_id, reason, client,
                [done] { done(login_result{login_result::status::invalid_credentials, 0, {}, {}}); });
}

void login_service::login(const std::string& username, const std::string& password,
                          const client_info& client, std::function<void(login_result)> done) {
  if (auto wait = deps_.ip_limiter->try_acquire(client.ip)) {
    deps_.stats->count_login(metrics::login_result::rate_limited);
    audit_then(audit_event{.timestamp = deps_.clk->now(),
                           .event_type = "login_failure",
                           .username = username,
                           .ip_address = client.ip,
                           .user_agent = client.user_agent,
                           .status = "failure",
                           .error_message = "rate_limited"},
               [done, wait = *wait] { done(login_result{login_result::status::rate_limited, wait, {}, {}}); });
    return;
  }
  auto fail = std::make_shared<std::function<void(login_result)>>(done);
  bool queued = deps_.db->try_submit(
    [this, username, password, client, done](soci::session& sql) {
      auto user = user_repository(sql).find_by_username(username);
      // Read with the user, so a locked account (the usual state under
      // attack) costs no further database work after its hash.
      const bool locked = user && deps_.lockout->is_locked(sql, user->id);
      verify(std::move(user), locked, username, password, client, done);
    },
    [this, fail](const std::string& what) {
      spdlog::error("login: user lookup failed: {}", what);
      deps_.stats->count_login(metrics::login_result::unavailable);
      (*fail)(unavailable());
    });
  if (!queued) {
    deps_.stats->count_login(metrics::login_result::unavailable);
    done(unavailable());
  }
}

void login_service::verify(std::optional<user_record> user, bool locked, std::string username,
                           std::string password, client_info client,
                           std::function<void(login_result)> done) {
  auto job = [this, user = std::move(user), locked, username = std::move(username),
              password = std::move(password), client = std::move(client), done]() mutable {
    if (client.gone && client.gone->load()) {
      // Nobody waits for the answer: the hash would only cost a core.
      deps_.stats->count_login(metrics::login_result::abandoned);
      done(unavailable());
      return;
    }
    if (!user) {
      deps_.hasher->verify_dummy(password);
      finish_failure(username, std::nullopt, "unknown_user", client, done);
      return;
    }
    // Imported hashes too (werkzeug, Django, bcrypt, ...): their check, and
    // the Argon2id that replaces them, cost this pool's thread, never a
    // network or actor thread.
    auto checked = deps_.hasher->check(user->password_hash, password);
    if (!checked.refused.empty()) {
      spdlog::warn("login: the stored password hash of {} is refused: {}", user->username,
                   checked.refused);
    }
    const bool password_ok = checked.match;
    if (!user->is_active) {
      finish_failure(user->username, user->id, "disabled", client, done);
      return;
    }
    if (locked) {
      finish_failure(user->username, user->id, "locked", client, done);
      return;
    }
    settle(std::move(*user), password_ok, std::move(checked.upgraded), std::move(client),
           std::move(done));
  };
  if (!deps_.hashing->try_submit(std::move(job))) {
    deps_.stats->count_login(metrics::login_result::unavailable);
    done(unavailable());
  }
}

void login_service::settle(user_record user, bool password_ok,
                           std::optional<std::string> upgraded, client_info client,
                           std::function<void(login_result)> done) {
  // The lock is decided again here, in the database: another node may have
  // locked the account while this one hashed.
  auto fail = done;
  bool queued = deps_.db->try_submit(
    [this, user, password_ok, upgraded, client, done](soci::session& sql) mutable {
      if (password_ok) {
        if (!deps_.lockout->record_success(sql, user.id)) {
          finish_failure(user.username, user.id, "locked", client, done);
          return;
        }
        if (upgraded) {
          replace_legacy_hash(sql, user, *upgraded);
        }
        start_session(user, client, std::move(done));
        return;
      }
      const auto outcome = deps_.lockout->record_failure(sql, user.id);
      if (outcome == failure_outcome::while_locked) {
        finish_failure(user.username, user.id, "locked", client, done);
        return;
      }
      finish_failure(user.username, user.id, "bad_password", client, done);
      if (outcome == failure_outcome::locks_now) {
        audit(audit_event{.timestamp = deps_.clk->now(),
                          .event_type = "account_locked",
                          .user_id = user.id,
                          .username = user.username,
                          .ip_address = client.ip,
                          .user_agent = client.user_agent,
                          .status = "success",
                          .error_message = "too many failed logins"});
      }
    },
    [this, user, password_ok, client, fail](const std::string& what) {
      // Fail closed: a failure the lockout cannot count gets no 401 either,
      // or 401 against 503 would tell a wrong password from the right one
      // while the database is away. The guess is still audited.
      spdlog::error("login: lockout update failed: {}", what);
      if (!password_ok) {
        audit_failure(user.username, user.id, "bad_password", client);
      }
      deps_.stats->count_login(metrics::login_result::unavailable);
      fail(unavailable());
    });
  if (!queued) {
    deps_.stats->count_login(metrics::login_result::unavailable);
    done(unavailable());
  }
}

void login_service::replace_legacy_hash(soci::session& sql, const user_record& user,
                                        const std::string& upgraded) {
  try {
    // Only if the hash is still the one verified: an admin's new password
    // set meanwhile wins.
    if (user_repository(sql).replace_password_hash(user.id, user.password_hash, upgraded)) {
      spdlog::info("login: the password hash of {} is now Argon2id", user.username);
    }
  } catch (const std::exception& e) {
    // The login goes on: the old hash still verifies, and the next login tries again.
    spdlog::warn("login: could not replace the password hash of {}: {}", user.username, e.what());
  }
}

void login_service::start_session(const user_record& user, const client_info& client,
                                  std::function<void(login_result)> done) {
  login_request req{user.id, user.username, client.ip, client.user_agent};
  auto stats = deps_.stats;
  login_reply reply = [this, stats, user, client, done](const login_outcome& outcome) mutable {
    switch (outcome.result) {
      case login_outcome::status::ok: {
        stats->count_login(metrics::login_result::success);
        auto u = user;
        u.last_login = outcome.session.login_ts;
        done(login_result{login_result::status::ok, 0, u, outcome.session});
        return;
      }
      case login_outcome::status::account_closed:
        // Disabled or erased while its password was hashed: as any disabled account.
        finish_failure(user.username, user.id, "disabled", client, done);
        return;
      case login_outcome::status::session_active:
        stats->count_login(metrics::login_result::session_active);
        done(login_result{login_result::status::session_active, 0, {}, {}});
        return;
      case login_outcome::status::unavailable:
        stats->count_login(metrics::login_result::unavailable);
        done(unavailable());
        return;
    }
  };
  caf::anon_send(deps_.directory, login_atom::value, std::move(req), std::move(reply));
}

void login_service::register_user(user_record user, const std::string& password,
                                  const client_info& client,
                                  std::function<void(register_result)> done) {
  if (!deps_.cfg->auth.allow_registration) {
    done(register_result{register_result::status::disabled, "registration is disabled", {}});
    return;
  }
  if (!is_valid_username(user.username)) {
    done(register_result{register_result::status::invalid_input,
                         "username must be 3-32 of A-Z a-z 0-9 _ . -", {}});
    return;
  }
  if (!is_valid_password(password)) {
    done(register_result{register_result::status::invalid_input,
                         "password must be 8-1024 bytes", {}});
    return;
  }
  if (auto wait = deps_.register_limiter->try_acquire(client.ip)) {
    register_result limited{register_result::status::rate_limited,
                            "too many registrations; try again later", {}};
    limited.retry_after_seconds = *wait;
    done(std::move(limited));
    return;
  }
  auto job = [this, user = std::move(user), password, client, done]() mutable {
    if (client.gone && client.gone->load()) {
      // Nobody waits to hear whether the account exists: do not create it.
      done(register_result{register_result::status::unavailable, "client gone", {}});
      return;
    }
    user.password_hash = deps_.hasher->hash(password);
    user.created_at = deps_.clk->now();
    auto fail = done;
    bool queued = deps_.db->try_submit(
      [this, user, client, done](soci::session& sql) {
        auto created = user_repository(sql).insert(user);
        if (!created) {
          done(register_result{register_result::status::username_taken,
                               "username is already taken", {}});
          return;
        }
        audit(audit_event{.timestamp = created->created_at,
                          .event_type = "register",
                          .user_id = created->id,
                          .username = created->username,
                          .ip_address = client.ip,
                          .user_agent = client.user_agent,
                          .status = "success"});
        done(register_result{register_result::status::created, "", *created});
      },
      [fail](const std::string& what) {
        spdlog::error("register: {}", what);
        fail(register_result{register_result::status::unavailable, "database unavailable", {}});
      });
    if (!queued) {
      done(register_result{register_result::status::unavailable, "server busy", {}});
    }
  };
  if (!deps_.hashing->try_submit(std::move(job))) {
    done(register_result{register_result::status::unavailable, "server busy", {}});
  }
}

} // namespace solod
