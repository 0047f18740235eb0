#include "net/tls_context.hpp"

#include "config/config.hpp"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <stdexcept>

namespace solod {

namespace {

template <class T, void (*Free)(T*)>
struct openssl_deleter {
  void operator()(T* p) const { Free(p); }
};
using pkey_ptr = std::unique_ptr<EVP_PKEY, openssl_deleter<EVP_PKEY, EVP_PKEY_free>>;
using x509_ptr = std::unique_ptr<X509, openssl_deleter<X509, X509_free>>;

void fail(const std::string& what) {
  throw std::runtime_error("TLS certificate: " + what);
}

/// Opens `path` for writing with `mode` set at creation, so a key is never readable by others.
FILE* create_file(const std::string& path, mode_t mode) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, mode);
  if (fd < 0) {
    fail("cannot create " + path);
  }
  ::fchmod(fd, mode);
  FILE* f = ::fdopen(fd, "w");
  if (!f) {
    ::close(fd);
    fail("cannot open " + path);
  }
  return f;
}

void add_extension(X509* cert, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, cert, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
  if (!ext) {
    fail("cannot build extension");
  }
  X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
}

void generate(const std::string& cert_path, const std::string& key_path) {
  pkey_ptr key(EVP_EC_gen("P-256"));
  if (!key) {
    fail("cannot generate an EC P-256 key");
  }
  x509_ptr cert(X509_new());
  X509_set_version(cert.get(), 2);
  unsigned char serial[16];
  RAND_bytes(serial, sizeof serial);
  serial[0] &= 0x7f;
  BIGNUM* bn = BN_bin2bn(serial, sizeof serial, nullptr);
  BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert.get()));
  BN_free(bn);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 60L * 60 * 24 * 825);
  X509_set_pubkey(cert.get(), key.get());
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("solod"), -1, -1, 0);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("localhost"), -1, -1, 0);
  X509_set_issuer_name(cert.get(), name);
  add_extension(cert.get(), NID_subject_alt_name, "DNS:localhost,IP:127.0.0.1,IP:::1");
  add_extension(cert.get(), NID_basic_constraints, "critical,CA:FALSE");
  add_extension(cert.get(), NID_ext_key_usage, "serverAuth");
  if (X509_sign(cert.get(), key.get(), EVP_sha256()) == 0) {
    fail("cannot sign the certificate");
  }

  FILE* kf = create_file(key_path, 0600);
  bool key_ok = PEM_write_PrivateKey(kf, key.get(), nullptr, nullptr, 0, nullptr, nullptr) == 1;
  std::fclose(kf);
  FILE* cf = create_file(cert_path, 0644);
  bool cert_ok = PEM_write_X509(cf, cert.get()) == 1;
  std::fclose(cf);
  if (!key_ok || !cert_ok) {
    fail("cannot write " + cert_path + " or " + key_path);
  }
}

} // namespace

certificate_files ensure_self_signed_certificate(const std::string& data_dir) {
  std::filesystem::create_directories(data_dir);
  certificate_files files{data_dir + "/cert.pem", data_dir + "/key.pem"};
  if (!std::filesystem::exists(files.cert_file) || !std::filesystem::exists(files.key_file)) {
    generate(files.cert_file, files.key_file);
  }
  return files;
}

std::shared_ptr<boost::asio::ssl::context> make_tls_context(const config& cfg,
                                                            const std::string& data_dir) {
  namespace ssl = boost::asio::ssl;
  certificate_files files{cfg.server.cert_file, cfg.server.key_file};
  if (files.cert_file.empty()) {
    files = ensure_self_signed_certificate(data_dir);
  }
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_server);
  ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                   ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 |
                   ssl::context::single_dh_use);
  SSL_CTX* native = ctx->native_handle();
  SSL_CTX_set_min_proto_version(native, TLS1_2_VERSION);
  // A client may not renegotiate (TLS 1.2): a renegotiation is a handshake's
  // CPU on demand, and nothing here needs one.
  SSL_CTX_set_options(native, SSL_OP_NO_RENEGOTIATION);
  // Idle connections hold no record buffers (tls_stream keeps none of its own).
  SSL_CTX_set_mode(native, SSL_MODE_RELEASE_BUFFERS | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  // A record's header and body in one read from the socket, not two (the
  // buffer is released again once empty).
  SSL_CTX_set_read_ahead(native, 1);
  // Resumption by session tickets only (stateless, TLS 1.2 and 1.3): no
  // server-side session cache growing with the number of clients. One
  // ticket per handshake is enough for a browser's next connection.
  SSL_CTX_set_session_cache_mode(native, SSL_SESS_CACHE_OFF);
  SSL_CTX_set_num_tickets(native, 1);
  boost::system::error_code ec;
  ctx->use_certificate_chain_file(files.cert_file, ec);
  if (ec) {
    throw std::runtime_error("cannot load certificate '" + files.cert_file + "': " + ec.message());
  }
  ctx->use_private_key_file(files.key_file, ssl::context::pem, ec);
  if (ec) {
    throw std::runtime_error("cannot load key '" + files.key_file + "': " + ec.message());
  }
  return ctx;
}

} // namespace solod
