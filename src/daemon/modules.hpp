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
#include "fib/nl_socket.hpp"
#include "rib/rib.hpp"
#include "speaker/speaker.hpp"

namespace ferry::daemon {

class Modules {
 public:
  Modules(asio::io_context& io, const config::Config& cfg);
  ~Modules();

  Result<void> start();
  Result<void> apply(const config::Config& cfg);
  // Cease to BGP peers, AdminDown to BFD peers, kernel routes removed (unless
  // configured to keep them); done runs when all of that went out.
  void stop(const std::string& reason, std::function<void()> done);
  void register_commands(ctl::Registry& r);

 private:
  static rib::RibOptions rib_options(const config::Config& c);
  void sync_bfd_peers();

  asio::io_context& io_;
  config::Config cfg_;
  rib::Rib rib_;
  std::unique_ptr<fib::NetlinkClient> nl_;
  std::unique_ptr<fib::KernelFib> kfib_;
  std::unique_ptr<fib::Fib> fib_;
  std::unique_ptr<Routing> routing_;
  std::unique_ptr<speaker::Speaker> speaker_;
  std::unique_ptr<bfd::Bfd> bfd_;
};

}  // namespace ferry::daemon
