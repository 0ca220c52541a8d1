#include "daemon/privileges.hpp"

#include <grp.h>
#include <linux/capability.h>
#include <pwd.h>
#include <sys/capability.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace ferry::daemon {

namespace {

std::string errno_text(const char* what, int e) {
  return std::string(what) + ": " + std::strerror(e);
}

// getpwnam_r/getgrnam_r report "no such name" as 0 with a null result, or
// (depending on the NSS module) as one of these errors.
bool not_found_errno(int e) {
  return e == 0 || e == ENOENT || e == ESRCH || e == EBADF || e == EPERM;
}

// Calls a reentrant NSS lookup with a growing buffer until it fits.
template <typename Entry, typename Fn>
Result<std::optional<Entry>> nss_lookup(const char* what, const std::string& name, Fn&& fn) {
  std::vector<char> buf(16384);
  while (true) {
    Entry e{};
    Entry* out = nullptr;
    const int rc = fn(name.c_str(), &e, buf.data(), buf.size(), &out);
    if (rc == ERANGE && buf.size() < (1u << 22)) {
      buf.resize(buf.size() * 2);
      continue;
    }
    if (out) return std::optional<Entry>(e);
    if (not_found_errno(rc)) return std::optional<Entry>();
    return make_error(std::string(what) + " '" + name + "': lookup failed: " + std::strerror(rc));
  }
}

class SystemAccounts : public Accounts {
 public:
  Result<std::optional<UserEntry>> user(const std::string& name) const override {
    auto r = nss_lookup<passwd>("user", name, ::getpwnam_r);
    if (!r) return make_error(r.error());
    if (!*r) return std::optional<UserEntry>();
    return std::optional<UserEntry>(UserEntry{(*r)->pw_uid, (*r)->pw_gid});
  }
  Result<std::optional<gid_t>> group(const std::string& name) const override {
    auto r = nss_lookup<struct group>("group", name, ::getgrnam_r);
    if (!r) return make_error(r.error());
    if (!*r) return std::optional<gid_t>();
    return std::optional<gid_t>((*r)->gr_gid);
  }
};

// Capability numbers set in m, in ascending order.
std::vector<cap_value_t> cap_list(CapMask m) {
  std::vector<cap_value_t> v;
  for (int i = 0; i < 64; ++i)
    if (m & (CapMask{1} << i)) v.push_back(static_cast<cap_value_t>(i));
  return v;
}

class LinuxPrivilegeSystem : public PrivilegeSystem {
 public:
  uid_t euid() const override { return ::geteuid(); }

  Result<void> drop_bounding_except(CapMask keep) override {
    const int n = static_cast<int>(cap_max_bits());
    for (int i = 0; i < n; ++i) {
      if (i < 64 && (keep & (CapMask{1} << i))) continue;
      const int in = cap_get_bound(static_cast<cap_value_t>(i));
      if (in <= 0) continue;  // already gone (or unknown to this kernel)
      if (cap_drop_bound(static_cast<cap_value_t>(i)) != 0)
        return make_error(errno_text(
            ("drop " + cap_names(CapMask{1} << i) + " from the bounding set").c_str(), errno));
    }
    return {};
  }

  Result<void> set_no_new_privs() override {
    if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
      return make_error(errno_text("prctl(PR_SET_NO_NEW_PRIVS)", errno));
    return {};
  }

  Result<void> set_keep_caps(bool on) override {
    if (::prctl(PR_SET_KEEPCAPS, on ? 1 : 0, 0, 0, 0) != 0)
      return make_error(errno_text("prctl(PR_SET_KEEPCAPS)", errno));
    return {};
  }

  Result<void> set_groups(const std::vector<gid_t>& groups) override {
    if (::setgroups(groups.size(), groups.data()) != 0)
      return make_error(errno_text("setgroups", errno));
    return {};
  }

  Result<void> set_resgid(gid_t gid) override {
    if (::setresgid(gid, gid, gid) != 0) return make_error(errno_text("setresgid", errno));
    return {};
  }

