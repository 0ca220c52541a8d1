// Tests of ferryd's privilege drop (daemon/privileges.hpp): account resolution
// errors, capability masks, /proc status parsing and per-thread checks, the
// order of the switch (against a recording fake), and, when run as root, the
// real switch in a forked child (to "nobody") with a worker thread.
#include "daemon/privileges.hpp"

#include <grp.h>
#include <gtest/gtest.h>
#include <linux/capability.h>
#include <pwd.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <map>
#include <thread>

namespace ferry::daemon {
namespace {

class FakeAccounts : public Accounts {
 public:
  std::map<std::string, UserEntry> users;
  std::map<std::string, gid_t> groups;
  bool broken = false;
  Result<std::optional<UserEntry>> user(const std::string& name) const override {
    if (broken) return make_error("lookup failed: Input/output error");
    auto it = users.find(name);
    if (it == users.end()) return std::optional<UserEntry>();
    return std::optional<UserEntry>(it->second);
  }
  Result<std::optional<gid_t>> group(const std::string& name) const override {
    auto it = groups.find(name);
    if (it == groups.end()) return std::optional<gid_t>();
    return std::optional<gid_t>(it->second);
  }
};

FakeAccounts accounts() {
  FakeAccounts a;
  a.users["ferry"] = {990, 985};
  a.users["rootalias"] = {0, 985};
  a.users["rootgroup"] = {991, 0};
  a.groups["ferryctl"] = 984;
  a.groups["ferry"] = 985;
  a.groups["wheel"] = 0;
  return a;
}

TEST(CapMask, KeptAreNetAdminAndNetBindService) {
  // Bits 10 and 12 of the kernel's mask (linux/capability.h), i.e. 0x1400 in /proc/<pid>/status.
  EXPECT_EQ(kept_capabilities(), CapMask{0x1400});
  EXPECT_EQ(cap_mask({CAP_NET_RAW}), CapMask{1} << 13);
  EXPECT_EQ(cap_names(kept_capabilities()), "cap_net_bind_service,cap_net_admin");
  EXPECT_EQ(cap_names(0), "none");
}

TEST(ResolveTarget, UserAndControlGroup) {
  auto a = accounts();
  auto t = resolve_target(a, "ferry", "ferryctl");
  ASSERT_TRUE(t.ok()) << t.error();
  EXPECT_EQ(t->uid, 990u);
  EXPECT_EQ(t->gid, 985u);
  EXPECT_EQ(t->groups, (std::vector<gid_t>{985, 984}));
  EXPECT_EQ(t->keep, kept_capabilities());
}

TEST(ResolveTarget, ControlGroupEqualToPrimaryIsNotRepeated) {
  auto a = accounts();
  auto t = resolve_target(a, "ferry", "ferry");
  ASSERT_TRUE(t.ok()) << t.error();
  EXPECT_EQ(t->groups, (std::vector<gid_t>{985}));
  auto none = resolve_target(a, "ferry", "");
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(none->groups, (std::vector<gid_t>{985}));
}

TEST(ResolveTarget, Errors) {
  auto a = accounts();
  auto no_user = resolve_target(a, "nosuch", "ferryctl");
  ASSERT_FALSE(no_user.ok());
  EXPECT_EQ(no_user.error(), "router.user: no such user 'nosuch'");
  auto no_group = resolve_target(a, "ferry", "nosuchgroup");
  ASSERT_FALSE(no_group.ok());
  EXPECT_EQ(no_group.error(), "router.control-group: no such group 'nosuchgroup'");
  auto root = resolve_target(a, "rootalias", "");
  ASSERT_FALSE(root.ok());
  EXPECT_NE(root.error().find("uid 0"), std::string::npos) << root.error();
  EXPECT_FALSE(resolve_target(a, "rootgroup", "").ok());
  EXPECT_FALSE(resolve_target(a, "ferry", "wheel").ok());
  EXPECT_FALSE(resolve_target(a, "", "").ok());
  a.broken = true;
  auto broken = resolve_target(a, "ferry", "");
  ASSERT_FALSE(broken.ok());
  EXPECT_NE(broken.error().find("lookup failed"), std::string::npos);
}

TEST(SystemAccounts, ResolvesNobodyAndRejectsUnknown) {
  auto sys = make_system_accounts();
  auto u = sys->user("ferry-no-such-user-xyz");
  ASSERT_TRUE(u.ok()) << u.error();
  EXPECT_FALSE(u->has_value());
  auto g = sys->group("ferry-no-such-group-xyz");
  ASSERT_TRUE(g.ok()) << g.error();
  EXPECT_FALSE(g->has_value());
  auto r = sys->user("root");
  ASSERT_TRUE(r.ok());
  ASSERT_TRUE(r->has_value());
  EXPECT_EQ((*r)->uid, 0u);
}

const char* kStatus =
    "Name:\tferryd\n"
    "Umask:\t0022\n"
    "State:\tS (sleeping)\n"
    "Tgid:\t4242\n"
    "Pid:\t4243\n"
    "Uid:\t990\t990\t990\t990\n"
    "Gid:\t985\t985\t985\t985\n"
    "Groups:\t984 985 \n"
    "CapInh:\t0000000000000000\n"
    "CapPrm:\t0000000000001400\n"
    "CapEff:\t0000000000001400\n"
    "CapBnd:\t0000000000001400\n"
    "CapAmb:\t0000000000000000\n"
    "NoNewPrivs:\t1\n"
    "Seccomp:\t0\n";

PrivilegeTarget target() {
  PrivilegeTarget t;
  t.user = "ferry";
  t.uid = 990;
  t.gid = 985;
  t.groups = {985, 984};
  t.keep = kept_capabilities();
  return t;
}

TEST(ProcStatus, Parses) {
  auto c = parse_proc_status(kStatus);
  ASSERT_TRUE(c.ok()) << c.error();
  EXPECT_EQ(c->tid, 4243);
  EXPECT_EQ(c->uid[0], 990u);
  EXPECT_EQ(c->uid[3], 990u);
  EXPECT_EQ(c->gid[1], 985u);
  EXPECT_EQ(c->groups, (std::vector<gid_t>{984, 985}));
  EXPECT_EQ(c->prm, 0x1400u);
  EXPECT_EQ(c->eff, 0x1400u);
  EXPECT_EQ(c->bnd, 0x1400u);
  EXPECT_EQ(c->inh, 0u);
  EXPECT_TRUE(c->no_new_privs);
  EXPECT_TRUE(check_thread(*c, target(), true, true).ok());
}

TEST(ProcStatus, EmptyGroupsAndMissingFields) {
  std::string s = kStatus;
  s.replace(s.find("984 985 "), 8, " ");
  auto c = parse_proc_status(s);
  ASSERT_TRUE(c.ok()) << c.error();
  EXPECT_TRUE(c->groups.empty());
  std::string no_eff = kStatus;
  no_eff.erase(no_eff.find("CapEff"), no_eff.find("CapBnd") - no_eff.find("CapEff"));
  auto e = parse_proc_status(no_eff);
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.error(), "status has no CapEff line");
  std::string bad_uid = kStatus;
  bad_uid.replace(bad_uid.find("990\t990\t990\t990"), 15, "990\t990");
  EXPECT_FALSE(parse_proc_status(bad_uid).ok());
}

ThreadCreds good() {
  return *parse_proc_status(kStatus);
}

TEST(CheckThread, RejectsAnythingButTheTarget) {
  const auto t = target();
  {
    auto c = good();
    c.uid[2] = 0;  // saved uid still root: could switch back
    auto r = check_thread(c, t, true, true);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error(), "thread 4243: saved uid is 0, want 990 (ferry)");
  }
  {
    auto c = good();
    c.gid[0] = 0;
    EXPECT_FALSE(check_thread(c, t, true, true).ok());
  }
  {
    auto c = good();
    c.prm |= cap_mask({CAP_SETUID});
    auto r = check_thread(c, t, true, true);
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.error().find("cap_setuid"), std::string::npos) << r.error();
  }
  {
    auto c = good();
    c.eff = cap_mask({CAP_NET_ADMIN});  // main thread must have both in effect
    EXPECT_FALSE(check_thread(c, t, true, true).ok());
    EXPECT_TRUE(check_thread(c, t, false, true).ok());  // a worker may have fewer
  }
  {
    auto c = good();
    c.amb = cap_mask({CAP_NET_ADMIN});
    EXPECT_FALSE(check_thread(c, t, false, true).ok());
  }
  {
    auto c = good();
    c.bnd |= cap_mask({CAP_SYS_ADMIN});
    EXPECT_FALSE(check_thread(c, t, true, true).ok());
    EXPECT_TRUE(check_thread(c, t, true, false).ok());  // not ours to drop when not root
  }
  {
    auto c = good();
    c.no_new_privs = false;
    EXPECT_FALSE(check_thread(c, t, true, true).ok());
  }
  {
    auto c = good();
    c.groups = {0, 984, 985};  // root's group kept as supplementary
    auto r = check_thread(c, t, true, true);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error(), "thread 4243: supplementary groups are 0 984 985, want 984 985");
  }
  {
    auto c = good();
    c.prm = c.eff = 0;  // a worker thread after the switch: nothing at all
    EXPECT_TRUE(check_thread(c, t, false, true).ok());
    EXPECT_FALSE(check_thread(c, t, true, true).ok());
  }
}

