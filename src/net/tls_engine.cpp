#include "net/tls_engine.hpp"

#include <boost/asio/error.hpp>
#include <boost/asio/ssl/error.hpp>

#include <openssl/err.h>

#include <sys/socket.h>

#include <cerrno>
#include <climits>
#include <cstring>
#include <new>

namespace solod {

namespace {

namespace ssl_error = boost::asio::ssl::error;

tls_engine* engine_of(BIO* bio) { return static_cast<tls_engine*>(BIO_get_data(bio)); }

} // namespace

BIO_METHOD* tls_engine::socket_method() {
  static BIO_METHOD* method = [] {
    BIO_METHOD* m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "solod socket");
    BIO_meth_set_read(m, &tls_engine::bio_read);
    BIO_meth_set_write(m, &tls_engine::bio_write);
    BIO_meth_set_ctrl(m, &tls_engine::bio_ctrl);
    BIO_meth_set_create(m, [](BIO* bio) {
      BIO_set_init(bio, 1);
      return 1;
    });
    return m;
  }();
  return method;
}

tls_engine::tls_engine(SSL_CTX* ctx, bool client) : ssl_(SSL_new(ctx)) {
  BIO* bio = ssl_ ? BIO_new(socket_method()) : nullptr;
  if (!bio) {
    SSL_free(ssl_);
    throw std::bad_alloc();
  }
  BIO_set_data(bio, this);
  SSL_set_bio(ssl_, bio, bio); // one BIO both ways: SSL_free frees it once
  if (client) {
    SSL_set_connect_state(ssl_);
  } else {
    SSL_set_accept_state(ssl_);
  }
}

tls_engine::~tls_engine() { SSL_free(ssl_); }

void tls_engine::feed(const void* data, std::size_t n) {
  if (in_pos_ == in_.size()) {
    in_.clear();
    in_pos_ = 0;
  }
  in_.append(static_cast<const char*>(data), n);
}

// -- the BIO: the socket, after what was fed ---------------------------------------------

int tls_engine::bio_read(BIO* bio, char* data, int n) {
  BIO_clear_retry_flags(bio);
  tls_engine& e = *engine_of(bio);
  if (n <= 0) {
    return 0;
  }
  if (e.in_pos_ < e.in_.size()) {
    std::size_t k = std::min<std::size_t>(n, e.in_.size() - e.in_pos_);
    std::memcpy(data, e.in_.data() + e.in_pos_, k);
    e.in_pos_ += k;
    if (e.in_pos_ == e.in_.size()) {
      std::string().swap(e.in_); // a ClientHello's worth, not kept for the connection's life
      e.in_pos_ = 0;
    }
    return static_cast<int>(k);
  }
  if (e.wake_pos_ < e.wake_len_) {
    std::size_t k = std::min<std::size_t>(n, e.wake_len_ - e.wake_pos_);
    std::memcpy(data, e.wake_.data() + e.wake_pos_, k);
    e.wake_pos_ = static_cast<std::uint8_t>(e.wake_pos_ + k);
    return static_cast<int>(k); // the socket's rest, if any, at the next read
  }
  int got = e.read_socket(data, n);
  if (got < 0 && (e.errno_ == EAGAIN || e.errno_ == EWOULDBLOCK)) {
    e.errno_ = 0;
    BIO_set_retry_read(bio);
  }
  return got;
}

int tls_engine::read_socket(char* data, int n) {
  if (fd_ == in_memory) {
    errno_ = EAGAIN;
    return -1;
  }
  if (fd_ < 0) {
    errno_ = EBADF;
    return -1;
  }
  for (;;) {
    ssize_t got = ::recv(fd_, data, static_cast<std::size_t>(n), MSG_DONTWAIT);
    if (got >= 0) {
      peer_eof_ = got == 0;
      drained_ = got < n; // fewer than asked: the kernel had no more
      return static_cast<int>(got);
    }
    if (errno != EINTR) {
      errno_ = errno;
      drained_ = errno == EAGAIN || errno == EWOULDBLOCK;
      return -1;
    }
  }
}

int tls_engine::bio_write(BIO* bio, const char* data, int n) {
  BIO_clear_retry_flags(bio);
  tls_engine& e = *engine_of(bio);
  if (n <= 0) {
    return 0;
  }
  // Behind output already waiting, in order; otherwise straight to the kernel.
  int sent = e.flushing_ || !e.out_.empty() ? 0 : e.write_socket(data, n);
  if (sent < 0) {
    return -1;
  }
  e.out_.append(data + sent, static_cast<std::size_t>(n - sent));
  return n;
}

