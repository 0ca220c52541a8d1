// Where the data path reads the time. Device asks its TimeSource once per
// batch (steady clock: timers, keypair ages) and once per initiation (wall
// clock: the TAI64N timestamp, whitepaper §5.4.2). Production uses the
// system clocks; tests inject a manual clock so that hundreds of rekeys run
// in a fraction of a second and every interleaving is reproducible.
#pragma once

#include <chrono>

#include "tunnel/timers.hpp"

namespace ferry::tunnel {

class TimeSource {
 public:
  virtual ~TimeSource() = default;
  virtual TimePoint now() const = 0;
  virtual std::chrono::system_clock::time_point wall() const = 0;
};

// std::chrono::steady_clock and system_clock.
const TimeSource& system_time();

// A clock that moves only when told to; wall() follows now() from a fixed
// epoch, so TAI64N timestamps grow with the manual steady time.
class ManualTime : public TimeSource {
 public:
  TimePoint now() const override { return now_; }
  std::chrono::system_clock::time_point wall() const override {
    return wall_base_ +
           std::chrono::duration_cast<std::chrono::system_clock::duration>(now_.time_since_epoch());
  }
  void advance(Duration d) { now_ += d; }

 private:
  TimePoint now_ = TimePoint{} + std::chrono::hours(1);
  std::chrono::system_clock::time_point wall_base_ = std::chrono::system_clock::now();
};

}  // namespace ferry::tunnel
