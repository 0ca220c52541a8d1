#include "tunnel/tun.hpp"

#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace ferry::tunnel {

namespace {

// One queue = one open file of /dev/net/tun attached to the interface.
class LinuxTunQueue final : public TunQueue {
 public:
  LinuxTunQueue(int fd, bool vnet) : fd_(fd), vnet_(vnet) {}
  ~LinuxTunQueue() override { ::close(fd_); }
  int read(std::span<uint8_t> buf) override {
    for (;;) {
      ssize_t n = ::read(fd_, buf.data(), buf.size());
      if (n >= 0) return static_cast<int>(n);
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return 0;
      return -1;
    }
  }
  bool write(std::span<const uint8_t> pkt) override {
    for (;;) {
      ssize_t n = ::write(fd_, pkt.data(), pkt.size());
      if (n >= 0) return true;
      if (errno == EINTR) continue;
      return false;
    }
  }
  int fd() const override { return fd_; }
  bool vnet_hdr() const override { return vnet_; }

 private:
  int fd_;
  bool vnet_;
};

class LinuxTun final : public TunDevice {
 public:
  LinuxTun(std::string name, std::vector<std::unique_ptr<TunQueue>> q)
      : name_(std::move(name)), queues_(std::move(q)) {}
  const std::string& name() const override { return name_; }
  size_t queue_count() const override { return queues_.size(); }
  TunQueue& queue(size_t i) override { return *queues_[i]; }

 private:
  std::string name_;
  std::vector<std::unique_ptr<TunQueue>> queues_;
};

}  // namespace

Result<std::unique_ptr<TunDevice>> open_linux_tun(const std::string& name, size_t queues,
                                                  bool offload, bool persist) {
  if (name.empty() || name.size() >= IFNAMSIZ)
    return make_error("tun: bad interface name '" + name + "'");
  if (queues == 0) queues = 1;
  std::vector<std::unique_ptr<TunQueue>> qs;
  std::string actual = name;
  for (size_t i = 0; i < queues; ++i) {
    int fd = ::open("/dev/net/tun", O_RDWR | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) return make_error(std::string("tun: open /dev/net/tun: ") + std::strerror(errno));
    struct ifreq ifr {};
    ifr.ifr_flags = IFF_TUN | IFF_NO_PI | IFF_MULTI_QUEUE;
    if (offload) ifr.ifr_flags |= IFF_VNET_HDR;
    std::strncpy(ifr.ifr_name, actual.c_str(), IFNAMSIZ - 1);
    if (::ioctl(fd, TUNSETIFF, &ifr) < 0) {
      int e = errno;
      ::close(fd);
      return make_error("tun: TUNSETIFF " + name + ": " + std::strerror(e));
    }
    actual = ifr.ifr_name;
    if (offload && ::ioctl(fd, TUNSETOFFLOAD, TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6) < 0) {
      int e = errno;
      ::close(fd);
      return make_error("tun: TUNSETOFFLOAD " + name + ": " + std::strerror(e));
    }
    // TUNSETPERSIST is per interface; set it (or clear a leftover) once, via the first queue.
    if (i == 0 && ::ioctl(fd, TUNSETPERSIST, persist ? 1 : 0) < 0) {
      int e = errno;
      ::close(fd);
      return make_error("tun: TUNSETPERSIST " + name + ": " + std::strerror(e));
    }
    qs.push_back(std::make_unique<LinuxTunQueue>(fd, offload));
  }
  return std::unique_ptr<TunDevice>(std::make_unique<LinuxTun>(actual, std::move(qs)));
}

bool linux_interface_exists(const std::string& name) {
  if (name.empty() || name.size() >= IFNAMSIZ) return false;
  int s = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s < 0) return false;
  struct ifreq ifr {};
  std::strncpy(ifr.ifr_name, name.c_str(), IFNAMSIZ - 1);
  bool found = ::ioctl(s, SIOCGIFINDEX, &ifr) == 0;
  ::close(s);
  return found;
}

Result<void> remove_persistent_tun(const std::string& name) {
  if (!linux_interface_exists(name)) return {};
  int fd = ::open("/dev/net/tun", O_RDWR | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) return make_error(std::string("tun: open /dev/net/tun: ") + std::strerror(errno));
  struct ifreq ifr {};
  // The flags must match the interface's (multi-queue) for the attach to succeed.
  ifr.ifr_flags = IFF_TUN | IFF_NO_PI | IFF_MULTI_QUEUE;
  std::strncpy(ifr.ifr_name, name.c_str(), IFNAMSIZ - 1);
  if (::ioctl(fd, TUNSETIFF, &ifr) < 0) {
    int e = errno;
    ::close(fd);
    return make_error("tun: TUNSETIFF " + name + ": " + std::strerror(e));
  }
  int rc = ::ioctl(fd, TUNSETPERSIST, 0);
  int e = errno;
  ::close(fd);  // the last queue: the interface goes away
  if (rc < 0) return make_error("tun: TUNSETPERSIST " + name + ": " + std::strerror(e));
  return {};
}

}  // namespace ferry::tunnel
