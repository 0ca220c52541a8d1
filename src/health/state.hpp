// health::CheckState: the rise/fall hysteresis of one health check. A check
// starts down (a gateway must prove its LAN works before it attracts
// traffic), goes up after `rise` successes in a row and down after `fall`
// failures in a row. Pure logic, unit-tested without sockets.
#pragma once

#include <cstdint>
#include <string>

namespace ferry::health {

class CheckState {
 public:
  CheckState(uint32_t rise, uint32_t fall) : rise_(rise ? rise : 1), fall_(fall ? fall : 1) {}
  // Records one probe result; true if the state changed.
  bool record(bool ok) {
    if (ok) {
      fails_ = 0;
      if (!up_ && ++oks_ >= rise_) {
        up_ = true;
        oks_ = 0;
        return true;
      }
      return false;
    }
    oks_ = 0;
    if (up_ && ++fails_ >= fall_) {
      up_ = false;
      fails_ = 0;
      return true;
    }
    return false;
  }
  bool up() const { return up_; }

 private:
  uint32_t rise_, fall_;
  uint32_t oks_ = 0, fails_ = 0;
  bool up_ = false;
};

}  // namespace ferry::health
