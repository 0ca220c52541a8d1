// ipsec::EspDevice: the running ESP data plane of one IPsec tunnel, the
// counterpart of tunnel::Device for WireGuard. It owns the IPsec TUN device
// (its own interface: one PacketPath carries one protocol), the UDP sockets
// on port 4500 (one per worker, ESP and NAT-T IKE, RFC 3948) and, optionally,
// the port-500 socket for IKE before NAT-T; the cryptokey table (static and
// learned allowed-ips of the IPsec peers), the SAD, and the worker threads
// running the shared tunnel::PacketPath with EspProtocol.
//
// Control plane (the daemon's event loop): the IKE engine installs SAs
// through sa_sink(), sends through ike_sender(), and is fed by drain_ike(),
// which takes the datagrams the workers queued from port 4500 and reads the
// port-500 socket. set_ike_notify() says when port 4500 queued something;
// ike500_fd() is pollable for port 500.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <thread>
#include <vector>

#include "ipsec/esp_protocol.hpp"
#include "ipsec/ike_io.hpp"
#include "ipsec/sad.hpp"
#include "tunnel/cryptokey.hpp"
#include "tunnel/packet_path.hpp"
#include "tunnel/time_source.hpp"

namespace ferry::ipsec {

struct EspDeviceConfig {
  size_t mtu = 1400;                         // of the IPsec TUN interface
  const tunnel::TimeSource* time = nullptr;  // default: the system clocks
};

class EspDevice {
 public:
  // `ike500` may be null (NAT-T only: everything on port 4500).
  EspDevice(EspDeviceConfig cfg, std::unique_ptr<tunnel::TunDevice> tun,
            std::unique_ptr<tunnel::UdpTransport> natt,
            std::unique_ptr<tunnel::UdpTransport> ike500, size_t workers);
  ~EspDevice();
  EspDevice(const EspDevice&) = delete;
  EspDevice& operator=(const EspDevice&) = delete;

  void start();  // worker threads
  void stop();
  // Tests without threads: one TUN batch and one UDP batch of worker i.
  size_t step(size_t worker);

  size_t workers() const { return path_->workers(); }
  uint16_t natt_port() const { return natt_->port(); }
  tunnel::CryptokeyTable& routes() { return routes_; }
  Sad& sad() { return sad_; }
  ChildSaSink& sa_sink() { return sad_; }
  IkeSender& ike_sender() { return *sender_; }
  const tunnel::DropCounters& drops() const { return drops_; }
  uint64_t keepalives() const { return proto_->keepalives(); }
  uint64_t ike_queue_drops() const { return inbox_.dropped(); }

  // IKE datagrams received since the last call, port 4500 (natt true, marker stripped)
  // then port 500; control-plane thread.
  void drain_ike(const std::function<void(std::span<const uint8_t>, const tunnel::UdpEndpoint&,
                                          bool natt)>& fn);
  void set_ike_notify(std::function<void()> fn) { inbox_.set_notify(std::move(fn)); }
  int ike500_fd() const;  // -1 without a port-500 socket

 private:
  void worker_loop(size_t i);

  const tunnel::TimeSource& time_;
  std::unique_ptr<tunnel::TunDevice> tun_;
  std::unique_ptr<tunnel::UdpTransport> natt_, ike500_;
  tunnel::CryptokeyTable routes_;
  tunnel::DropCounters drops_;
  Sad sad_;
  IkeInbox inbox_;
  std::unique_ptr<EspProtocol> proto_;
  std::unique_ptr<tunnel::PacketPath> path_;
  std::unique_ptr<IkeSocketSender> sender_;
  std::vector<uint8_t> ike_buf_;  // port-500 receive buffer (control plane)
  int stop_fd_ = -1;
  std::atomic<bool> running_{false};
  std::vector<std::thread> threads_;
};

}  // namespace ferry::ipsec
