// Route programming: the narrow interface the desired-state Fib talks to
// (RouteKernel) and its netlink implementation (KernelFib).
//
// KernelFib turns RouteOps into RTM_NEWROUTE (create|replace) / RTM_DELROUTE
// messages carrying ferry's table, protocol number and metric, packs them into
// mnl_nlmsg_batch buffers and sends one batch at a time: the next batch goes
// out when the previous one's final ACK came back, so the socket's receive
// queue never holds more than one batch of replies. dump() reads the kernel's
// routes and keeps those of our protocol in our table (start-up reconcile and
// resync). Unit tests replace RouteKernel with a fake kernel.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "fib/nl_codec.hpp"
#include "fib/nl_socket.hpp"
#include "fib/types.hpp"

namespace ferry::fib {

struct RouteOp {
  enum class Kind : uint8_t { Replace, Delete };
  Kind kind = Kind::Replace;
  Prefix prefix;
  RouteTarget target;  // Replace only
  // Delete only: a metric other than ours, for routes a previous run left
  // with another configured metric.
  std::optional<uint32_t> metric;
};

class RouteKernel {
 public:
  // One NlAck per op, in order (error 0 = done, else negative errno).
  using ProgramDone = std::function<void(std::vector<NlAck>)>;
  // error 0 and our routes (table + protocol filtered), or a negative errno.
  using DumpDone = std::function<void(int error, std::vector<KernelRoute>)>;

  virtual ~RouteKernel() = default;
  // The callback runs later from the event loop, never inside the call.
  virtual void program(std::vector<RouteOp> ops, ProgramDone done) = 0;
  virtual void dump(DumpDone done) = 0;
};

// For `fib.install = false`: accepts every op without touching the kernel
// and owns no routes, so the Fib still shows the desired table.
class NoopRouteKernel : public RouteKernel {
 public:
  explicit NoopRouteKernel(asio::io_context& io) : io_(io) {}
  void program(std::vector<RouteOp> ops, ProgramDone done) override;
  void dump(DumpDone done) override;

 private:
  asio::io_context& io_;
};

struct KernelFibOptions {
  RouteKeys keys;                  // table, protocol, metric
  size_t batch_bytes = 64 * 1024;  // sendmsg size limit per batch
};

class KernelFib : public RouteKernel {
 public:
  KernelFib(NetlinkClient& client, KernelFibOptions opts);
  ~KernelFib() override;

  void program(std::vector<RouteOp> ops, ProgramDone done) override;
  void dump(DumpDone done) override;

  const KernelFibOptions& options() const { return opts_; }

 private:
  struct Job;
  void send_next(std::shared_ptr<Job> job);

  NetlinkClient& client_;
  KernelFibOptions opts_;
  std::vector<uint8_t> buf_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace ferry::fib
