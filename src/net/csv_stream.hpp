#pragma once
/// @brief A CSV answer streamed in batches: each batch is read on the database
/// pool and the next is read only once the previous one is on the wire.

#include "net/http_message.hpp"

#include <functional>
#include <memory>
#include <string>

namespace soci {
class session;
}

namespace solod {

class db_pool;

/// Reads the next batch of records into `chunk` (on the database pool);
/// returns whether more may follow.
using csv_batch_reader = std::function<bool(soci::session& sql, std::string& chunk)>;

/// The `stream` of a CSV response: writes `header`, then every batch of
/// `read_batch`, bounded in memory whatever the export's size. A database
/// failure after the header cuts the body short (the client sees a truncated
/// transfer, never a body that looks complete).
std::function<void(std::shared_ptr<chunk_sink>)> csv_stream(db_pool& db, std::string header,
                                                            csv_batch_reader read_batch);

} // namespace solod
