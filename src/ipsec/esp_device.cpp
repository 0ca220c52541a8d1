#include "ipsec/esp_device.hpp"

#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>

namespace ferry::ipsec {

namespace {
// Workers: the smaller of the requested count, TUN queues and UDP sockets (as PacketPath).
size_t worker_count(size_t want, tunnel::TunDevice& tun, tunnel::UdpTransport& udp) {
  return std::max<size_t>(1, std::min({want, tun.queue_count(), udp.socket_count()}));
}
}  // namespace

EspDevice::EspDevice(EspDeviceConfig cfg, std::unique_ptr<tunnel::TunDevice> tun,
                     std::unique_ptr<tunnel::UdpTransport> natt,
                     std::unique_ptr<tunnel::UdpTransport> ike500, size_t workers)
    : time_(cfg.time ? *cfg.time : tunnel::system_time()),
      tun_(std::move(tun)),
      natt_(std::move(natt)),
      ike500_(std::move(ike500)),
      sad_(worker_count(workers, *tun_, *natt_)) {
  const size_t n = sad_.workers();
  proto_ = std::make_unique<EspProtocol>(sad_, inbox_, drops_, n);
  path_ = std::make_unique<tunnel::PacketPath>(*proto_, *tun_, *natt_, routes_, time_, drops_,
                                               cfg.mtu, n);
  sender_ = std::make_unique<IkeSocketSender>(
      ike500_ && ike500_->socket_count() ? &ike500_->socket(0) : nullptr, natt_->socket(0));
  ike_buf_.resize(65536);
  stop_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
}

EspDevice::~EspDevice() {
  stop();
  if (stop_fd_ >= 0) ::close(stop_fd_);
}

void EspDevice::start() {
  if (running_.exchange(true)) return;
  for (size_t i = 0; i < path_->workers(); ++i)
    threads_.emplace_back([this, i] { worker_loop(i); });
}

void EspDevice::stop() {
  if (!running_.exchange(false)) return;
  uint64_t one = 1;
  [[maybe_unused]] auto r = ::write(stop_fd_, &one, sizeof(one));
  for (auto& t : threads_) t.join();
  threads_.clear();
  uint64_t v;
  [[maybe_unused]] auto r2 = ::read(stop_fd_, &v, sizeof(v));  // a later start() waits again
}

size_t EspDevice::step(size_t i) {
  return path_->tun_step(i) + path_->udp_step(i);
}

void EspDevice::worker_loop(size_t i) {
  while (running_.load(std::memory_order_relaxed)) {
    if (step(i) == 0) path_->wait(i, stop_fd_);
  }
}

int EspDevice::ike500_fd() const {
  return ike500_ && ike500_->socket_count() ? ike500_->socket(0).fd() : -1;
}

void EspDevice::drain_ike(
    const std::function<void(std::span<const uint8_t>, const tunnel::UdpEndpoint&, bool)>& fn) {
  for (const auto& d : inbox_.drain()) fn(d.msg, d.from, true);
  if (!ike500_ || ike500_->socket_count() == 0) return;
  for (;;) {
    tunnel::UdpRecv r;
    r.buf = ike_buf_;
    if (ike500_->socket(0).recv_batch({&r, 1}) != 1) return;
    // Port 500 carries IKE only, without a marker (RFC 7296 §2.23); a GRO buffer
    // would be several messages, which IKE never sends back to back, so take the first.
    const size_t len = r.segment ? std::min<size_t>(r.segment, r.len) : r.len;
    fn(std::span<const uint8_t>(ike_buf_.data(), std::min(len, ike_buf_.size())), r.from, false);
  }
}

}  // namespace ferry::ipsec
