#include "bgp/tcp_link.hpp"

namespace ferry::bgp {

asio::ip::address to_asio(const IpAddress& a) {
  if (a.is_v4()) return asio::ip::address_v4(a.v4_host_order());
  asio::ip::address_v6::bytes_type b;
  std::memcpy(b.data(), a.bytes(), 16);
  return asio::ip::address_v6(b);
}

IpAddress from_asio(const asio::ip::address& a) {
  if (a.is_v4()) return IpAddress::v4(a.to_v4().to_uint());
  auto v6 = a.to_v6();
  if (v6.is_v4_mapped()) {
    return IpAddress::v4(asio::ip::make_address_v4(asio::ip::v4_mapped, v6).to_uint());
  }
  auto b = v6.to_bytes();
  return IpAddress::v6_bytes(b.data());
}

TcpLink::TcpLink(asio::ip::tcp::socket sock, LinkOwner* owner)
    : sock_(std::move(sock)), owner_(owner), linger_(sock_.get_executor()) {}

TcpLink::~TcpLink() {
  asio::error_code ec;
  sock_.close(ec);
}

void TcpLink::start_reading() {
  if (reading_) return;
  reading_ = true;
  do_read();
}

void TcpLink::do_read() {
  if (!owner_ || !sock_.is_open()) return;
  uint8_t* p = framer_.prepare(kReadChunk);
  sock_.async_read_some(
      asio::buffer(p, kReadChunk), [self = shared_from_this()](asio::error_code ec, size_t n) {
        if (!self->owner_) return;  // detached: the owner is gone
        if (ec) {
          self->framer_.commit(0);
          self->owner_->link_failed(ec == asio::error::eof ? "connection closed by peer"
                                                           : ec.message());
          return;
        }
        self->framer_.commit(n);
        Frame f;
        Notification err;
        while (self->owner_) {
          FrameStatus st = self->framer_.next(f, err);
          if (st == FrameStatus::NeedMore) break;
          if (st == FrameStatus::Error) {
            self->owner_->link_framing_error(err);
            return;
          }
          self->owner_->link_frame(f);
        }
        self->do_read();
      });
}

void TcpLink::flush() {
  if (!writing_ && !out_.empty()) do_write();
}

void TcpLink::do_write() {
  writing_ = true;
  inflight_.clear();
  std::swap(inflight_, out_);
  asio::async_write(sock_, asio::buffer(inflight_),
                    [self = shared_from_this()](asio::error_code ec, size_t) {
                      self->writing_ = false;
                      self->inflight_.clear();
                      if (ec) {
                        if (self->closing_) return self->finish_close();
                        if (self->owner_) self->owner_->link_failed(ec.message());
                        return;
                      }
                      if (!self->out_.empty()) return self->do_write();
                      if (self->closing_) return self->finish_close();
                      if (self->owner_) self->owner_->link_drained();
                    });
}

void TcpLink::close_with(std::vector<uint8_t> final_bytes) {
  owner_ = nullptr;
  closing_ = true;
  out_ = std::move(final_bytes);
  if (!sock_.is_open()) return;
  // Bound the time a peer that does not read can keep the socket around.
  linger_.expires_after(std::chrono::seconds(3));
  linger_.async_wait([self = shared_from_this()](asio::error_code ec) {
    if (!ec) self->finish_close();
  });
  if (!writing_) {
    if (out_.empty()) return finish_close();
    do_write();
  }
}

void TcpLink::close() {
  owner_ = nullptr;
  closing_ = true;
  out_.clear();
  finish_close();
}

void TcpLink::finish_close() {
  asio::error_code ec;
  linger_.cancel();
  if (sock_.is_open()) {
    sock_.shutdown(asio::ip::tcp::socket::shutdown_both, ec);
    sock_.close(ec);
  }
}

}  // namespace ferry::bgp
