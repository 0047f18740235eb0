#include "storage/news_listener.hpp"

#include "storage/cluster_news.hpp"
#include "util/node_id.hpp"
#include "util/thread_name.hpp"

#include <soci/soci.h>
#include <spdlog/spdlog.h>

#ifdef SOLOD_WITH_POSTGRESQL
#include <libpq-fe.h>
#include <poll.h>
#endif

#include <optional>
#include <vector>

namespace solod {

news_listener::news_listener(database_url url, news_sink& sink, timing t)
  : url_(std::move(url)), sink_(sink), timing_(t) {}

news_listener::~news_listener() {
  stop();
}

void news_listener::start() {
  thread_ = std::thread([this] {
    name_this_thread("solod-news", 0);
    if (url_.dialect == sql_dialect::postgresql) {
      run_postgresql();
    } else {
      run_sqlite();
    }
  });
}

void news_listener::stop() {
  stopping_ = true;
  if (thread_.joinable()) {
    thread_.join();
  }
}

bool news_listener::sleep_for(std::chrono::milliseconds d) {
  auto until = std::chrono::steady_clock::now() + d;
  while (!stopping_ && std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(std::min(d, std::chrono::milliseconds{20}));
  }
  return !stopping_;
}

void news_listener::run_sqlite() {
  long long last = -1;
  std::unique_ptr<soci::session> sql;
  bool announced = false;
  while (!stopping_) {
    try {
      if (!sql) {
        sql = open_database(url_);
      }
      if (last < 0) {
        soci::indicator ind = soci::i_null;
        long long max_id = 0;
        *sql << "SELECT MAX(id) FROM cluster_news", soci::into(max_id, ind);
        last = ind == soci::i_ok ? max_id : 0;
      }
      if (!announced) {
        announced = true;
        sink_.on_listening();
      }
      long long id = 0;
      std::string payload;
      soci::statement st = (sql->prepare << "SELECT id, payload FROM cluster_news WHERE id > :last "
                                            "ORDER BY id LIMIT 200",
                            soci::use(last), soci::into(id), soci::into(payload));
      st.execute(false);
      std::vector<std::string> batch;
      long long seen = last;
      while (st.fetch()) {
        seen = id;
        batch.push_back(payload);
      }
      last = seen;
      for (auto& p : batch) {
        sink_.on_news(std::move(p));
      }
    } catch (const std::exception& e) {
      spdlog::warn("news: cannot read cluster_news: {}", e.what());
      sql.reset();
    }
    sleep_for(timing_.poll_every);
  }
}

#ifdef SOLOD_WITH_POSTGRESQL

namespace {

struct pg_connection {
  PGconn* conn = nullptr;
  ~pg_connection() {
    if (conn) {
      PQfinish(conn);
    }
  }
};

/// Connects with the node's libpq key/value target (expanded by libpq as
/// `dbname`), its password, our own name and TCP keepalives.
PGconn* connect_listener(const database_url& url) {
  std::string app = "solod-listen " + this_node_id();
  std::vector<const char*> keys{"dbname", "application_name", "keepalives", "keepalives_idle",
                                "keepalives_interval", "keepalives_count", "connect_timeout"};
  std::vector<const char*> values{url.target.c_str(), app.c_str(), "1", "5", "1", "3", "5"};
  if (!url.password.empty()) {
    keys.push_back("password");
    values.push_back(url.password.c_str());
  }
  keys.push_back(nullptr);
  values.push_back(nullptr);
  return PQconnectdbParams(keys.data(), values.data(), 1);
}

/// A payload too large for NOTIFY names its `cluster_news` row: read it here,
/// on this connection, so the news stays in commit order and never waits for
/// a busy pool. False when it cannot be read (the connection is then reset).
bool resolve_ref(PGconn* conn, std::string& payload) {
  auto item = parse_news(payload);
  if (!item || !item->ref) {
    return true;
  }
  std::string id = std::to_string(*item->ref);
  const char* params[] = {id.c_str()};
  PGresult* r = PQexecParams(conn, "SELECT payload FROM cluster_news WHERE id = $1::bigint", 1,
                             nullptr, params, nullptr, nullptr, 0);
  bool ok = r && PQresultStatus(r) == PGRES_TUPLES_OK;
  if (ok && PQntuples(r) == 1) {
    payload = PQgetvalue(r, 0, 0);
  } else if (ok) {
    spdlog::warn("news: payload row {} is gone (pruned?)", id);
    ok = false;
  }
  PQclear(r);
  return ok;
}

/// Runs `sql` and waits for its result; false on any error.
bool exec_ok(PGconn* conn, const char* sql) {
  PGresult* r = PQexec(conn, sql);
  bool ok = r && (PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK);
  PQclear(r);
  return ok;
}

} // namespace

void news_listener::run_postgresql() {
  bool was_listening = false;
  while (!stopping_) {
    pg_connection pg;
    pg.conn = connect_listener(url_);
    std::string listen = std::string("LISTEN ") + news_channel;
    if (PQstatus(pg.conn) != CONNECTION_OK || !exec_ok(pg.conn, listen.c_str())) {
      std::string why = pg.conn ? PQerrorMessage(pg.conn) : "out of memory";
      spdlog::warn("news: cannot listen: {}", why);
      if (was_listening) {
        was_listening = false;
      }
      sink_.on_lost(why);
      sleep_for(std::chrono::milliseconds{250});
      continue;
    }
    spdlog::info("news: listening");
    was_listening = true;
    sink_.on_listening();
    auto quiet_since = std::chrono::steady_clock::now();
    std::optional<std::chrono::steady_clock::time_point> probe_sent;
    std::string lost;
    while (!stopping_ && lost.empty()) {
      pollfd fd{PQsocket(pg.conn), POLLIN, 0};
      int ready = ::poll(&fd, 1, 50);
      if (ready < 0 && errno != EINTR) {
        lost = "poll failed";
        break;
      }
      auto now = std::chrono::steady_clock::now();
      if (ready > 0) {
        if (!PQconsumeInput(pg.conn)) {
          lost = PQerrorMessage(pg.conn);
          break;
        }
        quiet_since = now;
        while (PGnotify* n = PQnotifies(pg.conn)) {
          std::string payload = n->extra ? n->extra : "";
          PQfreemem(n);
          if (probe_sent && payload.find("\"ref\"") != std::string::npos) {
            // One query at a time: finish the probe before reading the row.
            while (PGresult* r = PQgetResult(pg.conn)) {
              PQclear(r);
            }
            probe_sent.reset();
          }
          if (!resolve_ref(pg.conn, payload)) {
            lost = "cannot read a large news payload";
            break;
          }
          sink_.on_news(std::move(payload));
        }
        if (!lost.empty()) {
          break;
        }
        if (probe_sent && !PQisBusy(pg.conn)) {
          // The probe's answer is in: drain it.
          while (PGresult* r = PQgetResult(pg.conn)) {
            if (PQresultStatus(r) != PGRES_TUPLES_OK) {
              lost = PQresultErrorMessage(r);
            }
            PQclear(r);
          }
          probe_sent.reset();
        }
      }
      if (PQstatus(pg.conn) != CONNECTION_OK) {
        lost = "connection closed";
      } else if (probe_sent && now - *probe_sent > timing_.probe_timeout) {
        lost = "no answer to the health probe";
      } else if (!probe_sent && now - quiet_since > timing_.probe_every) {
        if (!PQsendQuery(pg.conn, "SELECT 1")) {
          lost = PQerrorMessage(pg.conn);
        }
        probe_sent = now;
        quiet_since = now;
      }
    }
    if (stopping_) {
      break;
    }
    spdlog::warn("news: connection lost ({}); memory is untrusted until resynced", lost);
    was_listening = false;
    sink_.on_lost(lost);
  }
}

#else

void news_listener::run_postgresql() {
  sink_.on_lost("this build has no PostgreSQL support");
}

#endif

} // namespace solod
