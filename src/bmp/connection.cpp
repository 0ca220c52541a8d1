#include "bmp/connection.hpp"

#include <array>
#include <chrono>

namespace ferry::bmp {

namespace {

constexpr auto kConnectTimeout = std::chrono::seconds(10);

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

void read_discard(const std::shared_ptr<TcpState>& st) {
  st->sock.async_read_some(asio::buffer(st->sink), [st](asio::error_code ec, size_t) {
    if (!st->open) return;
    if (ec) return st->fail(ec == asio::error::eof ? "station closed the connection"
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
    st->sock.async_connect(asio::ip::tcp::endpoint(to_asio(addr), port),
                           [st](asio::error_code ec) {
                             if (!st->open) return;
                             if (ec) return st->fail("connect: " + ec.message());
                             st->timer.cancel();
                             asio::error_code ignore;
                             st->sock.set_option(asio::ip::tcp::no_delay(true), ignore);
                             read_discard(st);
                             st->events.connected();
                           });
  }
  ~TcpConnection() override { shut(); }

  void write(std::vector<uint8_t> data) override {
    auto st = st_;
    auto buf = std::make_shared<std::vector<uint8_t>>(std::move(data));
    st->writing = true;
    asio::async_write(st->sock, asio::buffer(*buf),
                      [st, buf](asio::error_code ec, size_t) {
                        st->writing = false;
                        if (!st->open) return;
                        if (ec) return st->fail("write: " + ec.message());
                        st->events.written();
                      });
  }

  void close(std::span<const uint8_t> last) override {
    if (st_->open && !st_->writing && !last.empty()) {
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
