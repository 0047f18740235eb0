#pragma once
/// @brief The admin API of SPEC §3: users (and their attributes), sessions, the audit log and its CSV export.

#include "net/api_router.hpp"
#include "net/http_message.hpp"

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

namespace soci {
class session;
}

namespace solod {

struct audit_filter;
struct principal;
struct user_record;

/// Handles `/api/admin/*`. Every request must come from a live session of an
/// active admin (else 401, or 403 `forbidden`, audited); every change is
/// audited as `admin_action` naming who did what to whom.
class admin_router {
public:
  explicit admin_router(const api_deps& deps) : deps_(deps) {}

  /// Handles `req` (its path starts with /api/admin/); `respond` is called once.
  void handle(const http_request& req, responder respond) const;

private:
  /// Checks on the database pool that `user_id` is an active admin, then dispatches.
  void as_admin(const http_request& req, std::int64_t user_id, responder respond) const;
  void dispatch(soci::session& sql, const http_request& req, const user_record& admin,
                responder respond) const;
  void list_users(soci::session& sql, const http_request& req, responder respond) const;
  void create_user(const http_request& req, const user_record& admin, responder respond) const;
  void patch_user(const http_request& req, const user_record& admin, std::int64_t id,
                  responder respond) const;
  /// `/api/admin/users/{id}/attributes` (GET) and `.../attributes/{name}` (PUT, DELETE).
  void user_attribute_route(soci::session& sql, const http_request& req, const user_record& admin,
                            std::string_view id, std::string_view rest, responder respond) const;
  void put_attribute(soci::session& sql, const http_request& req, const user_record& admin,
                     const user_record& user, const std::string& name, responder respond) const;
  /// The session history (admin_session_history.cpp): JSON pages and the CSV.
  void list_sessions(soci::session& sql, const http_request& req, responder respond) const;
  void export_sessions_csv(const http_request& req, const user_record& admin, responder respond) const;
  /// `/api/admin/stats` (admin_stats.cpp).
  void stats(soci::session& sql, const http_request& req, responder respond) const;
  /// `/api/admin/users/{id}/export` and `.../erase` (admin_subjects.cpp).
  void subject_route(soci::session& sql, const http_request& req, const user_record& admin,
                     std::string_view rest, responder respond) const;
  void export_subject(soci::session& sql, const http_request& req, const user_record& admin,
                      std::int64_t id, responder respond) const;
  /// Blocks (on the pool) until the audit actor has committed every event
  /// sent to it so far; false when it could not (database down, 5 s).
  bool audit_flushed() const;
  void erase_subject(soci::session& sql, const http_request& req, const user_record& admin,
                     std::int64_t id, responder respond) const;
  void end_session(soci::session& sql, const http_request& req, const user_record& admin,
                   const std::string& id, responder respond) const;
  void list_audit(soci::session& sql, const http_request& req, responder respond) const;
  void export_audit_csv(soci::session& sql, const http_request& req, const user_record& admin,
                        responder respond) const;
  /// The audit CSV with its proof (`?proof=1`, storage/audit_proof.hpp).
  void stream_audit_proof(soci::session& sql, const audit_filter& filter, http_response r,
                          responder respond) const;
  void end_user_session(std::int64_t user_id, const http_request& req,
                        std::function<void()> then) const;
public:
  /// Records an admin_action row of `admin` (also used by the route files).
  void audit_action(const http_request& req, const user_record& admin, const std::string& what,
                    bool allowed = true) const;

private:

  const api_deps& deps_;
};

} // namespace solod
