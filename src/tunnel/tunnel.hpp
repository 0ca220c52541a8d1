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
// What routing needs to know about the tunnel (its ifindex, each peer's id,
// name, static allowed-ips and current endpoint) is published as a tunnel::View
// value (view.hpp) to the view listener whenever it changes: after start(),
// after a successful apply(), and from poll() once the data plane roamed to a
// new endpoint (the data plane has no callback for that; the daemon polls).
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
#include <span>
#include <string>
#include <vector>

#include "common/result.hpp"
#include "config/config.hpp"
#include "ctl/registry.hpp"
#include "tunnel/cryptokey.hpp"
#include "tunnel/device.hpp"
#include "tunnel/iface.hpp"
#include "tunnel/view.hpp"

namespace ferry::tunnel {

// Returns an error if `path` cannot be read or is accessible by group/others.
Result<Key> read_secret_key_file(const std::string& path);

// Kernel access used by Tunnel::start; each member defaults to the Linux implementation.
struct TunnelIo {
  std::function<Result<std::unique_ptr<TunDevice>>(const std::string& name, size_t queues)>
      open_tun;
  std::function<Result<std::unique_ptr<UdpTransport>>(uint16_t port, size_t sockets)> open_udp;
  std::unique_ptr<InterfaceConfigurator> iface;
  // The interface index of the opened TUN device (0: unknown); read once at start().
  std::function<uint32_t(const std::string& name)> ifindex;
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
  // The routing layer's batch: queues every change in order and commits them in one publish.
  size_t apply_learned(std::span<const LearnedChange> changes);

  // The routing layer's view of the tunnel (see above), and who hears about changes.
  const View& view() const { return view_; }
  void set_view_listener(std::function<void(const View&)> fn) { on_view_ = std::move(fn); }
  // Re-reads the peers' endpoints from the data plane (roaming); publishes if they moved.
  void poll();

  // "show tunnels".
  nlohmann::json show() const;
  void register_commands(ctl::Registry& r);

  Device* device() { return device_.get(); }
  const config::TunnelConfig& config() const { return cfg_; }

 private:
  Result<void> add_peer(const config::TunnelPeerConfig& pc);
  // Builds the view from the running state; hands it to the listener if it changed.
  void publish_view();

  config::TunnelConfig cfg_;
  TunnelIo io_;
  std::unique_ptr<Device> device_;
  std::map<std::string, PeerIndex> peers_;  // by name
  std::vector<AllowedChange> pending_;      // learned changes not yet committed
  uint32_t ifindex_ = 0;                    // of the TUN device; set by start()
  View view_;                               // last published
  std::function<void(const View&)> on_view_;
};

}  // namespace ferry::tunnel
