#include "fib/kernel_fib.hpp"

#include <libmnl/libmnl.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>

#include <asio/post.hpp>
#include <cerrno>
#include <cstddef>
#include <cstring>

namespace ferry::fib {

struct KernelFib::Job {
  std::vector<RouteOp> ops;
  size_t next = 0;
  std::vector<NlAck> acks;
  ProgramDone done;
};

KernelFib::KernelFib(NetlinkClient& client, KernelFibOptions opts)
    : client_(client), opts_(opts), buf_(opts.batch_bytes + kMaxRouteMsg) {}

KernelFib::~KernelFib() {
  *alive_ = false;
}

namespace {
// nlmsg_flags of a message we built (host order, offset of struct nlmsghdr's field).
void set_ack_flag(uint8_t* msg, bool ack) {
  uint16_t flags;
  std::memcpy(&flags, msg + offsetof(struct nlmsghdr, nlmsg_flags), 2);
  flags = ack ? (flags | NLM_F_ACK) : (flags & ~NLM_F_ACK);
  std::memcpy(msg + offsetof(struct nlmsghdr, nlmsg_flags), &flags, 2);
}
}  // namespace

void KernelFib::program(std::vector<RouteOp> ops, ProgramDone done) {
  auto job = std::make_shared<Job>();
  job->acks.resize(ops.size());
  job->ops = std::move(ops);
  job->done = std::move(done);
  send_next(std::move(job));
}

void KernelFib::send_next(std::shared_ptr<Job> job) {
  if (job->next >= job->ops.size()) {
    // Always complete from the loop, never inside program().
    asio::post(client_.io_context(), [job]() { job->done(std::move(job->acks)); });
    return;
  }
  // Upper bound on messages per batch: the smallest route message is 40 bytes.
  const size_t max_msgs = std::min(job->ops.size() - job->next, opts_.batch_bytes / 40 + 1);
  const uint32_t seq0 = client_.alloc_seq(static_cast<uint32_t>(max_msgs));
  mnl_nlmsg_batch* b = mnl_nlmsg_batch_start(buf_.data(), opts_.batch_bytes);
  const size_t first = job->next;
  uint32_t count = 0;
  size_t last_off = 0;
  while (job->next < job->ops.size() && count < max_msgs) {
    const RouteOp& op = job->ops[job->next];
    const size_t off = mnl_nlmsg_batch_size(b);
    std::span<uint8_t> slot(buf_.data() + off, buf_.size() - off);
    const uint32_t seq = seq0 + count;
    const size_t len = op.kind == RouteOp::Kind::Replace
                           ? build_route_replace(slot, op.prefix, op.target, opts_.keys, seq)
                           : build_route_delete(slot, op.prefix,
                                                RouteKeys{opts_.keys.table, opts_.keys.protocol,
                                                          op.metric.value_or(opts_.keys.metric)},
                                                seq);
    if (len == 0) {
      // Not encodable (no next hop, too many next hops): fail this op only.
      job->acks[job->next] = NlAck{-EINVAL, "route cannot be encoded"};
      ++job->next;
      continue;
    }
    if (!mnl_nlmsg_batch_next(b)) break;  // batch full: this op starts the next batch
    set_ack_flag(slot.data(), false);
    last_off = off;
    ++count;
    ++job->next;
  }
  const size_t size = mnl_nlmsg_batch_size(b);
  mnl_nlmsg_batch_stop(b);
  if (count == 0) {
    send_next(std::move(job));  // everything left was unencodable
    return;
  }
  set_ack_flag(buf_.data() + last_off, true);
  std::weak_ptr<bool> alive = alive_;
  // Ops that failed to encode inside this range were skipped, so map acks back.
  std::vector<size_t> index;
  index.reserve(count);
  for (size_t i = first; i < job->next; ++i) {
    if (job->acks[i].error == 0) index.push_back(i);
  }
  client_.request(std::span<const uint8_t>(buf_.data(), size), seq0, count,
                  [this, alive, job, index = std::move(index)](std::vector<NlAck> acks) mutable {
                    for (size_t i = 0; i < acks.size() && i < index.size(); ++i) {
                      job->acks[index[i]] = std::move(acks[i]);
                    }
                    if (alive.expired()) {
                      for (size_t i = job->next; i < job->ops.size(); ++i) {
                        job->acks[i] = NlAck{-ECANCELED, "fib closed"};
                      }
                      job->done(std::move(job->acks));
                      return;
                    }
                    // Through the loop, so other sockets (route notifications
                    // of our own installs) are drained between batches.
                    asio::post(client_.io_context(), [this, alive, job]() mutable {
                      if (alive.expired()) {
                        for (size_t i = job->next; i < job->ops.size(); ++i) {
                          job->acks[i] = NlAck{-ECANCELED, "fib closed"};
                        }
                        job->done(std::move(job->acks));
                        return;
                      }
                      send_next(std::move(job));
                    });
                  });
}

void KernelFib::dump(DumpDone done) {
  uint8_t buf[64];
  const uint32_t seq = client_.alloc_seq(1);
  const size_t len = build_route_dump(buf, AF_UNSPEC, seq);
  const RouteKeys keys = opts_.keys;
  client_.dump(std::span<const uint8_t>(buf, len), seq,
               [keys, done = std::move(done)](int err, std::vector<NlMessage> msgs) {
                 std::vector<KernelRoute> routes;
                 if (err == 0) {
                   for (auto& m : msgs) {
                     auto* rm = std::get_if<RouteMessage>(&m.body);
                     if (!rm || !rm->is_new) continue;
                     const KernelRoute& r = rm->route;
                     if (r.table != keys.table || r.protocol != keys.protocol) continue;
                     if (r.rtm_flags & RTM_F_CLONED) continue;
                     routes.push_back(std::move(rm->route));
                   }
                 }
                 done(err, std::move(routes));
               });
}

void NoopRouteKernel::program(std::vector<RouteOp> ops, ProgramDone done) {
  asio::post(io_, [n = ops.size(), done = std::move(done)]() { done(std::vector<NlAck>(n)); });
}

void NoopRouteKernel::dump(DumpDone done) {
  asio::post(io_, [done = std::move(done)]() { done(0, {}); });
}

}  // namespace ferry::fib