// Records the calls and models the kernel's credential state for one thread.
class FakeSystem : public PrivilegeSystem {
 public:
  std::vector<std::string> calls;
  uid_t uid = 0;
  gid_t gid = 0;
  std::vector<gid_t> groups{0};
  CapMask prm = ~CapMask{0} >> 23, eff = prm, bnd = prm;
  bool keepcaps = false, nnp = false;
  std::string fail_at;

  Result<void> step(const std::string& name) {
    calls.push_back(name);
    if (name == fail_at) return make_error(name + ": Operation not permitted");
    return {};
  }
  uid_t euid() const override { return uid; }
  Result<void> drop_bounding_except(CapMask keep) override {
    bnd &= keep;
    return step("bounding");
  }
  Result<void> set_no_new_privs() override {
    nnp = true;
    return step("nnp");
  }
  Result<void> set_keep_caps(bool on) override {
    keepcaps = on;
    return step(on ? "keepcaps=1" : "keepcaps=0");
  }
  Result<void> set_groups(const std::vector<gid_t>& g) override {
    if (uid != 0 || !(eff & cap_mask({CAP_SETGID}))) return make_error("setgroups: EPERM");
    groups = g;
    return step("setgroups");
  }
  Result<void> set_resgid(gid_t g) override {
    if (!(eff & cap_mask({CAP_SETGID}))) return make_error("setresgid: EPERM");
    gid = g;
    return step("setresgid");
  }
  Result<void> set_resuid(uid_t u) override {
    if (!(eff & cap_mask({CAP_SETUID}))) return make_error("setresuid: EPERM");
    uid = u;
    // capabilities(7): leaving uid 0 clears effective; permitted too without keepcaps.
    eff = 0;
    if (!keepcaps) prm = 0;
    return step("setresuid");
  }
  Result<void> set_caps(CapMask m) override {
    if (m & ~prm) return make_error("capset: EPERM");
    prm = eff = m;
    return step("capset");
  }
  Result<void> clear_ambient() override { return step("ambient"); }
  Result<std::vector<std::string>> thread_status_texts() const override {
    auto hex = [](CapMask m) {
      char b[17];
      std::snprintf(b, sizeof b, "%016llx", static_cast<unsigned long long>(m));
      return std::string(b);
    };
    std::string g;
    for (auto x : groups) g += std::to_string(x) + " ";
    const std::string u = std::to_string(uid), gg = std::to_string(gid);
    return std::vector<std::string>{
        "Pid:\t7\nUid:\t" + u + "\t" + u + "\t" + u + "\t" + u + "\nGid:\t" + gg + "\t" + gg +
        "\t" + gg + "\t" + gg + "\nGroups:\t" + g + "\nCapInh:\t" + hex(0) + "\nCapPrm:\t" +
        hex(prm) + "\nCapEff:\t" + hex(eff) + "\nCapBnd:\t" + hex(bnd) + "\nCapAmb:\t" + hex(0) +
        "\nNoNewPrivs:\t" + (nnp ? "1" : "0") + "\n"};
  }
};

