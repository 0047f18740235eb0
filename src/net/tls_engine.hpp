#pragma once
/// @brief One TLS connection's OpenSSL state, reading and writing the socket itself.

#include <boost/system/error_code.hpp>

#include <openssl/ssl.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>

namespace solod {

/// The synchronous half of `tls_stream`: an `SSL` whose BIO is the socket.
///
/// Why not asio's `ssl::stream`: its engine keeps a BIO pair and two 17 KiB
/// record buffers per connection for the connection's whole life, about
/// 70 KiB an idle TLS WebSocket (measured: 76.6 KiB against 9.6 KiB plain).
/// Here OpenSSL's records go straight between the kernel and OpenSSL, and
/// with SSL_MODE_RELEASE_BUFFERS an idle connection holds only the `SSL`.
/// Bytes the kernel does not take at once wait in `out_`, which exists only
/// while the socket is backed up.
///
/// Every step is non-blocking (MSG_DONTWAIT): a step that needs bytes the
/// socket does not have yet says so (`want_input`), and `tls_stream` waits
/// for them. Not thread-safe: one connection, one network thread.
class tls_engine {
public:
  /// What a step did.
  struct result {
    boost::system::error_code ec; ///< eof = the peer's close_notify; stream_truncated = TCP end without it
    std::size_t bytes = 0;        ///< application bytes read or written
    bool want_input = false;      ///< the step needs more bytes from the socket: wait, then repeat it
  };

  /// A descriptor for the fuzzers: input only from `feed` and the wake buffer;
  /// all output stays waiting (`has_output`, `begin_flush`).
  static constexpr int in_memory = -2;

  /// A server-side connection on `ctx` (the client side with `client`: the
  /// load tool's). Throws std::bad_alloc when OpenSSL cannot allocate.
  explicit tls_engine(SSL_CTX* ctx, bool client = false);
  ~tls_engine();
  tls_engine(const tls_engine&) = delete;
  tls_engine& operator=(const tls_engine&) = delete;

  /// The socket's descriptor as of now (-1 once closed). Set before every step:
  /// the descriptor can be closed (a timeout) and its number reused meanwhile.
  void set_socket(int fd) { fd_ = fd; }

  /// Bytes already read from the socket by someone else (the plain/TLS detector):
  /// OpenSSL reads them before the socket.
  void feed(const void* data, std::size_t n);

  /// Where a read that waited for input (through the tcp_stream, for its
  /// deadlines and cancellation) puts its bytes; `took_wake_bytes` hands them
  /// to OpenSSL before the socket. 128 bytes: a small message's whole record
  /// comes in that one read, as a plain message does.
  std::array<char, 128>& wake_buffer() { return wake_; }
  void took_wake_bytes(std::size_t n);

  /// False when a read would certainly find nothing: the socket gave all it
  /// had at the last read, nothing is waiting in the engine, and OpenSSL
  /// holds no unread bytes. A read op then waits first instead of trying
  /// (and failing) a read.
  bool may_have_input() const;

  result handshake();
  result read(void* data, std::size_t n);
  /// Encrypts all of `data` (n ≤ INT_MAX); what the kernel does not take goes to `out_`.
  result write(const void* data, std::size_t n);
  /// Sends close_notify, then reads (and drops) until the peer's close_notify.
  result shutdown();

  /// Output waiting for the socket to drain.
  bool has_output() const { return !out_.empty(); }
  /// Moves the waiting output into the buffer in flight; BIO writes queue behind it until `end_flush`.
  const std::string& begin_flush();
  void end_flush();

  SSL* native_handle() { return ssl_; }

private:
  static int bio_read(BIO* bio, char* data, int n);
  static int bio_write(BIO* bio, const char* data, int n);
  static long bio_ctrl(BIO* bio, int cmd, long num, void* ptr);
  static BIO_METHOD* socket_method();

  int read_socket(char* data, int n);
  int write_socket(const char* data, int n);
  result outcome(int ret);
  static void clear_errors();

  SSL* ssl_ = nullptr;
  int fd_ = -1;
  int errno_ = 0;        ///< the socket error of the last step
  bool peer_eof_ = false;
  bool shutdown_sent_ = false;
  bool flushing_ = false;
  bool drained_ = false; ///< the last read from the socket found it empty
  std::uint8_t wake_pos_ = 0;
  std::uint8_t wake_len_ = 0;
  std::array<char, 128> wake_;
  std::size_t in_pos_ = 0;
  std::string in_;       ///< fed bytes not yet read by OpenSSL
  std::string out_;      ///< output the kernel has not taken, not yet in flight
  std::string sending_;  ///< output in flight (an async_write of tls_stream)
};

} // namespace solod
