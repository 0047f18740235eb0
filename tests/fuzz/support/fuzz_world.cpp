#include "support/fuzz_world.hpp"

#include "actors/audit_actor.hpp"
#include "actors/messages.hpp"
#include "actors/presence_actor.hpp"
#include "actors/session_directory.hpp"
#include "storage/user_repository.hpp"

#include <spdlog/spdlog.h>

#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <future>
#include <thread>

namespace fuzz {

namespace {

[[noreturn]] void die(const std::string& why) {
  std::fprintf(stderr, "fuzz_world: %s\n", why.c_str());
  std::fflush(stderr);
  std::abort();
}

/// Collects a streamed body; counts the sink's end so route() can wait for it.
class collecting_sink final : public solod::chunk_sink {
public:
  void write(std::string data, std::function<void(bool)> written) override {
    {
      std::lock_guard lock(mu_);
      if (ended_) {
        die("chunk written after the stream ended");
      }
      body_ += data;
    }
    // As the session does: the callback runs later, on another thread.
    std::thread([w = std::move(written)] { w(true); }).detach();
  }
  void finish() override { end(true); }
  void abort() override { end(false); }

  /// Waits for finish() or abort(); false on timeout.
  bool wait(std::chrono::seconds limit, std::string& body, bool& finished) {
    std::unique_lock lock(mu_);
    if (!cv_.wait_for(lock, limit, [this] { return ended_; })) {
      return false;
    }
    body = body_;
    finished = finished_;
    return true;
  }

private:
  void end(bool finished) {
    std::lock_guard lock(mu_);
    if (ended_) {
      die("stream ended twice");
    }
    ended_ = true;
    finished_ = finished;
    cv_.notify_all();
  }

