#include "auth/authenticator.hpp"

#include "storage/db_pool.hpp"
#include "storage/session_repository.hpp"

#include <charconv>

namespace solod {

std::optional<principal> authenticator::authenticate(std::string_view token) const {
  auto now = clock_.now();
  auto verified = codec_.verify(token, now);
  auto* claims = std::get_if<token_claims>(&verified);
  if (!claims) {
    return std::nullopt;
  }
  std::int64_t user_id = 0;
  auto [end, ec] = std::from_chars(claims->sub.data(), claims->sub.data() + claims->sub.size(), user_id);
  if (ec != std::errc{} || end != claims->sub.data() + claims->sub.size()) {
    return std::nullopt;
  }
  if (!registry_.trusted()) {
    return std::nullopt; // fail closed: callers check available() and answer 503
  }
  auto live = registry_.find(user_id);
  if (!live || live->id != claims->sid || now >= live->expires_at) {
    return std::nullopt;
  }
  live->last_seen_ms->store(to_unix_ms(now));
  return principal{std::move(*claims), std::move(*live)};
}

std::optional<token_claims> authenticator::newer_than_memory(std::string_view token) const {
  auto now = clock_.now();
  auto verified = codec_.verify(token, now);
  auto* claims = std::get_if<token_claims>(&verified);
  if (!claims || !registry_.trusted()) {
    return std::nullopt;
  }
  std::int64_t user_id = 0;
  auto [end, ec] = std::from_chars(claims->sub.data(), claims->sub.data() + claims->sub.size(), user_id);
  if (ec != std::errc{} || end != claims->sub.data() + claims->sub.size()) {
    return std::nullopt;
  }
  if (registry_.is_dead(claims->sid)) {
    return std::nullopt; // memory dropped it: ended, superseded, or its actor failed
  }
  auto live = registry_.find(user_id);
  // A token of a session older than the one memory holds is dead for sure
  // (superseded): only newer ones are worth a database read. Seconds: iat's unit.
  if (live && (live->id == claims->sid || to_unix_seconds(live->created_at) > claims->iat)) {
    return std::nullopt;
  }
  return *claims;
}

void authenticator::resolve(std::string_view token, db_pool& db,
                            std::function<void(outcome)> done) const {
  if (auto who = authenticate(token)) {
    done(outcome{std::move(who), false});
    return;
  }
  if (!available()) {
    done(outcome{std::nullopt, true});
    return;
  }
  auto claims = newer_than_memory(token);
  if (!claims) {
    done(outcome{std::nullopt, false});
    return;
  }
  auto fail = done;
  auto adopt_fn = adopt;
  const clock* clk = &clock_;
  bool queued = db.try_submit(
    [claims = *claims, done, adopt_fn, clk](soci::session& sql) {
      auto row = session_repository(sql).find(claims.sid);
      auto now = clk->now();
      if (!row || row->logout_ts || std::to_string(row->user_id) != claims.sub ||
          now >= row->expires_at) {
        done(outcome{std::nullopt, false});
        return;
      }
      if (adopt_fn) {
        adopt_fn(*row);
      }
      done(outcome{principal{claims, make_live_session(*row, now)}, false});
    },
    [fail](const std::string&) { fail(outcome{std::nullopt, true}); });
  if (!queued) {
    done(outcome{std::nullopt, true});
  }
}

} // namespace solod