  Result<void> set_resuid(uid_t uid) override {
    if (::setresuid(uid, uid, uid) != 0) return make_error(errno_text("setresuid", errno));
    return {};
  }

  Result<void> set_caps(CapMask m) override {
    cap_t c = cap_init();  // every flag clear
    if (!c) return make_error(errno_text("cap_init", errno));
    auto list = cap_list(m);
    int rc = 0;
    if (!list.empty()) {
      rc = cap_set_flag(c, CAP_PERMITTED, static_cast<int>(list.size()), list.data(), CAP_SET);
      if (rc == 0)
        rc = cap_set_flag(c, CAP_EFFECTIVE, static_cast<int>(list.size()), list.data(), CAP_SET);
    }
    if (rc == 0) rc = cap_set_proc(c);
    const int e = errno;
    cap_free(c);
    if (rc != 0) return make_error(errno_text(("set capabilities to " + cap_names(m)).c_str(), e));
    return {};
  }

  Result<void> clear_ambient() override {
    if (::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0)
      return make_error(errno_text("prctl(PR_CAP_AMBIENT_CLEAR_ALL)", errno));
    return {};
  }

  Result<std::vector<std::string>> thread_status_texts() const override {
    namespace fs = std::filesystem;
    const std::string self = std::to_string(::getpid());
    std::vector<std::string> out;
    std::error_code ec;
    std::vector<std::string> tids;
    for (const auto& d : fs::directory_iterator("/proc/self/task", ec))
      tids.push_back(d.path().filename().string());
    if (ec) return make_error("/proc/self/task: " + ec.message());
    std::stable_partition(tids.begin(), tids.end(), [&](const auto& t) { return t == self; });
    for (const auto& t : tids) {
      std::ifstream in("/proc/self/task/" + t + "/status");
      if (!in) continue;  // the thread exited meanwhile
      std::stringstream ss;
      ss << in.rdbuf();
      out.push_back(ss.str());
    }
    if (out.empty() || tids.front() != self)
      return make_error("/proc/self/task: main thread " + self + " not found");
    return out;
  }
};

// "Key:\tvalue" -> value (nullopt if the key is absent).
std::optional<std::string_view> field(std::string_view text, std::string_view key) {
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(pos, end - pos);
    if (line.size() > key.size() && line.substr(0, key.size()) == key && line[key.size()] == ':') {
      std::string_view v = line.substr(key.size() + 1);
      while (!v.empty() && (v.front() == '\t' || v.front() == ' ')) v.remove_prefix(1);
      return v;
    }
    pos = end + 1;
  }
  return std::nullopt;
}

template <typename T>
Result<std::vector<T>> numbers(std::string_view v, int base = 10) {
  std::vector<T> out;
  size_t i = 0;
  while (i < v.size()) {
    while (i < v.size() && (v[i] == ' ' || v[i] == '\t')) ++i;
    if (i == v.size()) break;
    T x{};
    auto [p, ec] = std::from_chars(v.data() + i, v.data() + v.size(), x, base);
    if (ec != std::errc() || (p != v.data() + v.size() && *p != ' ' && *p != '\t'))
      return make_error("bad number in '" + std::string(v) + "'");
    out.push_back(x);
    i = static_cast<size_t>(p - v.data());
  }
  return out;
}

std::string id_list(const std::vector<gid_t>& v) {
  std::string s;
  for (auto g : v) s += (s.empty() ? "" : " ") + std::to_string(g);
  return s.empty() ? "none" : s;
}

}  // namespace

CapMask cap_mask(std::initializer_list<int> caps) {
  CapMask m = 0;
  for (int c : caps)
    if (c >= 0 && c < 64) m |= CapMask{1} << c;
  return m;
}

CapMask kept_capabilities() {
  return cap_mask({CAP_NET_ADMIN, CAP_NET_BIND_SERVICE});
}

std::string cap_names(CapMask m) {
  std::string s;
  for (auto c : cap_list(m)) {
    std::string name;
    if (char* n = cap_to_name(c)) {
      name = n;
      cap_free(n);
    } else {
      name = "cap_" + std::to_string(c);
    }
    s += (s.empty() ? "" : ",") + name;
  }
  return s.empty() ? "none" : s;
}