int tls_engine::write_socket(const char* data, int n) {
  if (fd_ == in_memory) {
    return 0; // a kernel that takes nothing: the output waits for begin_flush
  }
  if (fd_ < 0) {
    errno_ = EBADF;
    return -1;
  }
  for (;;) {
    ssize_t sent = ::send(fd_, data, static_cast<std::size_t>(n), MSG_DONTWAIT | MSG_NOSIGNAL);
    if (sent >= 0) {
      return static_cast<int>(sent);
    }
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      return 0;
    }
    if (errno != EINTR) {
      errno_ = errno;
      return -1;
    }
  }
}

long tls_engine::bio_ctrl(BIO* bio, int cmd, long, void*) {
  switch (cmd) {
  case BIO_CTRL_FLUSH:
    return 1; // what the kernel did not take is in out_, flushed by tls_stream
  case BIO_CTRL_EOF:
    return engine_of(bio)->peer_eof_ ? 1 : 0;
  default:
    return 0;
  }
}

// -- steps ----------------------------------------------------------------------------------

/// SSL_get_error needs an empty queue; anything else on this thread may have
/// left an error there. Peeking first is cheaper than clearing an empty queue.
void tls_engine::clear_errors() {
  if (ERR_peek_error() != 0) {
    ERR_clear_error();
  }
}

tls_engine::result tls_engine::outcome(int ret) {
  int err = SSL_get_error(ssl_, ret);
  result r;
  switch (err) {
  case SSL_ERROR_NONE:
    r.bytes = ret > 0 ? static_cast<std::size_t>(ret) : 0;
    break;
  case SSL_ERROR_WANT_READ:
    r.want_input = true;
    break;
  case SSL_ERROR_ZERO_RETURN:
    r.ec = boost::asio::error::eof;
    break;
  case SSL_ERROR_SYSCALL:
    r.ec = errno_ != 0 ? boost::system::error_code(errno_, boost::system::system_category())
                       : boost::system::error_code(ssl_error::stream_truncated);
    break;
  default: {
    unsigned long code = ERR_peek_last_error();
    if (ERR_GET_REASON(code) == SSL_R_UNEXPECTED_EOF_WHILE_READING) {
      r.ec = ssl_error::stream_truncated;
    } else if (code == 0) {
      // SSL_ERROR_WANT_WRITE and the like, which this BIO never asks for:
      // an error all the same, never a silent "done, 0 bytes".
      r.ec = ssl_error::unspecified_system_error;
    } else {
      r.ec = boost::system::error_code(static_cast<int>(code),
                                       boost::asio::error::get_ssl_category());
    }
  }
  }
  if (r.ec) {
    ERR_clear_error(); // the next step on this thread starts from an empty queue
  }
  return r;
}

tls_engine::result tls_engine::handshake() {
  clear_errors();
  errno_ = 0;
  return outcome(SSL_do_handshake(ssl_));
}

tls_engine::result tls_engine::read(void* data, std::size_t n) {
  clear_errors();
  errno_ = 0;
  return outcome(SSL_read(ssl_, data, static_cast<int>(std::min<std::size_t>(n, INT_MAX))));
}

tls_engine::result tls_engine::write(const void* data, std::size_t n) {
  clear_errors();
  errno_ = 0;
  return outcome(SSL_write(ssl_, data, static_cast<int>(std::min<std::size_t>(n, INT_MAX))));
}

tls_engine::result tls_engine::shutdown() {
  clear_errors();
  errno_ = 0;
  if (!shutdown_sent_) {
    shutdown_sent_ = true;
    int ret = SSL_shutdown(ssl_);
    if (ret == 1) {
      return {};
    }
    if (ret < 0) {
      return outcome(ret);
    }
  }
  // Ours is sent: read what the peer still sends until its close_notify.
  char drop[512];
  for (;;) {
    result r = read(drop, sizeof drop);
    if (r.ec == boost::asio::error::eof) {
      return {};
    }
    if (r.ec || r.want_input) {
      return r;
    }
  }
}

void tls_engine::took_wake_bytes(std::size_t n) {
  wake_pos_ = 0;
  wake_len_ = static_cast<std::uint8_t>(std::min(n, wake_.size()));
  drained_ = n < wake_.size(); // a short read: the kernel had no more
}

bool tls_engine::may_have_input() const {
  return !drained_ || wake_pos_ < wake_len_ || in_pos_ < in_.size() || SSL_has_pending(ssl_) == 1;
}

const std::string& tls_engine::begin_flush() {
  flushing_ = true;
  sending_.swap(out_);
  return sending_;
}

void tls_engine::end_flush() {
  flushing_ = false;
  std::string().swap(sending_);
}

} // namespace solod
