// One monitoring station: its connection, bounded send queue, initial dump
// walks, Stats Report timer and reconnect back-off (see exporter.hpp for the
// data flow). Owned by the Exporter; everything runs on the control-plane loop.
//
// Queue: `pending_` collects whole BMP messages; when no write is in flight it
// is handed to the connection in one piece. queued() counts both. The dump
// walks add more only while queued() is under kLowWater (or half the limit),
// so a dump never fills the queue; incremental messages are appended whatever the size, and
// past queue_limit the connection is dropped and the station resyncs later.
#pragma once

#include <asio.hpp>

#include <chrono>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "bmp/connection.hpp"
#include "bmp/exporter.hpp"

namespace ferry::bmp {

class Station final : public ConnectionEvents {
 public:
  enum class State { Connecting, Up, Backoff, Stopped };
  static constexpr size_t kLowWater = 256 * 1024;
  static constexpr size_t kWalkBudget = 4096;  // table slots per walk step

  Station(Exporter& ex, StationOptions opts);
  ~Station() override;
  Station(const Station&) = delete;
  Station& operator=(const Station&) = delete;

  void start();
  // Termination (reason: administratively closed), close, no reconnect.
  void stop();
  bool up() const { return state_ == State::Up; }
  const StationOptions& options() const { return opts_; }

  // Whole BMP messages for this connection (ignored unless up()).
  void deliver(const std::vector<uint8_t>& bytes);
  // A session came up after we connected: its Peer Up, then its dump.
  void peer_up(rib::PeerId id);
  // Its Peer Down was delivered: stop walking its tables.
  void peer_down(rib::PeerId id);

  ctl::Json show() const;
  size_t queued() const { return pending_.size() + inflight_; }

  // ConnectionEvents
  void connected() override;
  void written() override;
  void failed(const std::string& why) override;

 private:
  struct Walk {
    rib::PeerId peer{};
    rib::PeerWalk walk;
  };
  void connect();
  void lost(const std::string& why, bool overflow);
  void add_walks(rib::PeerId id);
  void kick();
  void refill();
  void step(Walk& w);
  void send_stats();
  void arm_stats();
  PeerHeader header(rib::PeerId id, rib::PeerView view) const;

  Exporter& ex_;
  StationOptions opts_;
  State state_ = State::Stopped;
  std::unique_ptr<Connection> conn_;
  std::vector<uint8_t> pending_;
  size_t inflight_ = 0;  // bytes handed to the connection, not yet written
  size_t inflight_msgs_ = 0;
  std::deque<Walk> walks_;
  RouteMonitorEncoder enc_;
  asio::steady_timer retry_timer_;
  asio::steady_timer stats_timer_;
  std::chrono::milliseconds backoff_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
  // Counters (since the station was configured).
  uint64_t messages_sent_ = 0;  // BMP messages written to the socket
  uint64_t bytes_sent_ = 0;
  uint64_t connects_ = 0;
  uint64_t drops_ = 0;  // connections dropped because the queue overflowed
  uint64_t encode_errors_ = 0;
  std::string last_error_;
  std::chrono::system_clock::time_point up_since_{};
};

}  // namespace ferry::bmp
