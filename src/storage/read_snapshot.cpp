#include "storage/read_snapshot.hpp"

#include "storage/cluster_news.hpp"

#include <soci/soci.h>

namespace solod {

read_snapshot::read_snapshot(soci::session& sql) : sql_(sql) {
  sql_ << (is_postgresql(sql_) ? "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY" : "BEGIN");
}

read_snapshot::~read_snapshot() {
  try {
    sql_ << "ROLLBACK";
  } catch (...) {
    // The connection is gone: so is the transaction.
  }
}

} // namespace solod
