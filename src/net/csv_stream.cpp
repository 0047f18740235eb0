#include "net/csv_stream.hpp"

#include "storage/db_pool.hpp"

#include <spdlog/spdlog.h>

namespace solod {

namespace {

struct csv_export : std::enable_shared_from_this<csv_export> {
  db_pool* db = nullptr;
  std::string header;
  csv_batch_reader read_batch;
  std::shared_ptr<chunk_sink> sink;

  void next() {
    auto self = shared_from_this();
    bool queued = db->try_submit(
      [self](soci::session& sql) {
        std::string chunk = std::move(self->header);
        self->header.clear();
        const bool more = self->read_batch(sql, chunk);
        if (chunk.empty()) {
          self->sink->finish();
          return;
        }
        self->sink->write(std::move(chunk), [self, more](bool ok) {
          if (!ok) {
            return; // the client went away
          }
          if (more) {
            self->next();
          } else {
            self->sink->finish();
          }
        });
      },
      [self](const std::string& what) {
        spdlog::error("CSV export failed: {}", what);
        self->sink->abort();
      });
    if (!queued) {
      sink->abort();
    }
  }
};

} // namespace

std::function<void(std::shared_ptr<chunk_sink>)> csv_stream(db_pool& db, std::string header,
                                                            csv_batch_reader read_batch) {
  auto job = std::make_shared<csv_export>();
  job->db = &db;
  job->header = std::move(header);
  job->read_batch = std::move(read_batch);
  return [job](std::shared_ptr<chunk_sink> sink) {
    job->sink = std::move(sink);
    job->next();
  };
}

} // namespace solod
