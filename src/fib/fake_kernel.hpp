// fib::FakeKernel: the one fake of fib::RouteKernel (test-only, header-only), for every unit
// test that needs a kernel route table (fib, routing, daemon).
//
// It keeps the interface's contract: program() and dump() never complete
// inside the call; their callbacks run later from the event loop, as with the
// real netlink socket. Tests that only look at the Fib's desired state need
// not run the loop at all. Failure injection: chosen prefixes fail a number of
// times, replies get lost (the kernel did the op but we never hear about it),
// dumps fail, replies are held until release_held().
#pragma once

#include <asio/io_context.hpp>
#include <asio/post.hpp>
#include <cerrno>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "fib/kernel_fib.hpp"

namespace ferry::fib {

// A kernel route table in memory (see above).
class FakeKernel : public RouteKernel {
 public:
  explicit FakeKernel(asio::io_context& io) : io_(io) {}

  void program(std::vector<RouteOp> ops, ProgramDone done) override {
    ++program_calls;
    std::vector<NlAck> acks;
    for (const auto& op : ops) {
      ops_log.push_back((op.kind == RouteOp::Kind::Replace ? "replace " : "delete ") +
                        op.prefix.str() +
                        (op.metric ? " metric " + std::to_string(*op.metric) : ""));
      if (op.metric) {
        acks.push_back(foreign.erase(op.prefix) ? NlAck{} : NlAck{-ESRCH, {}});
        continue;
      }
      if (lose_replies > 0) {
        --lose_replies;
        apply(op);  // the kernel did it, but we never hear about it
        acks.push_back(NlAck{-ENOBUFS, "reply lost"});
        continue;
      }
      if (auto it = fail.find(op.prefix); it != fail.end() && it->second > 0) {
        --it->second;
        acks.push_back(NlAck{-ENETUNREACH, "Nexthop has invalid gateway"});
        continue;
      }
      if (op.kind == RouteOp::Kind::Delete && !routes.count(op.prefix)) {
        acks.push_back(NlAck{-ESRCH, {}});
        continue;
      }
      apply(op);
      acks.push_back(NlAck{});
    }
    if (hold) {
      held.push_back([done, acks]() mutable { done(std::move(acks)); });
      return;
    }
    asio::post(io_, [done, acks]() mutable { done(std::move(acks)); });
  }

  void dump(DumpDone done) override {
    ++dumps;
    if (dump_errors > 0) {
      --dump_errors;
      asio::post(io_, [done]() { done(-EINTR, {}); });
      return;
    }
    std::vector<KernelRoute> out;
    for (const auto& [p, t] : routes) {
      KernelRoute kr;
      kr.prefix = p;
      kr.protocol = 200;
      kr.metric = 20;
      kr.target = t;
      out.push_back(kr);
    }
    for (const auto& [p, m] : foreign) {
      KernelRoute kr;
      kr.prefix = p;
      kr.protocol = 200;
      kr.metric = m;
      kr.target = RouteTarget::blackhole();
      out.push_back(kr);
    }
    asio::post(io_, [done, out]() mutable { done(0, std::move(out)); });
  }

  void release_held() {
    auto h = std::move(held);
    held.clear();
    for (auto& f : h) asio::post(io_, f);
  }

  std::map<Prefix, RouteTarget> routes;
  std::map<Prefix, int> fail;          // prefix -> how many more times to fail
  std::map<Prefix, uint32_t> foreign;  // our protocol, another metric
  int lose_replies = 0;
  int dump_errors = 0;
  bool hold = false;
  std::vector<std::function<void()>> held;
  std::vector<std::string> ops_log;
  int program_calls = 0;
  int dumps = 0;

 private:
  void apply(const RouteOp& op) {
    if (op.kind == RouteOp::Kind::Replace) {
      routes[op.prefix] = op.target;
    } else {
      routes.erase(op.prefix);
    }
  }
  asio::io_context& io_;
};

}  // namespace ferry::fib
