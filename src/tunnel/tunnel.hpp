// tunnel::Tunnel: the module the daemon constructs from config::TunnelConfig.
//
// Role and data flow: start() reads the private key (refusing a file that
// group/others can read), opens the TUN interface with one queue per worker
// and the UDP sockets, configures MTU/addresses/up, and starts a Device with
// the configured peers and their static allowed-ips. The routing layer then
// feeds prefixes learned via a peer (several peers for an ECMP best path)
// with add_learned/remove_learned, which are
// queued and published to the data plane in one cryptokey-table swap by
// commit_learned() (traffic keeps flowing on the old snapshot meanwhile).
// apply() reloads the peer list, endpoints, keepalives, preshared keys and
// static allowed-ips without restarting the device.
//
// Threading: every method runs on the control-plane thread (the daemon's Asio
// io_context); the data plane lives in Device's own threads.
// Private keys are never logged or shown.
#pragma once

#include <nlohmann/json.hpp>

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/result.hpp"
#include "config/config.hpp"
#include "ctl/registry.hpp"
#include "tunnel/cryptokey.hpp"
#include "tunnel/device.hpp"
#include "tunnel/iface.hpp"

namespace ferry::tunnel {

// Returns an error if `path` cannot be read or is accessible by group/others.
Result<Key> read_secret_key_file(const std::string& path);

// Kernel access used by Tunnel::start; each member defaults to the Linux implementation.
struct TunnelIo {
  std::function<Result<std::unique_ptr<TunDevice>>(const std::string& name, size_t queues)>
      open_tun;
  std::function<Result<std::unique_ptr<UdpTransport>>(uint16_t port, size_t sockets)> open_udp;
  std::unique_ptr<InterfaceConfigurator> iface;
};

class Tunnel {
 public:
  explicit Tunnel(config::TunnelConfig cfg, TunnelIo io = {});
  ~Tunnel();

  Result<void> start();
  void stop();
  bool running() const { return device_ != nullptr; }

  // Reload. Interface name, listen port, private key, MTU, addresses and workers need a
  // restart (an error says so); peers and their settings are applied live.
  Result<void> apply(const config::TunnelConfig& cfg);

  std::optional<PeerIndex> peer_id(const std::string& name) const;
  // Queued; commit_learned() publishes all queued changes at once. A learned prefix is
  // a set of peers (ECMP): add joins `peer` to it, remove takes `peer` out. At a prefix
  // that is a static allowed-ip the static owner wins (the learned set is kept aside
  // until the static entry is removed). Returns how many changes the data plane sees.
  void add_learned(PeerIndex peer, const Prefix& p);
  void remove_learned(PeerIndex peer, const Prefix& p);
  size_t commit_learned();
  // Drops every learned prefix of a peer (its routing session went down); publishes.
  void clear_learned(PeerIndex peer);

  // "show tunnels".
  nlohmann::json show() const;
  void register_commands(ctl::Registry& r);

  Device* device() { return device_.get(); }
  const config::TunnelConfig& config() const { return cfg_; }

 private:
  Result<void> add_peer(const config::TunnelPeerConfig& pc);

  config::TunnelConfig cfg_;
  TunnelIo io_;
  std::unique_ptr<Device> device_;
  std::map<std::string, PeerIndex> peers_;  // by name
  std::vector<AllowedChange> pending_;      // learned changes not yet committed
};

}  // namespace ferry::tunnel