TEST(DropPrivileges, RootSequenceInOrderAndVerified) {
  FakeSystem sys;
  const auto t = target();
  ASSERT_TRUE(prepare_drop(sys, t).ok());
  auto r = drop_privileges(sys, t);
  ASSERT_TRUE(r.ok()) << r.error();
  // Groups and gid while still root; uid last; capabilities cut down after the uid switch.
  EXPECT_EQ(sys.calls,
            (std::vector<std::string>{"bounding", "nnp", "keepcaps=1", "setgroups", "setresgid",
                                      "setresuid", "capset", "ambient", "keepcaps=0"}));
  EXPECT_EQ(sys.uid, 990u);
  EXPECT_EQ(sys.prm, kept_capabilities());
  EXPECT_FALSE(sys.keepcaps);
}

TEST(DropPrivileges, WithoutPrepareTheBoundingSetCheckFails) {
  FakeSystem sys;
  auto r = drop_privileges(sys, target());
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().find("bounding set"), std::string::npos) << r.error();
}

TEST(DropPrivileges, AStepFailingFailsStartUp) {
  for (const char* step : {"setgroups", "setresgid", "setresuid", "capset", "ambient"}) {
    FakeSystem sys;
    sys.fail_at = step;
    ASSERT_TRUE(prepare_drop(sys, target()).ok());
    auto r = drop_privileges(sys, target());
    ASSERT_FALSE(r.ok()) << step;
    EXPECT_NE(r.error().find(step), std::string::npos) << r.error();
    EXPECT_EQ(sys.calls.back(), step);
  }
}

