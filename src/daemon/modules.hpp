// The protocol modules of one ferryd and how they are wired. Created and
// owned by Daemon; everything here runs on the control-plane io_context.
//
//   speaker (BGP sessions) <-> rib (decision, policy) -> routing -> fib (kernel)
//                                                                -> tunnel (cryptokey)
//   bfd --down--> speaker.bfd_down (tear the session down before the hold timer)
//   kernel addresses/routes -> routing (next-hop resolution) and rib (redistribution)
#pragma once

#include <asio.hpp>

#include <functional>
#include <memory>
#include <string>

#include "bfd/bfd.hpp"
#include "common/result.hpp"
#include "config/config.hpp"
#include "ctl/registry.hpp"
#include "daemon/routing.hpp"
#include "fib/fib.hpp"
#include "fib/kernel_fib.hpp"
#include "fib/kernel_routes.hpp"
#include "fib/nl_socket.hpp"
#include "rib/rib.hpp"
#include "speaker/speaker.hpp"
#include "tunnel/tunnel.hpp"

namespace ferry::daemon {

class TunnelAdapter;

class Modules : public fib::RouteSourceListener {
 public:
  Modules(asio::io_context& io, const config::Config& cfg);
  ~Modules() override;

  Result<void> start();
  Result<void> apply(const config::Config& cfg);
  // Cease to BGP peers, AdminDown to BFD peers, kernel routes removed (unless
  // configured to keep them); done runs when all of that went out.
  void stop(const std::string& reason, std::function<void()> done);
  void register_commands(ctl::Registry& r);

 private:
  static rib::RibOptions rib_options(const config::Config& c);
  // Kernel route sources: connected networks feed next-hop resolution; both
  // connected and foreign kernel routes feed redistribution into BGP.
  void on_route_add(const fib::RedistRoute& r) override;
  void on_route_remove(const fib::RedistRoute& r) override;
  bool redistributes(const fib::RedistRoute& r) const;
  void refresh_connected();
  void sync_bfd_peers();

  asio::io_context& io_;
  config::Config cfg_;
  rib::Rib rib_;
  std::unique_ptr<fib::NetlinkClient> nl_;
  std::unique_ptr<fib::KernelFib> kfib_;
  std::unique_ptr<fib::Fib> fib_;
  std::unique_ptr<tunnel::Tunnel> tunnel_;
  std::unique_ptr<TunnelAdapter> tunnel_adapter_;
  std::unique_ptr<fib::KernelRoutes> kernel_routes_;
  std::unique_ptr<Routing> routing_;
  std::unique_ptr<speaker::Speaker> speaker_;
  std::unique_ptr<bfd::Bfd> bfd_;
};

}  // namespace ferry::daemon
