// Control socket server: a Unix-domain stream socket on the control-plane
// event loop, speaking the line-delimited JSON protocol of registry.hpp.
//
// Access: the socket file is mode 0660 and owned by the configured group, so
// only root and that group can connect. A client whose uid is root or the
// daemon's own uid may run mutating commands; other clients (group members)
// are read-only. Requests longer than kMaxRequest bytes get an error reply and
// the connection is closed; a client can never block the event loop.
#pragma once

#include <asio.hpp>

#include <memory>
#include <string>

#include "common/result.hpp"
#include "ctl/registry.hpp"

namespace ferry::ctl {

class Server {
 public:
  static constexpr size_t kMaxRequest = 64 * 1024;

  Server(asio::io_context& io, const Registry& registry);
  ~Server();

  // Binds PATH (replacing a stale socket file), chmod 0660, chgrp group if non-empty.
  Result<void> listen(const std::string& path, const std::string& group);
  void close();
  const std::string& path() const { return path_; }

 private:
  class Connection;
  void accept();

  asio::io_context& io_;
  const Registry& registry_;
  asio::local::stream_protocol::acceptor acceptor_;
  std::string path_;
};

}  // namespace ferry::ctl
