#include "fib/nl_socket.hpp"

#include <libmnl/libmnl.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>
#include <unistd.h>

#include <asio/post.hpp>
#include <cerrno>
#include <cstring>

namespace ferry::fib {

// ---- NetlinkSocket -------------------------------------------------------------

NetlinkSocket::NetlinkSocket(asio::io_context& io) : sd_(io), rxbuf_(64 * 1024) {}

NetlinkSocket::~NetlinkSocket() {
  *alive_ = false;
  close();
}

Result<void> NetlinkSocket::open(const std::vector<unsigned>& groups, int rcvbuf) {
  close();
  nl_ = mnl_socket_open2(NETLINK_ROUTE, SOCK_NONBLOCK | SOCK_CLOEXEC);
  if (!nl_) return make_error(std::string("netlink socket: ") + std::strerror(errno));
  const int fd = mnl_socket_get_fd(nl_);
  int one = 1;
  // Small ACKs (no copy of the request) and extended error messages.
  setsockopt(fd, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof one);
  setsockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof one);
  if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof rcvbuf) != 0) {
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
  }
  if (mnl_socket_bind(nl_, 0, MNL_SOCKET_AUTOPID) < 0) {
    const int e = errno;
    close();
    return make_error(std::string("netlink bind: ") + std::strerror(e));
  }
  for (unsigned g : groups) {
    if (mnl_socket_setsockopt(nl_, NETLINK_ADD_MEMBERSHIP, &g, sizeof g) < 0) {
      const int e = errno;
      close();
      return make_error("netlink join group " + std::to_string(g) + ": " + std::strerror(e));
    }
  }
  asio::error_code ec;
  sd_.assign(fd, ec);
  if (ec) {
    close();
    return make_error("netlink assign: " + ec.message());
  }
  return {};
}

void NetlinkSocket::close() {
  if (!nl_) return;
  ++gen_;
  asio::error_code ec;
  sd_.cancel(ec);
  sd_.release();  // the fd belongs to the mnl_socket
  mnl_socket_close(nl_);
  nl_ = nullptr;
}

void NetlinkSocket::start(DataHandler on_data, ErrorHandler on_error) {
  on_data_ = std::move(on_data);
  on_error_ = std::move(on_error);
  arm();
}

void NetlinkSocket::arm() {
  if (!nl_) return;
  std::weak_ptr<bool> alive = alive_;
  sd_.async_wait(asio::posix::stream_descriptor::wait_read,
                 [this, alive, gen = gen_](asio::error_code ec) {
                   if (alive.expired() || ec) return;
                   on_readable(gen);
                 });
}

void NetlinkSocket::on_readable(uint64_t gen) {
  if (gen != gen_ || !nl_) return;
  const bool more = drain();
  if (gen != gen_ || !nl_) return;  // closed (or reopened, which arms itself) by a handler
  if (!more) {
    arm();
    return;
  }
  // Budget spent with data left: queue the rest behind the handlers that are
  // ready now (and the reactor's next poll, so expired timers run first).
  ++yields_;
  std::weak_ptr<bool> alive = alive_;
  asio::post(sd_.get_executor(), [this, alive, gen]() {
    if (alive.expired()) return;
    on_readable(gen);
  });
}

bool NetlinkSocket::drain() {
  const auto deadline = std::chrono::steady_clock::now() + budget_time_;
  const uint64_t gen = gen_;
  for (unsigned i = 0; i < budget_datagrams_; ++i) {
    if (!nl_ || gen != gen_) return false;
    if (i > 0 && std::chrono::steady_clock::now() >= deadline) return true;
    const ssize_t n = mnl_socket_recvfrom(nl_, rxbuf_.data(), rxbuf_.size());
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) return false;
      if (errno == EINTR) continue;
      const int e = errno;
      if (on_error_) on_error_(-e);
      if (e != ENOBUFS) return false;
      continue;
    }
    if (n == 0) return false;
    if (on_data_) on_data_(std::span<const uint8_t>(rxbuf_.data(), static_cast<size_t>(n)));
  }
  return nl_ != nullptr && gen == gen_;
}

int NetlinkSocket::send(std::span<const uint8_t> bytes) {
  if (!nl_) return -EBADF;
  for (;;) {
    const ssize_t n = mnl_socket_sendto(nl_, bytes.data(), bytes.size());
    if (n >= 0) return 0;
    if (errno == EINTR) continue;
    return -errno;
  }
}

// ---- NetlinkClient ---------------------------------------------------------------

NetlinkClient::NetlinkClient(asio::io_context& io) : io_(io), sock_(io) {}

Result<void> NetlinkClient::open(const std::vector<unsigned>& groups) {
  auto r = sock_.open(groups);
  if (!r) return r;
  sock_.start([this](std::span<const uint8_t> d) { on_data(d); }, [this](int e) { on_error(e); });
  return {};
}

