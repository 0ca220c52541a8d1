// ipsec::IpsecTunnel: the module the daemon constructs from config::IpsecConfig,
// the IPsec counterpart of tunnel::Tunnel.
//
// Role and data flow: start() reads each peer's secrets (the pre-shared key
// file with the permission check of WireGuard keys, or PEM certificate, key
// and trust anchor), opens the IPsec TUN interface (its own, not WireGuard's:
// docs/architecture.md) with one queue per worker, UDP 4500 (one socket per
// worker, ESP and NAT-T IKE) and UDP 500, configures MTU/addresses/up, and
// starts an EspDevice with the peers' static allowed-ips. An ike::Engine
// negotiates the CHILD_SAs and installs them into the device's SAD. The
// engine runs on the control-plane thread: tick() every 100 ms and the IKE
// datagrams the device received (poll_ike()) are driven from the daemon's
// Asio loop by drive(), or called directly by tests with their own clock.
//
// Towards routing it behaves exactly like tunnel::Tunnel: a tunnel::View
// (ifindex, peers with their ids, names, static allowed-ips, endpoints) to
// the view listener whenever it changes, and apply_learned() for prefixes
// learned via a peer (ECMP sets included) in one cryptokey-table publish.
//
// Threading: every method on the control-plane thread; the data plane lives
// in the EspDevice's worker threads.
#pragma once

#include <asio.hpp>
#include <nlohmann/json.hpp>

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>

#include "common/result.hpp"
#include "config/config.hpp"
#include "ike/engine.hpp"
#include "ipsec/esp_device.hpp"
#include "tunnel/iface.hpp"
#include "tunnel/view.hpp"

namespace ferry::ipsec {

// A secret file's contents (a pre-shared key or a private key); refuses a file that
// group/others can access, as tunnel::read_secret_key_file does. A PSK's trailing
// newline is not part of it.
Result<std::string> read_secret_file(const std::string& path, bool strip_newline);

// Kernel access used by start(); each member defaults to the Linux implementation.
struct IpsecIo {
  std::function<Result<std::unique_ptr<tunnel::TunDevice>>(const std::string&, size_t)> open_tun;
  std::function<Result<std::unique_ptr<tunnel::UdpTransport>>(uint16_t port, size_t sockets)>
      open_udp;
  std::unique_ptr<tunnel::InterfaceConfigurator> iface;
  std::function<uint32_t(const std::string& name)> ifindex;
  uint16_t ike_port = 500, natt_port = 4500;  // RFC 7296 §2, RFC 3948 §2
  bool threads = true;  // false (tests): no worker threads; the test steps device()
};

class IpsecTunnel {
 public:
  explicit IpsecTunnel(config::IpsecConfig cfg, IpsecIo io = {});
  ~IpsecTunnel();

  Result<void> start();
  void stop();
  bool running() const { return device_ != nullptr; }

  // Runs the engine from `io`: a 100 ms tick and a wake-up whenever a worker
  // queued an IKE datagram (port 500 is read on the tick and on wake-ups).
  void drive(asio::io_context& io);
  // One round of the control plane: the IKE datagrams received so far, then timers.
  void poll_ike(ike::TimePoint now);
  void tick(ike::TimePoint now);

  std::optional<tunnel::PeerIndex> peer_id(const std::string& name) const;
  size_t apply_learned(std::span<const tunnel::LearnedChange> changes);
  const tunnel::View& view() const { return view_; }
  void set_view_listener(std::function<void(const tunnel::View&)> fn) { on_view_ = std::move(fn); }
  // A peer's IKE/CHILD SA came up or went down (DPD, Delete, auth failure).
  // (peer, up, reason); without a listener the change is logged here.
  void set_liveness_listener(
      std::function<void(const std::string&, bool up, const std::string& reason)> fn) {
    on_liveness_ = std::move(fn);
  }
  bool peer_up(const std::string& name) const;

  // `show tunnels` (kind "ipsec") and `clear tunnel NAME`.
  nlohmann::json show(ike::TimePoint now) const;
  Result<void> clear(const std::string& name, bool hard);

  EspDevice* device() { return device_.get(); }

 private:
  void publish_view();
  void arm_timer();
  void wait_ike500();
  void wake_from_worker();  // a worker queued an IKE datagram (any thread)

  config::IpsecConfig cfg_;
  IpsecIo io_;
  std::unique_ptr<EspDevice> device_;
  std::unique_ptr<ike::Engine> engine_;
  std::map<std::string, tunnel::PeerIndex> peers_;  // by name
  std::map<std::string, bool> up_;
  uint32_t ifindex_ = 0;
  tunnel::View view_;
  std::function<void(const tunnel::View&)> on_view_;
  std::function<void(const std::string&, bool, const std::string&)> on_liveness_;
  // drive(): the loop's timer and the workers' wake-up (coalesced by `wake_pending_`).
  // Set by drive(); read by the workers' wake-up (installed before they start).
  std::atomic<asio::io_context*> loop_{nullptr};
  std::unique_ptr<asio::steady_timer> timer_;
  std::unique_ptr<asio::posix::stream_descriptor> ike500_;  // a dup of the port-500 socket
  std::shared_ptr<std::atomic<bool>> wake_pending_ = std::make_shared<std::atomic<bool>>(false);
  std::shared_ptr<int> alive_ = std::make_shared<int>(0);  // posted handlers check it
};

}  // namespace ferry::ipsec