std::unique_ptr<Accounts> make_system_accounts() {
  return std::make_unique<SystemAccounts>();
}

std::unique_ptr<PrivilegeSystem> make_linux_privilege_system() {
  return std::make_unique<LinuxPrivilegeSystem>();
}

Result<PrivilegeTarget> resolve_target(const Accounts& accounts, const std::string& user,
                                       const std::string& control_group, CapMask keep) {
  if (user.empty()) return make_error("router.user is empty");
  auto u = accounts.user(user);
  if (!u) return make_error("router.user: " + u.error());
  if (!*u) return make_error("router.user: no such user '" + user + "'");
  const UserEntry e = **u;
  if (e.uid == 0)
    return make_error("router.user '" + user + "' has uid 0: that is root, not a drop");
  if (e.gid == 0)
    return make_error("router.user '" + user +
                      "' has primary group 0 (root); give it a group of its own");
  PrivilegeTarget t;
  t.user = user;
  t.uid = e.uid;
  t.gid = e.gid;
  t.keep = keep;
  t.groups.push_back(e.gid);
  if (!control_group.empty()) {
    auto g = accounts.group(control_group);
    if (!g) return make_error("router.control-group: " + g.error());
    if (!*g) return make_error("router.control-group: no such group '" + control_group + "'");
    if (**g == 0)
      return make_error("router.control-group '" + control_group +
                        "' is gid 0; with router.user set it must be a group of its own");
    if (**g != e.gid) t.groups.push_back(**g);
  }
  return t;
}

Result<ThreadCreds> parse_proc_status(std::string_view text) {
  ThreadCreds c;
  auto need = [&](std::string_view key) -> Result<std::string_view> {
    auto v = field(text, key);
    if (!v) return make_error("status has no " + std::string(key) + " line");
    return *v;
  };
  auto ids = [&](std::string_view key, auto* dst) -> Result<void> {
    auto v = need(key);
    if (!v) return make_error(v.error());
    using T = std::remove_pointer_t<decltype(dst)>;
    auto n = numbers<T>(*v);
    if (!n || n->size() != 4)
      return make_error(std::string(key) + ": expected 4 ids, got '" + std::string(*v) + "'");
    std::copy(n->begin(), n->end(), dst);
    return {};
  };
  auto mask = [&](std::string_view key, CapMask& dst) -> Result<void> {
    auto v = need(key);
    if (!v) return make_error(v.error());
    auto n = numbers<uint64_t>(*v, 16);
    if (!n || n->size() != 1)
      return make_error(std::string(key) + ": expected a hex mask, got '" + std::string(*v) + "'");
    dst = n->front();
    return {};
  };
  auto pid = need("Pid");
  if (!pid) return make_error(pid.error());
  auto p = numbers<pid_t>(*pid);
  if (!p || p->size() != 1) return make_error("Pid: bad value '" + std::string(*pid) + "'");
  c.tid = p->front();
  if (auto r = ids("Uid", c.uid); !r) return make_error(r.error());
  if (auto r = ids("Gid", c.gid); !r) return make_error(r.error());
  auto groups = need("Groups");
  if (!groups) return make_error(groups.error());
  auto g = numbers<gid_t>(*groups);
  if (!g) return make_error("Groups: " + g.error());
  c.groups = *g;
  for (auto [key, dst] : {std::pair<const char*, CapMask*>{"CapInh", &c.inh},
                          {"CapPrm", &c.prm},
                          {"CapEff", &c.eff},
                          {"CapBnd", &c.bnd},
                          {"CapAmb", &c.amb}})
    if (auto r = mask(key, *dst); !r) return make_error(r.error());
  auto nnp = need("NoNewPrivs");
  if (!nnp) return make_error(nnp.error());
  c.no_new_privs = *nnp == "1";
  return c;
}

