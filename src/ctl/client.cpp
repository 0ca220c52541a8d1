#include "ctl/client.hpp"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace ferry::ctl {

Result<Json> call(const std::string& socket_path, const std::string& command, const Json& args) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (socket_path.size() >= sizeof addr.sun_path)
    return make_error("socket path too long: " + socket_path);
  std::memcpy(addr.sun_path, socket_path.c_str(), socket_path.size() + 1);
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return make_error(std::string("socket: ") + std::strerror(errno));
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    const int e = errno;
    ::close(fd);
    return make_error("cannot connect to ferryd at " + socket_path + ": " + std::strerror(e) +
                      " (is ferryd running? use --socket)");
  }
  const std::string req = Json{{"command", command}, {"args", args}}.dump() + "\n";
  size_t off = 0;
  while (off < req.size()) {
    ssize_t n = ::write(fd, req.data() + off, req.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      ::close(fd);
      return make_error(std::string("write: ") + std::strerror(errno));
    }
    off += static_cast<size_t>(n);
  }
  std::string in;
  char buf[65536];
  while (in.find('\n') == std::string::npos) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    in.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  const auto nl = in.find('\n');
  if (nl == std::string::npos) return make_error("ferryd closed the connection without a reply");
  Json reply = Json::parse(in.substr(0, nl), nullptr, false);
  if (reply.is_discarded() || !reply.is_object())
    return make_error("ferryd sent a malformed reply");
  return reply;
}

}  // namespace ferry::ctl