uint32_t NetlinkClient::alloc_seq(uint32_t n) {
  // Sequence 0 is what the kernel uses for notifications; never hand it out.
  if (next_seq_ == 0 || next_seq_ + n < next_seq_) next_seq_ = 1;
  const uint32_t first = next_seq_;
  next_seq_ += n;
  return first;
}

void NetlinkClient::request(std::span<const uint8_t> bytes, uint32_t first_seq, uint32_t count,
                            AckHandler h) {
  ++counters_.batches;
  counters_.requests += count;
  const int err = sock_.send(bytes);
  if (err != 0) {
    std::vector<NlAck> acks(count, NlAck{err, "sendmsg failed"});
    asio::post(io_, [h = std::move(h), acks = std::move(acks)]() mutable { h(std::move(acks)); });
    return;
  }
  expect(first_seq, count, std::move(h));
}

void NetlinkClient::expect(uint32_t first_seq, uint32_t count, AckHandler h) {
  Batch b;
  b.count = count;
  b.acks.resize(count, NlAck{1, {}});  // 1: no reply yet
  b.handler = std::move(h);
  batches_[first_seq] = std::move(b);
}

void NetlinkClient::dump(std::span<const uint8_t> bytes, uint32_t seq, DumpHandler h,
                         NotifyHandler on_message) {
  const int err = sock_.send(bytes);
  if (err != 0) {
    asio::post(io_, [h = std::move(h), err]() { h(err, {}); });
    return;
  }
  Dump d;
  d.handler = std::move(h);
  d.on_message = std::move(on_message);
  dumps_[seq] = std::move(d);
}

void NetlinkClient::on_data(std::span<const uint8_t> data) {
  ParseResult pr;
  parse_netlink(data, pr);
  if (pr.malformed) {
    counters_.malformed += pr.malformed;
    if (log_limit_.allow())
      spdlog::warn("netlink: {} malformed message(s) from the kernel", pr.malformed);
  }
  for (auto& m : pr.messages) handle(std::move(m));
}

void NetlinkClient::handle(NlMessage&& m) {
  if (m.seq != 0) {
    if (auto it = dumps_.find(m.seq); it != dumps_.end()) {
      Dump& d = it->second;
      if (m.flags & NLM_F_DUMP_INTR) d.interrupted = true;
      const auto* done = std::get_if<NlDone>(&m.body);
      const auto* err = std::get_if<NlAck>(&m.body);
      if (done || err) {
        int e = done ? done->error : err->error;
        if (e == 0 && d.interrupted) e = -EINTR;  // inconsistent dump: caller redoes it
        auto h = std::move(d.handler);
        auto msgs = std::move(d.messages);
        dumps_.erase(it);
        h(e, std::move(msgs));
        return;
      }
      if (d.on_message) {
        d.on_message(m);
      } else {
        d.messages.push_back(std::move(m));
      }
      return;
    }
    if (auto* ack = std::get_if<NlAck>(&m.body)) {
      auto it = batches_.upper_bound(m.seq);
      if (it != batches_.begin()) {
        --it;
        Batch& b = it->second;
        const uint32_t idx = m.seq - it->first;
        if (idx < b.count) {
          if (ack->error != 0) ++counters_.errors;
          b.acks[idx] = std::move(*ack);
          if (idx == b.count - 1) {
            // The batch's final ACK: everything before it without a reply succeeded.
            for (auto& a : b.acks) {
              if (a.error == 1) a.error = 0;
            }
            auto h = std::move(b.handler);
            auto acks = std::move(b.acks);
            batches_.erase(it);
            h(std::move(acks));
          }
          return;
        }
      }
      ++counters_.unmatched;
      return;
    }
  }
  if (notify_) notify_(m);
}

void NetlinkClient::on_error(int err) {
  if (err == -ENOBUFS) {
    ++counters_.overruns;
    if (log_limit_.allow()) spdlog::warn("netlink: receive queue overrun, replies lost");
  } else if (log_limit_.allow()) {
    spdlog::warn("netlink: recv: {}", std::strerror(-err));
  }
  fail_all(err);
  if (err == -ENOBUFS && on_overrun_) on_overrun_();
}

void NetlinkClient::fail_all(int err) {
  auto batches = std::move(batches_);
  auto dumps = std::move(dumps_);
  batches_.clear();
  dumps_.clear();
  for (auto& [seq, b] : batches) {
    for (auto& a : b.acks) {
      if (a.error == 1) a = NlAck{err, "reply lost"};
    }
    b.handler(std::move(b.acks));
  }
  for (auto& [seq, d] : dumps) d.handler(err, {});
}

}  // namespace ferry::fib
