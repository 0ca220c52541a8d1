// One BGP TCP connection: socket, inbound framing, outbound byte queue.
//
// Data flow in: async_read_some straight into the MessageFramer's buffer
// (large reads, no copy), then every complete message in that read is handed
// to the owner (LinkOwner::link_frame) before the next read is issued: many
// messages per syscall. The framer holds at most one partial message, so the
// input buffer per peer is bounded by the maximum message size plus one read.
// Data flow out: the owner appends encoded messages to out() and calls
// flush(); one async_write is in flight at a time (the bytes appended
// meanwhile are written together next). link_drained() fires when the queue
// empties, and the owner refills it from the RIB, so a slow peer only ever has
// a watermark's worth of bytes queued.
// Closing: close_with(bytes) detaches the owner, drops unsent queued updates,
// writes the final NOTIFICATION after any write in flight and then closes
// (bounded by a timer). Handlers hold a shared_ptr, so the link outlives its
// owner while it drains.
#pragma once

#include <asio.hpp>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "bgp/message.hpp"
#include "common/ip.hpp"

namespace ferry::bgp {

// Conversions between ferry and Asio addresses (IPv4-mapped IPv6 becomes IPv4).
asio::ip::address to_asio(const IpAddress& a);
IpAddress from_asio(const asio::ip::address& a);

class LinkOwner {
 public:
  virtual ~LinkOwner() = default;
  // A complete message; valid only during the call. The owner may close the link inside.
  virtual void link_frame(const Frame& f) = 0;
  // Framing error: the NOTIFICATION to send (RFC 4271 §6.1).
  virtual void link_framing_error(const Notification& n) = 0;
  // The peer closed the connection or a socket error occurred.
  virtual void link_failed(const std::string& reason) = 0;
  // The output queue was fully written.
  virtual void link_drained() = 0;
};

class TcpLink : public std::enable_shared_from_this<TcpLink> {
 public:
  static constexpr size_t kReadChunk = 256 * 1024;

  TcpLink(asio::ip::tcp::socket sock, LinkOwner* owner);
  ~TcpLink();

  asio::ip::tcp::socket& socket() { return sock_; }
  void start_reading();
  void set_max_message(size_t n) { framer_.set_max_length(n); }

  std::vector<uint8_t>& out() { return out_; }
  void flush();
  // Bytes queued but not yet written (in flight included).
  size_t queued() const { return out_.size() + inflight_.size(); }
  bool open() const { return owner_ != nullptr && sock_.is_open(); }

  // Detaches the owner, discards queued output, sends final (if any) and closes.
  void close_with(std::vector<uint8_t> final_bytes);
  // Detaches the owner and closes immediately.
  void close();

 private:
  void do_read();
  void do_write();
  void finish_close();

  asio::ip::tcp::socket sock_;
  LinkOwner* owner_;  // null once detached
  MessageFramer framer_;
  std::vector<uint8_t> out_;       // appended by the owner, not yet handed to the kernel
  std::vector<uint8_t> inflight_;  // being written by async_write
  bool writing_ = false;
  bool reading_ = false;
  bool closing_ = false;  // close_with: close once the final bytes are out
  asio::steady_timer linger_;
};

}  // namespace ferry::bgp
