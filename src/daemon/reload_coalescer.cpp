#include "daemon/reload_coalescer.hpp"

namespace ferry::daemon {

ReloadCoalescer::ReloadCoalescer(asio::io_context& io, std::function<void()> apply)
    : io_(io), apply_(std::move(apply)) {}

ReloadCoalescer::~ReloadCoalescer() {
  alive_.reset();
}

void ReloadCoalescer::request() {
  if (queued_) {
    ++coalesced_;
    return;
  }
  queued_ = true;
  asio::post(io_, [this, w = std::weak_ptr<bool>(alive_)] {
    if (!w.expired()) run();
  });
}

void ReloadCoalescer::absorb() {
  if (!queued_) return;
  queued_ = false;
  ++coalesced_;
}

void ReloadCoalescer::run() {
  if (!queued_) return;  // absorbed by a synchronous reload
  queued_ = false;
  apply_();
}

}  // namespace ferry::daemon