  std::mutex mu_;
  std::condition_variable cv_;
  std::string body_;
  bool ended_ = false;
  bool finished_ = false;
};

} // namespace

fuzz_world& fuzz_world::instance() {
  static fuzz_world* world = [] {
    auto* w = new fuzz_world();
    // libFuzzer ends with exit(): remove the database then, the rest may leak.
    static std::string dir = w->db_.dir.path();
    std::atexit([] {
      std::error_code ignored;
      std::filesystem::remove_all(dir, ignored);
    });
    return w;
  }();
  return *world;
}

fuzz_world::fuzz_world() {
  spdlog::set_level(spdlog::level::off); // millions of requests: logging would be all the time
  cfg.database.url = "sqlite3://" + db_.url.target;
  cfg.server.static_dir = std::string(SOLOD_SOURCE_DIR) + "/web";
  // The fuzzer's requests come from 127.0.0.1, a trusted proxy, so
  // X-Forwarded-For decides the client address (and the rate limits' keys).
  cfg.server.trusted_proxies = {"127.0.0.0/8", "::1/128"};

  tokens_ = std::make_unique<solod::token_codec>("fuzz-world-secret-0123456789abcdef0123456789");
  // libsodium's minimum Argon2id cost: a login costs microseconds, not 20 ms.
  solod::argon2_params cheap;
  cheap.ops_limit = 1;
  cheap.mem_limit = 8192;
  hasher_ = std::make_unique<solod::password_hasher>(cheap);
  hashing_ = std::make_unique<solod::hashing_pool>(1, 64);
  pool_ = std::make_unique<solod::db_pool>(db_.url, 2, 1000);
  ip_limiter_ = std::make_unique<solod::ip_rate_limiter>(clk, cfg.limits.login_per_ip_per_minute);
  register_limiter_ =
      std::make_unique<solod::ip_rate_limiter>(clk, cfg.limits.register_per_ip_per_minute);
  lockout_ = std::make_unique<solod::account_lockout>(clk, cfg.limits.lockout_threshold,
                                                      cfg.limits.lockout_window,
                                                      cfg.limits.lockout_duration);

  caf_cfg_.set("scheduler.max-threads", 2);
  caf_cfg_.set("logger.verbosity", caf::atom("quiet"));
  sys = std::make_unique<caf::actor_system>(caf_cfg_);
  sys->await_actors_before_shutdown(false);

  solod::audit_actor_options audit_opts;
  audit_opts.url = db_.url;
  audit_opts.stats = &stats;
  audit_ = solod::spawn_audit_actor(*sys, audit_opts);

  uctx_.cfg = &cfg;
  uctx_.clk = &clk;
  uctx_.registry = &registry;
  uctx_.db = pool_.get();
  uctx_.audit = audit_;
  uctx_.stats = &stats;
  directory_ = solod::spawn_session_directory(*sys, &uctx_);
  solod::supervise_presence(*sys, &stats, presence_, false, solod::presence_links{{}, &online_});

  solod::login_service_deps ld;
  ld.cfg = &cfg;
  ld.clk = &clk;
  ld.ip_limiter = ip_limiter_.get();
  ld.lockout = lockout_.get();
  ld.register_limiter = register_limiter_.get();
  ld.hasher = hasher_.get();
  ld.hashing = hashing_.get();
  ld.db = pool_.get();
  ld.directory = directory_;
  ld.audit = audit_;
  ld.stats = &stats;
  logins_ = std::make_unique<solod::login_service>(ld);
  auth_ = std::make_unique<solod::authenticator>(*tokens_, registry, clk);
  files_ = std::make_unique<solod::static_files>(cfg.server.static_dir);

  solod::api_deps deps;
  deps.cfg = &cfg;
  deps.clk = &clk;
  deps.logins = logins_.get();
  deps.auth = auth_.get();
  deps.tokens = tokens_.get();
  deps.registry = &registry;
  deps.db = pool_.get();
  deps.directory = directory_;
  deps.stats = &stats;
  deps.files = files_.get();
  deps.hasher = hasher_.get();
  deps.hashing = hashing_.get();
  deps.audit = audit_;
  deps.online = &online_;
  router_ = std::make_unique<solod::api_router>(deps);

  cctx_.clk = &clk;
  cctx_.auth = auth_.get();
  cctx_.directory = directory_;
  cctx_.presence = &presence_;
  cctx_.db = pool_.get();
  cctx_.audit = audit_;
  cctx_.stats = &stats;
  cctx_.auth_timeout = std::chrono::milliseconds{2000};

  admin = make_account("fuzzadmin", "fuzz-admin-password", true);
  user = make_account("fuzzuser", "fuzz-user-password", false);
  refresh_sessions();
}

account fuzz_world::make_account(const std::string& name, const std::string& password,
                                 bool is_admin) {
  solod::user_record u;
  u.username = name;
  u.password_hash = hasher_->hash(password);
  u.full_name = "Fuzz " + name;
  u.email = name + "@example.org";
  u.is_admin = is_admin;
  u.created_at = clk.now();
  auto stored = solod::user_repository(*db_.sql).insert(u);
  if (!stored) {
    die("cannot create account " + name);
  }
  account a;
  a.id = stored->id;
  a.name = name;
  a.password = password;
  a.hash = u.password_hash;
  return a;
}

void fuzz_world::login(account& a) {
  auto promise = std::make_shared<std::promise<solod::login_outcome>>();
  auto once = std::make_shared<std::once_flag>();
  solod::login_reply reply = [promise, once](const solod::login_outcome& out) {
    std::call_once(*once, [&] { promise->set_value(out); });
  };
  caf::anon_send(directory_, solod::login_atom::value,
                 solod::login_request{a.id, a.name, "127.0.0.1", "fuzz-world"}, std::move(reply));
  auto fut = promise->get_future();
  if (fut.wait_for(std::chrono::seconds{30}) != std::future_status::ready) {
    die("login of " + a.name + " got no answer");
  }
  auto out = fut.get();
  if (out.result != solod::login_outcome::status::ok) {
    // deny_new with a live session, or the database was busy: try later.
    return;
  }
  solod::token_claims c;
  c.sub = std::to_string(a.id);
  c.name = a.name;
  c.sid = out.session.id;
  c.jti = "00112233445566778899aabbccddeeff";
  c.iat = solod::to_unix_seconds(clk.now());
  c.exp = c.iat + 3600;
  a.session_id = out.session.id;
  a.token = tokens_->sign(c);
}

void fuzz_world::restore_accounts() {
  // Inputs may rename, demote, disable or re-password the two accounts through
  // the admin API; put them back so later inputs still reach what they need.
  const std::string same =
    "SELECT COUNT(*) FROM users WHERE (id = :a AND username = :an AND password_hash = :ah AND "
    "is_admin = 1 AND is_active = 1) OR (id = :u AND username = :un AND password_hash = :uh AND "
    "is_admin = 0 AND is_active = 1)";
  if (test_support::count_of(*db_.sql, same,
                             {std::to_string(admin.id), admin.name, admin.hash,
                              std::to_string(user.id), user.name, user.hash}) == 2) {
    return;
  }
  for (auto* a : {&admin, &user}) {
    const std::string is_admin = a == &admin ? "1" : "0";
    const std::string id = std::to_string(a->id);
    *db_.sql << "UPDATE users SET username = :n, password_hash = :h, is_admin = :adm, "
                "is_active = 1 WHERE id = :id",
      soci::use(a->name), soci::use(a->hash), soci::use(is_admin), soci::use(id);
  }
}

void fuzz_world::refresh_sessions() {
  restore_accounts();
  for (auto* a : {&admin, &user}) {
    if (a->session_id.empty() || !registry.is_live(a->id, a->session_id)) {
      login(*a);
    }
  }
}

std::string fuzz_world::with_tokens(std::string text) const {
  for (auto [mark, token] : {std::pair{std::string("@ADMIN@"), admin.token},
                             std::pair{std::string("@USER@"), user.token}}) {
    for (auto at = text.find(mark); at != std::string::npos; at = text.find(mark, at + token.size())) {
      text.replace(at, mark.size(), token);
    }
  }
  return text;
}

routed_response fuzz_world::route(solod::http_request req) {
  struct state {
    std::mutex mu;
    std::condition_variable cv;
    std::optional<solod::http_response> response;
    int calls = 0;
  };
  auto st = std::make_shared<state>();
  // As the session does: a HEAD request gets the header of a streamed answer only.
  const bool head_only = req.method == "HEAD";
  router_->handle(std::move(req), [st](solod::http_response r) {
    std::lock_guard lock(st->mu);
    if (++st->calls > 1) {
      die("the router answered one request twice");
    }
    st->response = std::move(r);
    st->cv.notify_all();
  });
  routed_response out;
  {
    std::unique_lock lock(st->mu);
    if (!st->cv.wait_for(lock, std::chrono::seconds{30}, [&] { return st->response.has_value(); })) {
      die("the router never answered a request");
    }
    out.head = std::move(*st->response);
  }
  if (out.head.stream && !head_only) {
    auto sink = std::make_shared<collecting_sink>();
    out.head.stream(sink);
    if (!sink->wait(std::chrono::seconds{60}, out.streamed, out.stream_finished)) {
      die("a streamed response never ended");
    }
  }
  return out;
}

caf::actor fuzz_world::connect(std::shared_ptr<solod::ws_sink> sink, std::string token) {
  solod::connection_info info;
  info.id = "0123456789abcdef0123456789abcdef";
  info.ip = "198.51.100.20";
  info.user_agent = "fuzz-ws";
  info.connected_at = clk.now();
  return solod::spawn_connection_actor(*sys, &cctx_, info, std::move(sink), std::move(token));
}

void fuzz_world::await_down(const caf::actor& a, std::chrono::seconds limit) {
  caf::scoped_actor self{*sys};
  self->monitor(a);
  bool down = false;
  self->receive([&](const caf::down_msg&) { down = true; },
                caf::after(limit) >> [] {});
  if (!down) {
    die("a connection actor did not end after its stream closed");
  }
}

} // namespace fuzz
