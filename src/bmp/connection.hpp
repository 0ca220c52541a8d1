// The exporter's TCP connection to a monitoring station, behind an interface
// so the exporter's logic runs in unit tests with a fake (no sockets).
//
// A Connection is made by a Connector and reports through ConnectionEvents,
// always from the event loop and never from inside the call that caused it.
// At most one write is in flight; the connection owns its bytes.
#pragma once

#include <asio.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "common/ip.hpp"

namespace ferry::bmp {

class ConnectionEvents {
 public:
  virtual ~ConnectionEvents() = default;
  virtual void connected() = 0;
  virtual void written() = 0;
  // The connect failed or the established connection was lost.
  virtual void failed(const std::string& why) = 0;
};

class Connection {
 public:
  virtual ~Connection() = default;  // closes; no event after destruction
  virtual void write(std::vector<uint8_t> data) = 0;
  // Best effort without blocking (a Termination), then closes; no more events.
  virtual void close(std::span<const uint8_t> last) = 0;
};

using Connector = std::function<std::unique_ptr<Connection>(const IpAddress& address, uint16_t port,
                                                            ConnectionEvents& events)>;

// The real thing: Asio TCP on io. The station sends nothing (RFC 7854 §3.3);
// anything it does send is read and discarded, which also notices a close.
Connector tcp_connector(asio::io_context& io);

}  // namespace ferry::bmp
