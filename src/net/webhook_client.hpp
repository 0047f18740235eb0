#pragma once
/// @brief Sends one webhook: an HTTP(S) POST with a deadline, on the caller's thread.

#include <atomic>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace solod {

/// Where a webhook goes, from an `http://` or `https://` URL.
struct webhook_target {
  bool tls = false;
  std::string host;   ///< a name, an IPv4 address, or an IPv6 address without brackets
  std::string port;
  std::string target; ///< path and query; "/" when the URL has none
};

/// The target of `url`; nothing when it is not an absolute http(s) URL.
std::optional<webhook_target> parse_webhook_url(std::string_view url);

/// What one POST got: the status, or why there is none.
struct webhook_response {
  int status = 0;    ///< 0: no answer (see error)
  std::string error; ///< empty when an answer came
  bool ok() const { return status >= 200 && status < 300; }
};

/// POSTs webhooks one at a time on the calling thread (the webhook worker's),
/// with an io_context of its own: no network thread of the server is used.
/// HTTPS checks the receiver's certificate against the system's CAs and its name.
class webhook_client {
public:
  webhook_client();
  ~webhook_client();
  webhook_client(const webhook_client&) = delete;
  webhook_client& operator=(const webhook_client&) = delete;

  /// Connects, sends `body` (JSON) with `headers`, reads the answer; all
  /// within `timeout`, and given up within 100 ms once `abort` is set (the
  /// server stops). Redirects are not followed (a 3xx is a failure).
  webhook_response post(const webhook_target& to, const std::vector<std::pair<std::string, std::string>>& headers,
                        const std::string& body, std::chrono::milliseconds timeout,
                        const std::atomic<bool>& abort);

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

} // namespace solod
