#include "bmp/connection.hpp"

#include <array>
#include <chrono>

namespace ferry::bmp {

namespace {

constexpr auto kConnectTimeout = std::chrono::seconds(10);
// close() while a write is in flight: how long the Termination may wait for it.
constexpr auto kLingerTimeout = std::chrono::seconds(5);

asio::ip::address to_asio(const IpAddress& a) {
  if (a.is_v4()) {
    asio::ip::address_v4::bytes_type b;
    std::copy(a.bytes(), a.bytes() + 4, b.begin());
    return asio::ip::address_v4(b);
  }
  asio::ip::address_v6::bytes_type b;
  std::copy(a.bytes(), a.bytes() + 16, b.begin());
  return asio::ip::address_v6(b);
}

// Shared with the pending handlers, which check `open` so that nothing is
// reported after close() or destruction.
struct TcpState {
  explicit TcpState(asio::io_context& io, ConnectionEvents& e) : sock(io), timer(io), events(e) {}
  asio::ip::tcp::socket sock;
  asio::steady_timer timer;
  ConnectionEvents& events;
  bool open = true;
  bool writing = false;  // a write is in flight: nothing else may go out meanwhile
  bool closing = false;  // closed by the owner while writing: `tail` goes out after it
  std::vector<uint8_t> tail;
  std::array<uint8_t, 512> sink{};

  void fail(const std::string& why) {
    if (!open) return;
    open = false;
    asio::error_code ec;
    sock.close(ec);
    timer.cancel();
    events.failed(why);
  }
};

// The in-flight write of a closed connection completed: the tail, then close.
void finish_close(const std::shared_ptr<TcpState>& st, asio::error_code ec) {
  auto done = [st](asio::error_code, size_t) {
    asio::error_code ignore;
    st->sock.close(ignore);
    st->timer.cancel();
  };
  if (ec || st->tail.empty()) return done(ec, 0);
  asio::async_write(st->sock, asio::buffer(st->tail), done);
}

void read_discard(const std::shared_ptr<TcpState>& st) {
  st->sock.async_read_some(asio::buffer(st->sink), [st](asio::error_code ec, size_t) {
    if (!st->open) return;
    if (ec)
      return st->fail(ec == asio::error::eof ? "station closed the connection"
                                             : "read: " + ec.message());
    read_discard(st);
  });
}

class TcpConnection final : public Connection {
 public:
  TcpConnection(asio::io_context& io, const IpAddress& addr, uint16_t port, ConnectionEvents& e)
      : st_(std::make_shared<TcpState>(io, e)) {
    auto st = st_;
    st->timer.expires_after(kConnectTimeout);
    st->timer.async_wait([st](asio::error_code ec) {
      if (!ec) st->fail("connect: timed out");
    });
    st->sock.async_connect(asio::ip::tcp::endpoint(to_asio(addr), port), [st](asio::error_code ec) {
      if (!st->open) return;
      if (ec) return st->fail("connect: " + ec.message());
      st->timer.cancel();
      asio::error_code ignore;
      st->sock.set_option(asio::ip::tcp::no_delay(true), ignore);
      read_discard(st);
      st->events.connected();
    });
  }
  ~TcpConnection() override {
    if (!st_->closing) shut();
  }

  void write(std::vector<uint8_t> data) override {
    auto st = st_;
    auto buf = std::make_shared<std::vector<uint8_t>>(std::move(data));
    st->writing = true;
    asio::async_write(st->sock, asio::buffer(*buf), [st, buf](asio::error_code ec, size_t) {
      st->writing = false;
      if (st->closing) return finish_close(st, ec);
      if (!st->open) return;
      if (ec) return st->fail("write: " + ec.message());
      st->events.written();
    });
  }

  void close(std::span<const uint8_t> last) override {
    if (!st_->open) return shut();
    if (st_->writing && !last.empty()) {
      // The last message must not cut into the one being written: it follows it,
      // for at most kLingerTimeout (a stuck station never takes it).
      st_->open = false;
      st_->closing = true;
      st_->tail.assign(last.begin(), last.end());
      auto st = st_;
      st->timer.expires_after(kLingerTimeout);
      st->timer.async_wait([st](asio::error_code ec) {
        if (ec) return;
        asio::error_code ignore;
        st->sock.close(ignore);
      });
      return;
    }
    if (!last.empty()) {
      asio::error_code ec;
      st_->sock.non_blocking(true, ec);
      if (!ec) st_->sock.write_some(asio::buffer(last.data(), last.size()), ec);
    }
    shut();
  }

 private:
  void shut() {
    st_->open = false;
    asio::error_code ec;
    st_->sock.close(ec);
    st_->timer.cancel();
  }
  std::shared_ptr<TcpState> st_;
};

}  // namespace

Connector tcp_connector(asio::io_context& io) {
  return [&io](const IpAddress& addr, uint16_t port, ConnectionEvents& e) {
    return std::unique_ptr<Connection>(std::make_unique<TcpConnection>(io, addr, port, e));
  };
}

}  // namespace ferry::bmp
