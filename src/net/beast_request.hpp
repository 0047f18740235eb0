#pragma once
/// @brief The request handlers see, built from Beast's parsed message: where bytes from the network are made safe.

#include "net/http_message.hpp"

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

namespace solod {

/// `msg` as handlers see it. Method, target and every header value become
/// valid UTF-8 without controls (invalid sequences as U+FFFD) and the
/// User-Agent is cut to 512 bytes at a character boundary
/// (`safe_header_value`). The body is not copied and not touched: JSON
/// bodies go through a strict UTF-8 parser. The client address is the
/// caller's to set, since only the session knows its peer. The HTTP fuzzer
/// builds its requests here too, so it tests what the server runs.
http_request request_of(const boost::beast::http::request<boost::beast::http::string_body>& msg);

} // namespace solod
