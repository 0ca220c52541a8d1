// The TUN side of the data path, behind a small interface so the device logic
// runs in unit tests with a fake (see tests/unit/tunnel/device_test.cpp).
//
// Data flow: the kernel routes LAN packets to the TUN interface; each data-plane
// worker owns one TunQueue (IFF_MULTI_QUEUE: the kernel spreads flows across
// queues, so one flow stays on one worker and keeps its order), reads plaintext
// IP packets from it, and writes decrypted packets back into it.
//
// Queues are non-blocking: read() returns 0 when nothing is pending, and the
// worker waits on fd() (poll) together with its stop eventfd.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "common/result.hpp"

namespace ferry::tunnel {

class TunQueue {
 public:
  virtual ~TunQueue() = default;
  // One IP packet into buf. Returns its length, 0 if none is pending, -1 if the queue is dead.
  virtual int read(std::span<uint8_t> buf) = 0;
  // One IP packet to the kernel. False if it was dropped.
  virtual bool write(std::span<const uint8_t> pkt) = 0;
  // A pollable descriptor (POLLIN when read() would return a packet), or -1.
  virtual int fd() const = 0;
  // True when reads and writes carry a virtio_net_hdr (see tun_offload.hpp).
  virtual bool vnet_hdr() const { return false; }
};

class TunDevice {
 public:
  virtual ~TunDevice() = default;
  virtual const std::string& name() const = 0;
  virtual size_t queue_count() const = 0;
  virtual TunQueue& queue(size_t i) = 0;
};

// Linux /dev/net/tun with IFF_TUN | IFF_NO_PI | IFF_MULTI_QUEUE, `queues` queues.
// With offload, also IFF_VNET_HDR and TUNSETOFFLOAD(CSUM | TSO4 | TSO6), so the kernel
// passes 64 KiB TCP super-packets both ways. Needs CAP_NET_ADMIN.
//
// Lifetime. Without persist the interface disappears when the last queue closes
// (also when the process dies), and the kernel flushes every route through it;
// an interface left persistent by an earlier run is attached and made
// non-persistent again. With persist (graceful restart, RFC 4724 restarting
// speaker) TUNSETPERSIST keeps the interface, its addresses and the routes
// through it after the process dies (carrier goes off while no queue is
// attached; routes stay, marked linkdown); the next run attaches to it again by
// name with the same flags (a multi-queue device accepts any number of queues).
Result<std::unique_ptr<TunDevice>> open_linux_tun(const std::string& name, size_t queues,
                                                  bool offload = true, bool persist = false);

// True if a network interface of that name exists (in this network namespace).
bool linux_interface_exists(const std::string& name);

// Deletes a TUN interface left persistent (clean shutdown without keeping
// forwarding state). Call after the device's queues were closed. An interface
// that does not exist is not an error.
Result<void> remove_persistent_tun(const std::string& name);

}  // namespace ferry::tunnel
