#include "storage/user_erasure.hpp"

#include "storage/audit_chain.hpp"
#include "storage/audit_stats.hpp"
#include "storage/cluster_news.hpp"
#include "storage/write_transaction.hpp"
#include "util/query_string.hpp"
#include "util/random.hpp"
#include "util/time_format.hpp"

#include <nlohmann/json.hpp>
#include <soci/soci.h>

#include <algorithm>
#include <cctype>
#include <set>

namespace solod {

namespace {

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

/// Replaces every `username`, `ip` and `user_agent` string in `j`, at any depth.
void pseudonymize_json(nlohmann::json& j, const std::string& pseudonym) {
  if (j.is_object()) {
    for (auto& [key, value] : j.items()) {
      if ((key == "username" || key == "ip" || key == "user_agent") && value.is_string() &&
          !value.get_ref<const std::string&>().empty()) {
        value = pseudonym;
      } else {
        pseudonymize_json(value, pseudonym);
      }
    }
  } else if (j.is_array()) {
    for (auto& item : j) {
      pseudonymize_json(item, pseudonym);
    }
  }
}

/// Webhook events of the user (and failed logins typed with its name) not yet pruned.
void pseudonymize_webhook_events(soci::session& sql, long long user_id, const std::string& name,
                                 const std::string& pseudonym) {
  std::vector<std::pair<long long, std::string>> rewritten;
  long long id = 0, owner = 0;
  std::string payload;
  // Failed logins of no account are read only if they hold the name (an
  // attack leaves millions of them); usernames need no JSON escaping.
  const std::string typed = "%\"username\":\"" + lower(name) + "\"%";
  soci::statement st = (sql.prepare << "SELECT id, user_id, payload FROM webhook_events "
                                       "WHERE user_id = :u OR (user_id = 0 AND lower(payload) LIKE :t)",
                        soci::use(user_id), soci::use(typed), soci::into(id), soci::into(owner),
                        soci::into(payload));
  st.execute();
  while (st.fetch()) {
    auto j = nlohmann::json::parse(payload, nullptr, false);
    if (j.is_discarded()) {
      continue;
    }
    const auto* data = j.contains("data") ? &j["data"] : nullptr;
    const bool typed_name = owner == 0 && data && data->is_object() && data->contains("username") &&
                            (*data)["username"].is_string() &&
                            lower((*data)["username"].get<std::string>()) == lower(name);
    if (owner == user_id || typed_name) {
      pseudonymize_json(j, pseudonym);
      rewritten.emplace_back(id, j.dump());
    }
  }
  for (auto& [event_id, text] : rewritten) {
    sql << "UPDATE webhook_events SET payload = :p WHERE id = :i", soci::use(text), soci::use(event_id);
  }
}

/// News between nodes not yet pruned (on SQLite every change is one; on
/// PostgreSQL only payloads too large for NOTIFY): the user's session and
/// connection events name them, with address and browser.
void pseudonymize_news(soci::session& sql, long long user_id, const std::string& pseudonym) {
  std::vector<std::pair<long long, std::string>> rewritten;
  long long id = 0;
  std::string payload;
  // A cheap pre-filter; each match is checked as JSON ("u":7 also matches "u":71).
  const std::string pattern = "%\"u\":" + std::to_string(user_id) + "%";
  soci::statement st = (sql.prepare << "SELECT id, payload FROM cluster_news WHERE payload LIKE :p",
                        soci::use(pattern), soci::into(id), soci::into(payload));
  st.execute();
  while (st.fetch()) {
    auto j = nlohmann::json::parse(payload, nullptr, false);
    if (j.is_discarded() || !j.contains("e") || !j["e"].is_array()) {
      continue;
    }
    bool changed = false;
    for (auto& e : j["e"]) {
      const auto owner = e.is_object() ? e.find("u") : e.end();
      if (owner == e.end() || !owner->is_number_integer() || owner->get<long long>() != user_id) {
        continue;
      }
      for (const char* key : {"n", "ip", "ua"}) {
        if (e.contains(key) && e[key].is_string() && !e[key].get_ref<const std::string&>().empty()) {
          e[key] = pseudonym;
          changed = true;
        }
      }
    }
    if (changed) {
      rewritten.emplace_back(id, j.dump());
    }
  }
  for (auto& [news_id, text] : rewritten) {
    sql << "UPDATE cluster_news SET payload = :p WHERE id = :i", soci::use(text), soci::use(news_id);
  }
}

/// The ids of the audit rows matching `condition` (binding `:u` to `user_id`
/// when given, and `:n` to `name`) whose detail holds `containing`: the rows an
/// erasure is about to rewrite, to be sealed first (audit_chain.hpp).
std::vector<std::int64_t> ids_of(soci::session& sql, const std::string& condition,
                                 std::optional<long long> user_id, const std::string& name,
                                 const std::string& containing = "") {
  std::vector<std::int64_t> ids;
  long long id = 0;
  std::string detail;
  soci::statement st(sql);
  if (user_id) {
    st.exchange(soci::use(*user_id, "u"));
  }
  st.exchange(soci::use(name, "n"));
  st.exchange(soci::into(id));
  st.exchange(soci::into(detail));
  st.alloc();
  st.prepare("SELECT id, error_message FROM login_logs WHERE " + condition);
  st.define_and_bind();
  st.execute(false);
  while (st.fetch()) {
    if (detail.find(containing) != std::string::npos) {
      ids.push_back(id);
    }
  }
  return ids;
}

/// The person's addresses in their own rows (before they are renamed).
std::set<std::string> addresses_of(soci::session& sql, long long user_id, const std::string& name) {
  std::set<std::string> out;
  std::string ip;
  soci::statement st =
    (sql.prepare << "SELECT DISTINCT ip_address FROM login_logs WHERE (user_id = :u OR lower(username) = lower(:n)) "
                    "AND ip_address <> '' UNION SELECT DISTINCT ip_address FROM sessions WHERE user_id = :u2 "
                    "AND ip_address <> ''",
     soci::use(user_id), soci::use(name), soci::use(user_id), soci::into(ip));
  st.execute();
  while (st.fetch()) {
    out.insert(ip);
  }
  return out;
}

/// Admin actions that record an export's filters ("export audit csv
/// ?user=bob&ip=..."): a value naming the person or one of their addresses
/// becomes the pseudonym.
void pseudonymize_export_filters(soci::session& sql, const std::string& name,
                                 const std::set<std::string>& addresses, const std::string& pseudonym) {
  std::vector<std::pair<long long, std::string>> rewritten;
  long long id = 0;
  std::string text;
  soci::statement st = (sql.prepare << "SELECT id, error_message FROM login_logs WHERE event_type = 'admin_action' "
                                       "AND error_message LIKE 'export % ?%'",
                        soci::into(id), soci::into(text));
  st.execute();
  while (st.fetch()) {
    const auto q = text.find(" ?");
    std::string query = text.substr(q + 2), out;
    bool changed = false;
    std::size_t start = 0;
    while (start <= query.size()) {
      auto end = query.find('&', start);
      if (end == std::string::npos) {
        end = query.size();
      }
      std::string pair = query.substr(start, end - start);
      const auto parsed = parse_query(pair);
      if (parsed && parsed->size() == 1) {
        const auto& [key, value] = *parsed->begin();
        if (lower(value) == lower(name) || addresses.contains(value)) {
          pair = key + "=" + pseudonym;
          changed = true;
        }
      }
      out += (out.empty() ? "" : "&") + pair;
      start = end + 1;
    }
    if (changed) {
      rewritten.emplace_back(id, text.substr(0, q + 2) + out);
    }
  }
  std::vector<std::int64_t> ids;
  for (const auto& [row, message] : rewritten) {
    ids.push_back(row);
  }
  seal_rows(sql, ids, field_bit(personal_field::detail));
  for (auto& [row, message] : rewritten) {
    sql << "UPDATE login_logs SET error_message = :m WHERE id = :i", soci::use(message), soci::use(row);
  }
}

/// Hours holding the failures about to be renamed: their cached top lists name them.
std::vector<time_point> failure_stamps(soci::session& sql, long long user_id, const std::string& name) {
  std::vector<time_point> stamps;
  std::string hour;
  // One row per hour ("2026-12-02T09"), not per failure.
  soci::statement st =
    (sql.prepare << "SELECT DISTINCT substr(timestamp, 1, 13) FROM login_logs WHERE event_type = 'login_failure' "
                    "AND (user_id = :u OR lower(username) = lower(:n))",
     soci::use(user_id), soci::use(name), soci::into(hour));
  st.execute();
  while (st.fetch()) {
    if (auto t = parse_iso8601(hour + ":00:00.000Z")) {
      stamps.push_back(*t);
    }
  }
  return stamps;
}

} // namespace

std::variant<erasure_result, erasure_refusal> user_erasure::erase(std::int64_t id, time_point at) {
  long long user_id = id;
  write_transaction tx(sql_);
  std::string name;
  std::string erased_at;
  soci::indicator erased_ind = soci::i_null;
  // The row lock orders this after any session change of the user (see session_repository).
  sql_ << std::string("SELECT username, erased_at FROM users WHERE id = :u") +
            (is_postgresql(sql_) ? " FOR UPDATE" : ""),
    soci::use(user_id), soci::into(name), soci::into(erased_at, erased_ind);
  if (!sql_.got_data()) {
    return erasure_refusal::no_such_user;
  }
  if (erased_ind == soci::i_ok) {
    return erasure_refusal::already_erased;
  }
  long long live = 0;
  sql_ << "SELECT COUNT(*) FROM sessions WHERE user_id = :u AND logout_ts IS NULL", soci::use(user_id),
    soci::into(live);
  // The audit chain's lock orders this against every audit batch: one that
  // began before waits for it and then finds the account erased (its rows go
  // in pseudonymized), one already written is rewritten here.
  sql_ << "UPDATE audit_chain SET last_id = last_id WHERE id = 1";
  if (live > 0) {
    return erasure_refusal::session_live;
  }
  erasure_result result;
  result.pseudonym = "erased-" + random_hex(8);
  const std::string& p = result.pseudonym;
  forget_stats_hours(sql_, failure_stamps(sql_, user_id, name));
  const auto addresses = addresses_of(sql_, user_id, name);

  seal_rows(sql_, ids_of(sql_, "user_id = :u OR lower(username) = lower(:n)", user_id, name), erased_fields);
  // Empty fields stay empty: nothing was held there.
  soci::statement audit =
    (sql_.prepare << "UPDATE login_logs SET username = :p1, "
                     "ip_address = CASE WHEN ip_address = '' THEN '' ELSE :p2 END, "
                     "user_agent = CASE WHEN user_agent = '' THEN '' ELSE :p3 END "
                     "WHERE user_id = :u OR lower(username) = lower(:n)",
     soci::use(p), soci::use(p), soci::use(p), soci::use(user_id), soci::use(name));
  audit.execute(true);
  result.audit_rows = audit.get_affected_rows();
  // Admin actions name their target as "NAME (id N)" or "NAME (id N, admin)".
  for (const char* after : {")", ","}) {
    const std::string named = name + " (id " + std::to_string(id) + after;
    const std::string renamed = p + " (id " + std::to_string(id) + after;
    const std::string pattern = "%(id " + std::to_string(id) + after + "%";
    seal_rows(sql_, ids_of(sql_, "event_type = 'admin_action' AND error_message LIKE :n", std::nullopt, pattern,
                           named),
              field_bit(personal_field::detail));
    sql_ << "UPDATE login_logs SET error_message = REPLACE(error_message, :o, :r) "
            "WHERE event_type = 'admin_action' AND error_message LIKE :pat",
      soci::use(named), soci::use(renamed), soci::use(pattern);
  }

  soci::statement sessions =
    (sql_.prepare << "UPDATE sessions SET "
                     "ip_address = CASE WHEN ip_address = '' THEN '' ELSE :p1 END, "
                     "user_agent = CASE WHEN user_agent = '' THEN '' ELSE :p2 END, "
                     "system_info = '' WHERE user_id = :u",
     soci::use(p), soci::use(p), soci::use(user_id));
  sessions.execute(true);
  result.sessions = sessions.get_affected_rows();

  pseudonymize_export_filters(sql_, name, addresses, p);
  pseudonymize_webhook_events(sql_, user_id, name, p);
  pseudonymize_news(sql_, user_id, p);
  sql_ << "DELETE FROM user_attributes WHERE user_id = :u", soci::use(user_id);
  const std::string stamp = format_iso8601(at);
  // "!" is no hash any verifier accepts: the tombstone can never log in.
  sql_ << "UPDATE users SET username = :p, full_name = '', email = '', password_hash = '!erased', "
          "is_active = 0, is_admin = 0, erased_at = :t WHERE id = :u",
    soci::use(p), soci::use(stamp), soci::use(user_id);
  tx.commit();
  return result;
}

} // namespace solod
