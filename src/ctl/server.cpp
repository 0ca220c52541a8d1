#include "ctl/server.hpp"

#include <grp.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>

#include "common/log.hpp"

namespace ferry::ctl {

class Server::Connection : public std::enable_shared_from_this<Server::Connection> {
 public:
  Connection(asio::local::stream_protocol::socket sock, const Registry& reg)
      : sock_(std::move(sock)), registry_(reg) {
    ucred cred{};
    socklen_t len = sizeof cred;
    if (getsockopt(sock_.native_handle(), SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0) {
      may_mutate_ = cred.uid == 0 || cred.uid == getuid();
    }
  }

  void start() { read(); }

 private:
  void read() {
    auto self = shared_from_this();
    asio::async_read_until(
        sock_, asio::dynamic_buffer(in_, kMaxRequest), '\n',
        [this, self](std::error_code ec, size_t n) {
          if (ec == asio::error::not_found || (ec && in_.size() >= kMaxRequest)) {
            reply_and_close(Json{{"ok", false}, {"error", "request too long"}});
            return;
          }
          if (ec) return;  // client went away
          std::string line = in_.substr(0, n - 1);
          in_.erase(0, n);
          Json reply = registry_.dispatch_line(line, may_mutate_);
          write(reply.dump() + "\n", /*then_close=*/false);
        });
  }

  void write(std::string text, bool then_close) {
    auto self = shared_from_this();
    out_ = std::move(text);
    asio::async_write(sock_, asio::buffer(out_),
                      [this, self, then_close](std::error_code ec, size_t) {
                        if (ec || then_close) {
                          std::error_code ignored;
                          sock_.close(ignored);
                          return;
                        }
                        read();
                      });
  }

  void reply_and_close(const Json& j) { write(j.dump() + "\n", true); }

  asio::local::stream_protocol::socket sock_;
  const Registry& registry_;
  std::string in_;
  std::string out_;
  bool may_mutate_ = false;
};

Server::Server(asio::io_context& io, const Registry& registry)
    : io_(io), registry_(registry), acceptor_(io) {}

Server::~Server() {
  close();
}

Result<void> Server::listen(const std::string& path, const std::string& group) {
  // The group first: a typo in control-group must not leave a socket behind.
  gid_t gid = static_cast<gid_t>(-1);
  if (!group.empty()) {
    struct group* g = ::getgrnam(group.c_str());
    if (!g) return make_error("control-group '" + group + "' does not exist");
    gid = g->gr_gid;
  }
  std::error_code ec;
  const auto dir = std::filesystem::path(path).parent_path();
  if (!dir.empty()) std::filesystem::create_directories(dir, ec);
  // A socket file left by a previous run that nobody listens on is stale.
  if (std::filesystem::is_socket(path, ec)) {
    asio::local::stream_protocol::socket probe(io_);
    std::error_code cec;
    probe.connect(asio::local::stream_protocol::endpoint(path), cec);
    if (!cec) return make_error("control socket " + path + " is in use by another ferryd");
    ::unlink(path.c_str());
  } else if (std::filesystem::exists(path, ec)) {
    return make_error("control socket path " + path + " exists and is not a socket");
  }
  acceptor_.open(asio::local::stream_protocol(), ec);
  if (!ec) acceptor_.bind(asio::local::stream_protocol::endpoint(path), ec);
  if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return make_error("control socket " + path + ": " + ec.message());
  path_ = path;
  // Until chmod the socket has the umask's mode; a failure must not leave it listening.
  auto fail = [this](const std::string& what) -> Result<void> {
    const std::string msg = "control socket " + path_ + ": " + what + ": " + std::strerror(errno);
    close();
    path_.clear();
    return make_error(msg);
  };
  if (::chmod(path.c_str(), 0660) != 0) return fail("chmod");
  if (!group.empty() && ::chown(path.c_str(), static_cast<uid_t>(-1), gid) != 0)
    return fail("chown");
  accept();
  return {};
}

void Server::accept() {
  acceptor_.async_accept([this](std::error_code ec, asio::local::stream_protocol::socket s) {
    if (ec == asio::error::operation_aborted || !acceptor_.is_open()) return;
    if (!ec) std::make_shared<Connection>(std::move(s), registry_)->start();
    accept();
  });
}

void Server::close() {
  if (!acceptor_.is_open()) return;
  std::error_code ec;
  acceptor_.close(ec);
  if (!path_.empty()) ::unlink(path_.c_str());
}

}  // namespace ferry::ctl
