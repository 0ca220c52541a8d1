// Coalesces reload requests (SIGHUP bursts, a SIGHUP racing `ferryctl reload`).
//
// A request queues one apply on the event loop; requests that arrive while one
// is queued join it, so N requests in a burst cost one apply, and since the
// apply reads the file when it runs, it applies the newest content. A request
// made while an apply runs (from inside it) queues exactly one more. A
// synchronous reload (the control command) absorbs a queued request: it reads
// the newest file itself.
#pragma once

#include <asio.hpp>

#include <cstdint>
#include <functional>
#include <memory>

namespace ferry::daemon {

class ReloadCoalescer {
 public:
  ReloadCoalescer(asio::io_context& io, std::function<void()> apply);
  ~ReloadCoalescer();

  void request();
  // A reload is being applied right now by other means: a queued request is served by it.
  void absorb();
  // Requests that did not cause an apply of their own.
  uint64_t coalesced() const { return coalesced_; }

 private:
  void run();

  asio::io_context& io_;
  std::function<void()> apply_;
  bool queued_ = false;  // an apply is posted and has not started
  uint64_t coalesced_ = 0;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace ferry::daemon
