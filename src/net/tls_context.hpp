#pragma once
/// @brief TLS for the listener: the certificate (given or self-signed) and a TLS 1.2+ context.

#include <boost/asio/ssl/context.hpp>

#include <memory>
#include <string>

namespace solod {

struct config;

/// Where a certificate and its key are.
struct certificate_files {
  std::string cert_file;
  std::string key_file;
};

/// Returns `data_dir/cert.pem` and `data_dir/key.pem`, generating an ECDSA
/// P-256 self-signed certificate for localhost first if they do not exist
/// (key mode 0600). Throws std::runtime_error.
certificate_files ensure_self_signed_certificate(const std::string& data_dir);

/// A server context allowing TLS 1.2 and 1.3 only, with the configured
/// certificate or the generated one. Throws std::runtime_error naming the file.
std::shared_ptr<boost::asio::ssl::context> make_tls_context(const config& cfg,
                                                            const std::string& data_dir);

} // namespace solod
