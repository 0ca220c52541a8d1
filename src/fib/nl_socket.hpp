// Netlink transport: a non-blocking NETLINK_ROUTE socket (libmnl) driven by
// the control plane's Asio io_context, and a client that matches replies to
// requests by sequence number.
//
// Data flow: a caller builds one or more requests into a buffer (usually an
// mnl_nlmsg_batch), NetlinkClient::request() sends them in one sendmsg and
// remembers the sequence range; when the socket becomes readable every
// datagram is parsed (parse_netlink) and each NLMSG_ERROR is matched to its
// request by nlmsg_seq. Requests are sent with NLM_F_ACK only on the last
// message of a batch: the kernel processes a batch in order and replies to a
// message only if it failed or asked for an ACK, so the final ACK proves that
// every earlier message without an error reply succeeded. This keeps the
// receive queue small when installing a million routes. If the socket
// overruns (ENOBUFS) replies may be lost, so every outstanding request fails
// with -ENOBUFS and the caller retries (route replace/delete are idempotent).
// Dumps collect their messages until NLMSG_DONE. Messages with a sequence
// number nobody waits for (multicast notifications) go to a notify handler.
// Reading is bounded per handler (a number of datagrams and a time budget):
// a burst of notifications (one datagram per route) is read in slices that
// are re-posted to the io_context, so timers (BFD) and other sockets run in
// between instead of stalling behind thousands of routes.
#pragma once

// A C++ standard header first: Asio's config must see libstdc++'s macros
// (_GLIBCXX_HAVE_ALIGNED_ALLOC) in every translation unit, or its allocator
// differs between TUs (ASan: alloc-dealloc-mismatch).
#include <cstddef>

#include <asio/io_context.hpp>
#include <asio/posix/stream_descriptor.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <span>
#include <vector>

#include "common/log.hpp"
#include "common/result.hpp"
#include "fib/nl_codec.hpp"

struct mnl_socket;

namespace ferry::fib {

class NetlinkSocket {
 public:
  using DataHandler = std::function<void(std::span<const uint8_t>)>;
  using ErrorHandler = std::function<void(int err)>;  // negative errno, e.g. -ENOBUFS

  explicit NetlinkSocket(asio::io_context& io);
  ~NetlinkSocket();
  NetlinkSocket(const NetlinkSocket&) = delete;
  NetlinkSocket& operator=(const NetlinkSocket&) = delete;

  // Opens and binds the socket; groups are RTNLGRP_* numbers to join.
  // rcvbuf is forced with SO_RCVBUFFORCE when privileged.
  Result<void> open(const std::vector<unsigned>& groups = {}, int rcvbuf = 8 << 20);
  void start(DataHandler on_data, ErrorHandler on_error);
  // 0 or a negative errno.
  int send(std::span<const uint8_t> bytes);
  void close();
  bool is_open() const { return nl_ != nullptr; }
  // Work per handler: at most this many datagrams and about this much time,
  // then the rest is read by a handler posted behind whatever else is ready.
  void set_budget(unsigned datagrams, std::chrono::microseconds time) {
    budget_datagrams_ = datagrams ? datagrams : 1;
    budget_time_ = time;
  }
  uint64_t yields() const { return yields_; }

 private:
  void arm();
  void on_readable(uint64_t gen);
  bool drain();  // true: budget spent, more may be waiting

  mnl_socket* nl_ = nullptr;
  asio::posix::stream_descriptor sd_;
  DataHandler on_data_;
  ErrorHandler on_error_;
  std::vector<uint8_t> rxbuf_;
  unsigned budget_datagrams_ = 256;
  std::chrono::microseconds budget_time_{2000};
  uint64_t yields_ = 0;
  uint64_t gen_ = 0;  // bumped by close(): handlers of an earlier socket stop
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

class NetlinkClient {
 public:
  // One NlAck per request message, in sequence order.
  using AckHandler = std::function<void(std::vector<NlAck>)>;
  // error: 0 or negative errno; messages: the dump's content.
  using DumpHandler = std::function<void(int error, std::vector<NlMessage> messages)>;
  using NotifyHandler = std::function<void(const NlMessage&)>;

  struct Counters {
    uint64_t requests = 0;
    uint64_t batches = 0;
    uint64_t errors = 0;     // error replies
    uint64_t overruns = 0;   // ENOBUFS on the socket
    uint64_t malformed = 0;  // unparseable kernel messages
    uint64_t unmatched = 0;  // replies matching no request
  };

  explicit NetlinkClient(asio::io_context& io);
  Result<void> open(const std::vector<unsigned>& groups = {});
  void close() { sock_.close(); }

  // Reserves n consecutive sequence numbers and returns the first.
  uint32_t alloc_seq(uint32_t n);
  // Sends `bytes`, holding requests with sequence numbers first..first+count-1,
  // each of which the kernel acknowledges or fails (see the file comment).
  // The handler always runs, later, from the io_context.
  void request(std::span<const uint8_t> bytes, uint32_t first_seq, uint32_t count, AckHandler h);
  // With on_message, each dump message is handed over as it arrives (in
  // order with notifications on the same socket) and the handler gets none.
  void dump(std::span<const uint8_t> bytes, uint32_t seq, DumpHandler h,
            NotifyHandler on_message = {});
  void set_notify_handler(NotifyHandler h) { notify_ = std::move(h); }
  // Called on ENOBUFS (after outstanding requests were failed).
  void set_overrun_handler(std::function<void()> h) { on_overrun_ = std::move(h); }

  // The bookkeeping half of request(): waits for the replies of requests
  // first_seq..first_seq+count-1 already sent. Public for tests, which feed
  // replies through handle_datagram() and socket errors (negative errno)
  // through handle_error().
  void expect(uint32_t first_seq, uint32_t count, AckHandler h);
  void handle_datagram(std::span<const uint8_t> data) { on_data(data); }
  void handle_error(int err) { on_error(err); }

  const Counters& counters() const { return counters_; }
  asio::io_context& io_context() { return io_; }
  NetlinkSocket& socket() { return sock_; }
  const NetlinkSocket& socket() const { return sock_; }
  size_t outstanding() const { return batches_.size() + dumps_.size(); }

 private:
  struct Batch {
    uint32_t count = 0;
    std::vector<NlAck> acks;
    AckHandler handler;
  };
  struct Dump {
    std::vector<NlMessage> messages;
    bool interrupted = false;
    DumpHandler handler;
    NotifyHandler on_message;
  };
  void on_data(std::span<const uint8_t> data);
  void on_error(int err);
  void handle(NlMessage&& m);
  void fail_all(int err);

  asio::io_context& io_;
  NetlinkSocket sock_;
  uint32_t next_seq_ = 1;
  std::map<uint32_t, Batch> batches_;  // by first sequence number
  std::map<uint32_t, Dump> dumps_;
  NotifyHandler notify_;
  std::function<void()> on_overrun_;
  Counters counters_;
  RateLimitedLog log_limit_;
};

}  // namespace ferry::fib
