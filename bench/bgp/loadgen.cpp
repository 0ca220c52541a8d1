// ferry-bgp-loadgen: feeds a BGP speaker a large IPv4 table and times how
// long it takes to pass it on.
//
// Two eBGP sessions to the device under test (DUT): the *feeder* announces N
// prefixes (see prefixgen.hpp) and later withdraws them; the *monitor*
// announces nothing and tracks which of the N prefixes the DUT currently
// advertises to it. Phase 1 times first byte fed -> monitor holds all N;
// phase 2 times first withdrawal fed -> monitor holds none. The DUT's memory
// (VmRSS/VmHWM from /proc/PID/status) is sampled before, at full table and
// after withdrawal. Each session has a reader thread (the feeder's just
// drains and watches for NOTIFICATION) and one thread sends KEEPALIVEs for both.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <fstream>
#include <iostream>
#include <iterator>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>

#include "common/result.hpp"
#include "prefixgen.hpp"
#include "wire.hpp"

namespace ferry::bench {
namespace {

using Clock = std::chrono::steady_clock;

double secs_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

std::optional<uint32_t> parse_v4(const std::string& s) {
  in_addr a{};
  if (inet_pton(AF_INET, s.c_str(), &a) != 1) return std::nullopt;
  return ntohl(a.s_addr);
}

// One BGP session over a blocking TCP socket. send() may be called from
// several threads; reading belongs to the reader thread once started.
class Session {
 public:
  explicit Session(std::string name) : name_(std::move(name)) {}
  ~Session() {
    if (reader_.joinable()) {
      ::shutdown(fd_, SHUT_RDWR);
      reader_.join();
    }
    if (fd_ >= 0) ::close(fd_);
  }

