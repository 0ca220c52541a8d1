// Least privilege for ferryd: after everything that needs root is
// done (TUN queues opened, UDP and BGP sockets bound, control socket created
// and chowned), ferryd switches to the configured `router.user` and keeps only
//   CAP_NET_ADMIN         netlink route/link changes, TUN ioctls, SO_*BUFFORCE
//   CAP_NET_BIND_SERVICE  binding BGP port 179 again (reload, new listeners)
// Nothing else is needed: IP_TTL/IP_MINTTL (GTSM), TCP_MD5SIG and BFD's
// TTL-255 sockets work without CAP_NET_RAW.
//
// Data flow, in main():
//   resolve_target(accounts, router.user, router.control-group)    (no side effects)
//   prepare_drop(sys)   before any thread exists: bounding set -> kept caps,
//                       no_new_privs; every thread created later inherits both
//   Daemon::start()     opens what needs root, starts the tunnel's workers
//   drop_privileges(sys, target)
//       keepcaps on; setgroups(primary gid, control group); setresgid;
//       setresuid; capset(permitted = effective = kept, inheritable = {});
//       ambient cleared; keepcaps off; then verify_threads() reads every
//       thread's /proc/self/task/<tid>/status and fails start-up unless all
//       of them run as the target uid/gid with no capability beyond the kept
//       ones (the main thread has exactly the kept ones).
//
// Threads: glibc applies setgroups/setresgid/setresuid to every thread, but
// capabilities and keepcaps are per thread. The worker threads do not have
// keepcaps, so the kernel clears their capabilities when their uid leaves 0:
// they end up with none, which is what the data plane needs. Only the main
// (control-plane) thread keeps CAP_NET_ADMIN. libcap's own cap_setuid() is
// deliberately not used: without libpsx it changes the uid of the calling
// thread only.
//
// Everything that touches the kernel goes through PrivilegeSystem so the
// sequence and the checks are unit-testable without root.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"

namespace ferry::daemon {

// A capability set as the kernel prints it in /proc/<pid>/status (bit n = capability n).
using CapMask = uint64_t;

// Bit mask of the given capability numbers (CAP_* from linux/capability.h).
CapMask cap_mask(std::initializer_list<int> caps);
// CAP_NET_ADMIN | CAP_NET_BIND_SERVICE.
CapMask kept_capabilities();
// "cap_net_admin,cap_net_bind_service" ("none" for 0); unknown bits as "cap_<n>".
std::string cap_names(CapMask m);

struct UserEntry {
  uid_t uid = 0;
  gid_t gid = 0;  // primary group
};

// The account database (getpwnam_r/getgrnam_r on Linux).
class Accounts {
 public:
  virtual ~Accounts() = default;
  // nullopt: no such name. An error: the lookup itself failed (NSS, I/O).
  virtual Result<std::optional<UserEntry>> user(const std::string& name) const = 0;
  virtual Result<std::optional<gid_t>> group(const std::string& name) const = 0;
};
std::unique_ptr<Accounts> make_system_accounts();

// Who ferryd becomes.
struct PrivilegeTarget {
  std::string user;
  uid_t uid = 0;
  gid_t gid = 0;
  std::vector<gid_t> groups;  // supplementary: primary gid, then the control group (deduplicated)
  CapMask keep = 0;
};

// Resolves router.user and router.control-group. Refuses uid 0 or gid 0: dropping
// to root is no drop at all.
Result<PrivilegeTarget> resolve_target(const Accounts& accounts, const std::string& user,
                                       const std::string& control_group,
                                       CapMask keep = kept_capabilities());

// What one thread's /proc/<pid>/task/<tid>/status says about its credentials.
struct ThreadCreds {
  pid_t tid = 0;
  uid_t uid[4] = {};  // real, effective, saved, filesystem
  gid_t gid[4] = {};
  std::vector<gid_t> groups;
  CapMask inh = 0, prm = 0, eff = 0, bnd = 0, amb = 0;
  bool no_new_privs = false;
};
Result<ThreadCreds> parse_proc_status(std::string_view text);

// Checks one thread against the target: every uid and gid is the target's,
// nothing inheritable or ambient, permitted and effective exactly `keep` on the
// main thread and within `keep` on the others. `full` (ferryd ran the whole
// root sequence): also the supplementary groups, a bounding set within `keep`
// and no_new_privs.
Result<void> check_thread(const ThreadCreds& c, const PrivilegeTarget& t, bool main_thread,
                          bool full);

// The kernel side: one small call per step.
class PrivilegeSystem {
 public:
  virtual ~PrivilegeSystem() = default;
  virtual uid_t euid() const = 0;
  virtual Result<void> drop_bounding_except(CapMask keep) = 0;
  virtual Result<void> set_no_new_privs() = 0;
  virtual Result<void> set_keep_caps(bool on) = 0;
  virtual Result<void> set_groups(const std::vector<gid_t>& groups) = 0;
  virtual Result<void> set_resgid(gid_t gid) = 0;
  virtual Result<void> set_resuid(uid_t uid) = 0;
  // This thread: permitted = effective = m, inheritable empty.
  virtual Result<void> set_caps(CapMask m) = 0;
  virtual Result<void> clear_ambient() = 0;
  // /proc/self/task/<tid>/status of every thread; the main thread (tid == pid) first.
  virtual Result<std::vector<std::string>> thread_status_texts() const = 0;
};
std::unique_ptr<PrivilegeSystem> make_linux_privilege_system();

// Before any thread exists (root only; a no-op otherwise): shrinks the
// bounding set to t.keep and sets no_new_privs, so all threads inherit both.
Result<void> prepare_drop(PrivilegeSystem& sys, const PrivilegeTarget& t);

// The switch itself, then verification of every thread. Started as root: the
// full sequence. Started as t.uid already (e.g. by systemd User=): only the
// capability restriction. Started as another non-root user: an error.
// An error means the process is in an unknown state and must exit.
Result<void> drop_privileges(PrivilegeSystem& sys, const PrivilegeTarget& t);

// All threads' credentials against the target (the checks drop_privileges ends with).
Result<void> verify_threads(const PrivilegeSystem& sys, const PrivilegeTarget& t, bool full);

}  // namespace ferry::daemon
