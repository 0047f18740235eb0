#include "storage/write_transaction.hpp"

#include <soci/soci.h>

namespace solod {

write_transaction::write_transaction(soci::session& sql) : sql_(sql) {
  if (sql_.get_backend_name() == "sqlite3") {
    sql_ << "BEGIN IMMEDIATE";
  } else {
    sql_.begin();
  }
}

write_transaction::~write_transaction() {
  if (open_) {
    try {
      sql_.rollback();
    } catch (...) {
      // The connection is broken; the caller already has the original error.
    }
  }
}

void write_transaction::commit() {
  sql_.commit();
  open_ = false;
}

} // namespace solod