  Result<void> connect(uint32_t src, uint32_t dst, uint16_t port, double timeout_s) {
    auto t0 = Clock::now();
    for (;;) {
      fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
      if (fd_ < 0) return make_error(name_ + ": socket: " + std::strerror(errno));
      int one = 1;
      ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      sockaddr_in local{};
      local.sin_family = AF_INET;
      local.sin_addr.s_addr = htonl(src);
      if (::bind(fd_, reinterpret_cast<sockaddr*>(&local), sizeof local) != 0) {
        return make_error(name_ + ": bind: " + std::strerror(errno));
      }
      sockaddr_in remote{};
      remote.sin_family = AF_INET;
      remote.sin_port = htons(port);
      remote.sin_addr.s_addr = htonl(dst);
      if (::connect(fd_, reinterpret_cast<sockaddr*>(&remote), sizeof remote) == 0) return {};
      int err = errno;
      ::close(fd_);
      fd_ = -1;
      if (secs_since(t0) > timeout_s) {
        return make_error(name_ + ": connect: " + std::strerror(err));
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
  }

  // RFC 4271 §8.2.2: send OPEN, expect OPEN, send KEEPALIVE, expect KEEPALIVE.
  Result<OpenInfo> handshake(const OpenParams& p, double timeout_s) {
    std::vector<uint8_t> out;
    encode_open(out, p);
    encode_keepalive(out);
    if (!send(out)) return make_error(name_ + ": send OPEN failed");
    std::optional<OpenInfo> peer;
    auto t0 = Clock::now();
    while (secs_since(t0) < timeout_s) {
      while (auto f = split_.next()) {
        if (f->type == MsgType::Open) {
          peer = parse_open(f->body);
          if (!peer) return make_error(name_ + ": malformed OPEN");
        } else if (f->type == MsgType::Keepalive && peer) {
          return *peer;
        } else if (f->type == MsgType::Notification) {
          return make_error(name_ + ": NOTIFICATION during handshake: " + notif_str(f->body));
        }
      }
      if (!split_.error().empty()) return make_error(name_ + ": " + split_.error());
      pollfd pfd{fd_, POLLIN, 0};
      if (::poll(&pfd, 1, 200) <= 0) continue;
      uint8_t buf[65536];
      ssize_t n = ::read(fd_, buf, sizeof buf);
      if (n <= 0) return make_error(name_ + ": connection closed during handshake");
      split_.feed({buf, static_cast<size_t>(n)});
    }
    return make_error(name_ + ": handshake timed out");
  }

  bool send(std::span<const uint8_t> data) {
    std::lock_guard lk(wmu_);
    size_t off = 0;
    while (off < data.size()) {
      ssize_t n = ::write(fd_, data.data() + off, data.size() - off);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return false;
      off += static_cast<size_t>(n);
    }
    return true;
  }

  // Runs on_update(body) for every UPDATE until the connection ends.
  template <typename F>
  void start_reader(F on_update) {
    reader_ = std::thread([this, on_update]() mutable {
      std::vector<uint8_t> buf(1 << 18);
      for (;;) {
        while (auto f = split_.next()) {
          if (f->type == MsgType::Update) {
            on_update(f->body);
          } else if (f->type == MsgType::Notification) {
            set_failure("received NOTIFICATION " + notif_str(f->body));
            return;
          }
        }
        if (!split_.error().empty()) return set_failure(split_.error());
        ssize_t n = ::read(fd_, buf.data(), buf.size());
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return set_failure("connection closed");
        split_.feed({buf.data(), static_cast<size_t>(n)});
      }
    });
  }

  std::string failure() const {
    std::lock_guard lk(fmu_);
    return failure_;
  }
  const std::string& name() const { return name_; }

 private:
  static std::string notif_str(std::span<const uint8_t> b) {
    std::ostringstream o;
    o << "code " << (b.size() > 0 ? int{b[0]} : -1) << " subcode "
      << (b.size() > 1 ? int{b[1]} : -1);
    return o.str();
  }
  void set_failure(const std::string& s) {
    std::lock_guard lk(fmu_);
    if (failure_.empty()) failure_ = s;
  }

  std::string name_;
  int fd_ = -1;
  std::mutex wmu_;
  FrameSplitter split_;
  std::thread reader_;
  mutable std::mutex fmu_;
  std::string failure_;
};

// Which of the table's prefixes the DUT currently advertises to the monitor.
// Written by the monitor's reader thread; main waits for count == target.
class Monitor {
 public:
  explicit Monitor(const std::vector<PrefixKey>& keys) : keys_(keys), present_(keys.size(), 0) {}

  void on_update(std::span<const uint8_t> body) {
    bool ok = scan_update(
        body, [this](PrefixKey k) { mark(k, false); }, [this](PrefixKey k) { mark(k, true); });
    std::lock_guard lk(mu_);
    if (!ok) ++malformed_;
    ++updates_;
    if (count_ == target_ && !reached_) {
      reached_ = true;
      cv_.notify_all();
    }
  }

  void set_target(size_t t) {
    std::lock_guard lk(mu_);
    target_ = t;
    reached_ = count_ == t;
  }
  // Waits until the target is met, the deadline passes or fail() says stop.
  template <typename Fail>
  bool wait(double timeout_s, Fail&& fail) {
    std::unique_lock lk(mu_);
    auto deadline = Clock::now() + std::chrono::duration<double>(timeout_s);
    while (!reached_) {
      if (Clock::now() > deadline || !fail().empty()) return false;
      cv_.wait_for(lk, std::chrono::milliseconds(100));
    }
    return true;
  }
  size_t count() const {
    std::lock_guard lk(mu_);
    return count_;
  }
  uint64_t updates() const {
    std::lock_guard lk(mu_);
    return updates_;
  }
  uint64_t foreign() const {
    std::lock_guard lk(mu_);
    return foreign_;
  }
  uint64_t malformed() const {
    std::lock_guard lk(mu_);
    return malformed_;
  }

 private:
  void mark(PrefixKey k, bool on) {
    auto it = std::lower_bound(keys_.begin(), keys_.end(), k);
    std::lock_guard lk(mu_);
    if (it == keys_.end() || *it != k) {
      if (on) ++foreign_;
      return;
    }
    uint8_t& p = present_[static_cast<size_t>(it - keys_.begin())];
    if (on && !p) ++count_;
    if (!on && p) --count_;
    p = on ? 1 : 0;
  }

  const std::vector<PrefixKey>& keys_;
  std::vector<uint8_t> present_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  size_t count_ = 0;
  size_t target_ = 0;
  bool reached_ = false;
  uint64_t updates_ = 0;
  uint64_t foreign_ = 0;
  uint64_t malformed_ = 0;
};

struct MemSample {
  long rss_kb = -1;
  long hwm_kb = -1;
  double cpu_s = -1;  // utime + stime of the whole process so far (all threads)
};

// CPU seconds the process has used: fields 14 and 15 of /proc/PID/stat
// (proc(5)), after the parenthesised command name. On a shared machine this
// is steadier than wall-clock convergence time, which includes waiting for
// a core.
double read_cpu_s(int pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
  std::string all((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  size_t close = all.rfind(')');
  if (close == std::string::npos) return -1;
  std::istringstream in(all.substr(close + 2));
  std::string field;
  unsigned long long utime = 0, stime = 0;
  for (int i = 3; i <= 15 && in >> field; ++i) {  // field 3 is the state
    if (i == 14) utime = std::stoull(field);
    if (i == 15) stime = std::stoull(field);
  }
  long hz = sysconf(_SC_CLK_TCK);
  return hz > 0 ? static_cast<double>(utime + stime) / static_cast<double>(hz) : -1;
}

MemSample read_mem(int pid) {
  MemSample m;
  if (pid <= 0) return m;
  std::ifstream f("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(f, line)) {
    if (line.rfind("VmRSS:", 0) == 0) m.rss_kb = std::stol(line.substr(6));
    if (line.rfind("VmHWM:", 0) == 0) m.hwm_kb = std::stol(line.substr(6));
  }
  m.cpu_s = read_cpu_s(pid);
  return m;
}

struct Options {
  std::string dut = "10.77.0.1";
  uint16_t port = 179;
  std::string feeder_src = "10.77.0.2";
  std::string monitor_src = "10.77.0.3";
  uint32_t feeder_asn = 65002;
  uint32_t monitor_asn = 65003;
  size_t n = 1000000;
  uint64_t seed = 1;
  int dut_pid = 0;
  double timeout = 600;
  uint16_t hold = 240;
  std::string label = "dut";
  bool serve = false;
};

// --serve: only the feeder session. Feeds the table, says so on stderr
// ("loadgen: fed N prefixes"), then keeps the session up with KEEPALIVEs until
// killed or the session fails (exit 1). For tests that need a large table in
// a DUT and live traffic on top of it.
int serve(const Options& o, uint32_t dut, uint32_t fsrc, const std::vector<uint8_t>& feed) {
  Session fs("feeder");
  if (auto r = fs.connect(fsrc, dut, o.port, o.timeout); !r) {
    std::cerr << "loadgen: " << r.error() << "\n";
    return 1;
  }
  auto info = fs.handshake(OpenParams{o.feeder_asn, o.hold, fsrc}, o.timeout);
  if (!info) {
    std::cerr << "loadgen: " << info.error() << "\n";
    return 1;
  }
  fs.start_reader([](std::span<const uint8_t>) {});
  if (!fs.send(feed)) {
    std::cerr << "loadgen: feeding failed: " << fs.failure() << "\n";
    return 1;
  }
  std::cerr << "loadgen: fed " << o.n << " prefixes" << std::endl;
  std::vector<uint8_t> k;
  encode_keepalive(k);
  const auto interval = std::chrono::seconds(std::max(1, o.hold / 3));
  auto next = Clock::now() + interval;
  while (fs.failure().empty()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    if (Clock::now() < next) continue;
    next += interval;
    if (!fs.send(k)) break;
  }
  std::cerr << "loadgen: session ended: " << fs.failure() << "\n";
  return 1;
}

int run(const Options& o) {
  auto dut = parse_v4(o.dut);
  auto fsrc = parse_v4(o.feeder_src);
  auto msrc = parse_v4(o.monitor_src);
  if (!dut || !fsrc || !msrc) {
    std::cerr << "loadgen: addresses must be IPv4\n";
    return 2;
  }
  auto tg = Clock::now();
  Table table = make_table(o.n, o.seed, o.feeder_asn, *fsrc);
  std::vector<uint8_t> feed, withdraw;
  feed.reserve(o.n * 20);
  for (const auto& g : table.groups) {
    if (!encode_announce(feed, g.attrs, g.prefixes)) {
      std::cerr << "loadgen: group does not fit one UPDATE\n";
      return 2;
    }
  }
  std::vector<PrefixKey> order;
  order.reserve(o.n);
  for (const auto& g : table.groups)
    order.insert(order.end(), g.prefixes.begin(), g.prefixes.end());
  encode_withdraw(withdraw, order);
  std::cerr << "loadgen: " << o.n << " prefixes in " << table.groups.size() << " UPDATEs ("
            << feed.size() / 1024 << " KiB), generated in " << secs_since(tg) << " s\n";

  if (o.serve) return serve(o, *dut, *fsrc, feed);

  Session fs("feeder"), ms("monitor");
  Monitor mon(table.sorted_keys);
  for (Session* s : {&ms, &fs}) {
    bool is_feeder = s == &fs;
    if (auto r = s->connect(is_feeder ? *fsrc : *msrc, *dut, o.port, 30); !r) {
      std::cerr << "loadgen: " << r.error() << "\n";
      return 1;
    }
    OpenParams p{is_feeder ? o.feeder_asn : o.monitor_asn, o.hold, is_feeder ? *fsrc : *msrc};
    auto info = s->handshake(p, 30);
    if (!info) {
      std::cerr << "loadgen: " << info.error() << "\n";
      return 1;
    }
    std::cerr << "loadgen: " << s->name() << " Established (peer AS " << info->asn << ", hold "
              << info->hold_time << ")\n";
    if (is_feeder) {
      s->start_reader([](std::span<const uint8_t>) {});
    } else {
      s->start_reader([&mon](std::span<const uint8_t> b) { mon.on_update(b); });
    }
  }
  std::atomic<bool> stop{false};
  std::thread ka([&] {
    std::vector<uint8_t> k;
    encode_keepalive(k);
    auto interval = std::chrono::seconds(std::max(1, o.hold / 3));
    auto next = Clock::now() + interval;
    while (!stop) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      if (Clock::now() < next) continue;
      next += interval;
      fs.send(k);
      ms.send(k);
    }
  });
  auto failed = [&]() {
    auto f = fs.failure();
    if (!f.empty()) return "feeder: " + f;
    f = ms.failure();
    return f.empty() ? f : "monitor: " + f;
  };

  // Let the DUT settle (it may send its own routes or End-of-RIB first).
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  MemSample m0 = read_mem(o.dut_pid);

  int rc = 0;
  mon.set_target(o.n);
  auto t1 = Clock::now();
  bool sent = fs.send(feed);
  double t_fed = secs_since(t1);
  bool ok1 = sent && mon.wait(o.timeout, failed);
  double t_conv = secs_since(t1);
  MemSample m1 = read_mem(o.dut_pid);
  double t_wconv = -1, t_wfed = -1;
  MemSample m2;
  if (!ok1) {
    std::cerr << "loadgen: announce phase failed: monitor has " << mon.count() << "/" << o.n
              << (failed().empty() ? " (timeout)" : " (" + failed() + ")") << "\n";
    rc = 1;
  } else {
    mon.set_target(0);
    auto t2 = Clock::now();
    bool wsent = fs.send(withdraw);
    t_wfed = secs_since(t2);
    bool ok2 = wsent && mon.wait(o.timeout, failed);
    t_wconv = secs_since(t2);
    m2 = read_mem(o.dut_pid);
    if (!ok2) {
      std::cerr << "loadgen: withdraw phase failed: monitor still has " << mon.count()
                << (failed().empty() ? " (timeout)" : " (" + failed() + ")") << "\n";
      rc = 1;
    }
  }
  stop = true;
  ka.join();
  // Cease / Administrative Shutdown (RFC 4486) so the DUT logs a clean end.
  std::vector<uint8_t> bye;
  encode_notification(bye, 6, 2);
  fs.send(bye);
  ms.send(bye);

  std::cout << "{\"dut\":\"" << o.label << "\",\"prefixes\":" << o.n
            << ",\"updates_fed\":" << table.groups.size()
            << ",\"ok\":" << (rc == 0 ? "true" : "false") << ",\"announce_fed_s\":" << t_fed
            << ",\"announce_converged_s\":" << t_conv << ",\"withdraw_fed_s\":" << t_wfed
            << ",\"withdraw_converged_s\":" << t_wconv << ",\"monitor_updates\":" << mon.updates()
            << ",\"monitor_foreign\":" << mon.foreign()
            << ",\"monitor_malformed\":" << mon.malformed() << ",\"rss_kb_idle\":" << m0.rss_kb
            << ",\"rss_kb_full\":" << m1.rss_kb << ",\"rss_kb_after_withdraw\":" << m2.rss_kb
            << ",\"hwm_kb\":" << std::max(m1.hwm_kb, m2.hwm_kb)
            << ",\"cpu_announce_s\":" << (m1.cpu_s >= 0 && m0.cpu_s >= 0 ? m1.cpu_s - m0.cpu_s : -1)
            << ",\"cpu_withdraw_s\":" << (m2.cpu_s >= 0 && m1.cpu_s >= 0 ? m2.cpu_s - m1.cpu_s : -1)
            << "}" << std::endl;
  return rc;
}

}  // namespace
}  // namespace ferry::bench

int main(int argc, char** argv) {
  ferry::bench::Options o;
  CLI::App app{"BGP load generator: feed N IPv4 prefixes to a DUT, time propagation to a monitor"};
  app.add_option("--dut", o.dut, "DUT address (IPv4)");
  app.add_option("--port", o.port, "DUT TCP port");
  app.add_option("--feeder-src", o.feeder_src, "local address of the feeding session");
  app.add_option("--monitor-src", o.monitor_src, "local address of the monitoring session");
  app.add_option("--feeder-asn", o.feeder_asn);
  app.add_option("--monitor-asn", o.monitor_asn);
  app.add_option("-n,--prefixes", o.n, "number of IPv4 prefixes")->check(CLI::Range(1, 5000000));
  app.add_option("--seed", o.seed, "table generator seed");
  app.add_option("--dut-pid", o.dut_pid, "PID of the DUT, for VmRSS/VmHWM");
  app.add_option("--timeout", o.timeout, "seconds per phase");
  app.add_option("--hold", o.hold, "hold time proposed (s)");
  app.add_option("--label", o.label, "name of the DUT in the JSON result");
  app.add_flag("--serve", o.serve,
               "feeder only: feed the table, then hold the session until killed");
  CLI11_PARSE(app, argc, argv);
  return ferry::bench::run(o);
}
