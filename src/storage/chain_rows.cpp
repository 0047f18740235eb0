#include "storage/chain_rows.hpp"

#include <soci/soci.h>

#include <algorithm>

namespace solod {

namespace {

/// Selects rows by a condition over numbers only (nothing to bind) and visits them by id.
void visit_where(soci::session& sql, const std::string& condition,
                 const std::function<void(const stored_row&)>& visit) {
  long long id = 0, user_id = 0;
  stored_row r;
  std::string session, key, hash;
  soci::indicator user_ind = soci::i_null, session_ind = soci::i_null, key_ind = soci::i_null,
                  hash_ind = soci::i_null;
  auto& p = r.row.personal;
  soci::statement st =
    (sql.prepare << "SELECT id, timestamp, user_id, event_type, session_id, status, legal_basis, username, "
                    "ip_address, user_agent, error_message, chain_key, row_hash FROM login_logs WHERE " +
                      condition + " ORDER BY id",
     soci::into(id), soci::into(r.row.timestamp), soci::into(user_id, user_ind), soci::into(r.row.event_type),
     soci::into(session, session_ind), soci::into(r.row.status), soci::into(r.row.legal_basis),
     soci::into(p[0]), soci::into(p[1]), soci::into(p[2]), soci::into(p[3]), soci::into(key, key_ind),
     soci::into(hash, hash_ind));
  st.execute();
  while (st.fetch()) {
    r.row.id = id;
    r.row.user_id = user_ind == soci::i_ok ? std::optional<std::int64_t>(user_id) : std::nullopt;
    r.row.session_id = session_ind == soci::i_ok ? std::optional<std::string>(session) : std::nullopt;
    r.chain_key = key_ind == soci::i_ok ? std::optional<std::string>(key) : std::nullopt;
    r.row_hash = hash_ind == soci::i_ok ? std::optional<std::string>(hash) : std::nullopt;
    visit(r);
  }
}

} // namespace

void for_each_stored_row(soci::session& sql, std::int64_t first_id, std::int64_t last_id,
                         const std::function<void(const stored_row&)>& visit) {
  visit_where(sql, "id >= " + std::to_string(first_id) + " AND id <= " + std::to_string(last_id), visit);
}

void for_each_stored_row(soci::session& sql, const std::vector<std::int64_t>& ids,
                         const std::function<void(const stored_row&)>& visit) {
  std::vector<std::int64_t> sorted = ids;
  std::sort(sorted.begin(), sorted.end());
  constexpr std::size_t chunk = 500;
  for (std::size_t first = 0; first < sorted.size(); first += chunk) {
    std::string list;
    for (std::size_t i = first; i < std::min(sorted.size(), first + chunk); ++i) {
      list += (list.empty() ? "" : ", ") + std::to_string(sorted[i]);
    }
    visit_where(sql, "id IN (" + list + ")", visit);
  }
}

} // namespace solod