Result<void> check_thread(const ThreadCreds& c, const PrivilegeTarget& t, bool main_thread,
                          bool full) {
  const std::string who = "thread " + std::to_string(c.tid) + ": ";
  static const char* kIdNames[4] = {"real", "effective", "saved", "filesystem"};
  for (int i = 0; i < 4; ++i) {
    if (c.uid[i] != t.uid)
      return make_error(who + kIdNames[i] + " uid is " + std::to_string(c.uid[i]) + ", want " +
                        std::to_string(t.uid) + " (" + t.user + ")");
    if (c.gid[i] != t.gid)
      return make_error(who + kIdNames[i] + " gid is " + std::to_string(c.gid[i]) + ", want " +
                        std::to_string(t.gid));
  }
  if (full) {
    auto have = c.groups, want = t.groups;
    std::sort(have.begin(), have.end());
    std::sort(want.begin(), want.end());
    if (have != want)
      return make_error(who + "supplementary groups are " + id_list(have) + ", want " +
                        id_list(want));
  }
  if (c.inh) return make_error(who + "inheritable capabilities left: " + cap_names(c.inh));
  if (c.amb) return make_error(who + "ambient capabilities left: " + cap_names(c.amb));
  if (main_thread) {
    if (c.prm != t.keep || c.eff != t.keep)
      return make_error(who + "capabilities are permitted " + cap_names(c.prm) + ", effective " +
                        cap_names(c.eff) + "; want exactly " + cap_names(t.keep));
  } else if ((c.prm | c.eff) & ~t.keep) {
    return make_error(who + "capabilities beyond " + cap_names(t.keep) +
                      " left: " + cap_names((c.prm | c.eff) & ~t.keep));
  }
  if (full) {
    if (c.bnd & ~t.keep)
      return make_error(who + "bounding set still holds " + cap_names(c.bnd & ~t.keep));
    if (!c.no_new_privs) return make_error(who + "no_new_privs is not set");
  }
  return {};
}

Result<void> verify_threads(const PrivilegeSystem& sys, const PrivilegeTarget& t, bool full) {
  auto texts = sys.thread_status_texts();
  if (!texts) return make_error("verify: " + texts.error());
  bool first = true;
  for (const auto& text : *texts) {
    auto c = parse_proc_status(text);
    if (!c) return make_error("verify: " + c.error());
    if (auto r = check_thread(*c, t, first, full); !r) return make_error("verify: " + r.error());
    first = false;
  }
  return {};
}

Result<void> prepare_drop(PrivilegeSystem& sys, const PrivilegeTarget& t) {
  if (sys.euid() != 0) return {};  // not root: drop_privileges only restricts capabilities
  if (auto r = sys.drop_bounding_except(t.keep); !r) return r;
  return sys.set_no_new_privs();
}

Result<void> drop_privileges(PrivilegeSystem& sys, const PrivilegeTarget& t) {
  const uid_t euid = sys.euid();
  if (euid != 0) {
    if (euid != t.uid)
      return make_error("ferryd runs as uid " + std::to_string(euid) +
                        ", neither root nor router.user '" + t.user + "' (uid " +
                        std::to_string(t.uid) + ")");
    if (auto r = sys.set_caps(t.keep); !r)
      return make_error(r.error() + " (ferryd needs " + cap_names(t.keep) + ")");
    if (auto r = sys.clear_ambient(); !r) return r;
    return verify_threads(sys, t, /*full=*/false);
  }
  // keepcaps: this thread's permitted set survives setresuid; effective is
  // cleared by the kernel and set again below.
  if (auto r = sys.set_keep_caps(true); !r) return r;
  if (auto r = sys.set_groups(t.groups); !r) return r;
  if (auto r = sys.set_resgid(t.gid); !r) return r;
  if (auto r = sys.set_resuid(t.uid); !r) return r;
  if (auto r = sys.set_caps(t.keep); !r) return r;
  if (auto r = sys.clear_ambient(); !r) return r;
  if (auto r = sys.set_keep_caps(false); !r) return r;
  return verify_threads(sys, t, /*full=*/true);
}

}  // namespace ferry::daemon