TEST(DropPrivileges, AlreadyTheTargetUserOnlyRestrictsCapabilities) {
  FakeSystem sys;
  sys.uid = 990;
  sys.gid = 985;
  sys.groups = {985};
  sys.prm = sys.eff = kept_capabilities() | cap_mask({CAP_NET_RAW});
  ASSERT_TRUE(prepare_drop(sys, target()).ok());
  EXPECT_TRUE(sys.calls.empty());  // not root: the bounding set is not ours to change
  auto r = drop_privileges(sys, target());
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(sys.calls, (std::vector<std::string>{"capset", "ambient"}));
  EXPECT_EQ(sys.eff, kept_capabilities());
}

TEST(DropPrivileges, AlreadyTheTargetUserWithoutNetAdminFails) {
  FakeSystem sys;
  sys.uid = 990;
  sys.gid = 985;
  sys.prm = sys.eff = 0;
  auto r = drop_privileges(sys, target());
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().find("cap_net_admin"), std::string::npos) << r.error();
}

TEST(DropPrivileges, AnotherNonRootUserIsRefused) {
  FakeSystem sys;
  sys.uid = 1234;
  auto r = drop_privileges(sys, target());
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().find("neither root nor router.user"), std::string::npos) << r.error();
}

// The real thing, as root, in a forked child so the test process keeps its
// credentials: drop to "nobody" with a worker thread running, then check the
// kernel's view and that root cannot be regained.
TEST(DropPrivilegesLinux, DropsToNobodyForAllThreads) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root";
  passwd* pw = ::getpwnam("nobody");
  if (!pw || pw->pw_uid == 0 || pw->pw_gid == 0) GTEST_SKIP() << "no usable 'nobody' user";
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    auto fail = [](int code, const std::string& why) {
      std::fprintf(stderr, "child: %s\n", why.c_str());
      std::_Exit(code);
    };
    auto t = resolve_target(*make_system_accounts(), "nobody", "");
    if (!t) fail(2, t.error());
    auto sys = make_linux_privilege_system();
    if (auto r = prepare_drop(*sys, *t); !r) fail(3, r.error());
    std::atomic<int> phase{0};
    std::atomic<uid_t> worker_uid{0};
    std::thread worker([&] {
      while (phase.load() == 0) std::this_thread::yield();
      worker_uid = ::geteuid();
      phase = 2;
    });
    auto r = drop_privileges(*sys, *t);
    phase = 1;
    worker.join();
    if (!r) fail(4, r.error());
    if (worker_uid.load() != t->uid) fail(5, "worker thread kept its uid");
    if (::setresuid(0, 0, 0) == 0) fail(6, "could become root again");
    if (::setgroups(0, nullptr) == 0) fail(7, "could change groups again");
    if (::prctl(PR_CAPBSET_READ, CAP_SYS_ADMIN) != 0) fail(8, "CAP_SYS_ADMIN still bounded");
    if (auto v = verify_threads(*sys, *t, true); !v) fail(9, v.error());
    std::_Exit(0);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << "see the child's message on stderr";
}

}  // namespace
}  // namespace ferry::daemon
