// ReloadCoalescer: a burst of requests is one apply; a request during an apply
// is one more; a synchronous reload absorbs a queued one.
#include "daemon/reload_coalescer.hpp"

#include <gtest/gtest.h>

using namespace ferry::daemon;

TEST(ReloadCoalescer, BurstIsOneApply) {
  asio::io_context io;
  int applies = 0;
  ReloadCoalescer c(io, [&] { ++applies; });
  for (int i = 0; i < 5; ++i) c.request();
  io.run();
  EXPECT_EQ(applies, 1);
  EXPECT_EQ(c.coalesced(), 4u);
  // Later requests apply again.
  io.restart();
  c.request();
  io.run();
  EXPECT_EQ(applies, 2);
}

TEST(ReloadCoalescer, RequestsDuringAnApplyCauseExactlyOneMore) {
  asio::io_context io;
  int applies = 0;
  ReloadCoalescer* self = nullptr;
  ReloadCoalescer c(io, [&] {
    ++applies;
    if (applies == 1)
      for (int i = 0; i < 3; ++i) self->request();
  });
  self = &c;
  c.request();
  io.run();
  EXPECT_EQ(applies, 2);
  EXPECT_EQ(c.coalesced(), 2u);
}

TEST(ReloadCoalescer, SynchronousReloadAbsorbsAQueuedRequest) {
  asio::io_context io;
  int applies = 0;
  ReloadCoalescer c(io, [&] { ++applies; });
  c.request();
  c.absorb();  // `ferryctl reload` ran and read the newest file
  io.run();
  EXPECT_EQ(applies, 0);
  EXPECT_EQ(c.coalesced(), 1u);
  c.absorb();  // nothing queued: nothing to absorb
  EXPECT_EQ(c.coalesced(), 1u);
}
