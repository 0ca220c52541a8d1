// Access control of the control socket, with real credentials: the
// socket file is 0660 and belongs to the control group; a client in that group
// may run read-only commands but not mutating ones; a client outside it cannot
// connect at all. Needs root (clients are forked children that switch to
// "nobody"-like ids); skipped otherwise.
#include <grp.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <thread>

#include "ctl/client.hpp"
#include "ctl/server.hpp"

using namespace ferry;
using namespace ferry::ctl;

namespace {

// An unprivileged uid/gid that owns nothing here.
constexpr uid_t kClientUid = 65534;
constexpr gid_t kClientGid = 54321;

enum Outcome { kOk = 10, kDenied = 11, kNoConnect = 12, kOther = 13 };

class CtlAccessTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root to act as other users";
    for (const char* name : {"nogroup", "nobody"}) {
      if (group* g = ::getgrnam(name); g && g->gr_gid != 0) {
        group_ = name;
        gid_ = g->gr_gid;
        break;
      }
    }
    if (group_.empty()) GTEST_SKIP() << "no 'nogroup'/'nobody' group to use as control group";
    dir_ = std::filesystem::temp_directory_path() /
           ("ferry-ctl-access-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
    std::filesystem::permissions(dir_, std::filesystem::perms(0755));
    path_ = (dir_ / "ctl.sock").string();
    registry_.add(
        "show", [](const Json&) -> Result<Json> { return Json("shown"); }, false);
    registry_.add(
        "mutate", [](const Json&) -> Result<Json> { return Json("done"); }, true);
    server_ = std::make_unique<Server>(io_, registry_);
    auto r = server_->listen(path_, group_);
    ASSERT_TRUE(r.ok()) << r.error();
    work_.emplace(io_.get_executor());
    thread_ = std::thread([this] { io_.run(); });
  }
  void TearDown() override {
    if (!server_) return;
    asio::post(io_, [this] { server_->close(); });
    work_.reset();
    io_.stop();
    thread_.join();
    std::filesystem::remove_all(dir_);
  }

  // Runs `command` in a child as kClientUid with the given groups.
  int call_as(std::vector<gid_t> groups, const std::string& command) {
    const pid_t child = ::fork();
    if (child == 0) {
      if (::setgroups(groups.size(), groups.data()) != 0 ||
          ::setresgid(kClientGid, kClientGid, kClientGid) != 0 ||
          ::setresuid(kClientUid, kClientUid, kClientUid) != 0)
        ::_exit(kOther);
      auto r = call(path_, command);
      if (!r.ok())
        ::_exit(r.error().find("Permission denied") != std::string::npos ? kNoConnect : kOther);
      if ((*r)["ok"] == true) ::_exit(kOk);
      const std::string err = (*r)["error"];
      ::_exit(err.rfind("permission denied", 0) == 0 ? kDenied : kOther);
    }
    int status = 0;
    if (child < 0 || ::waitpid(child, &status, 0) != child || !WIFEXITED(status)) return -1;
    return WEXITSTATUS(status);
  }

  asio::io_context io_;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work_;
  std::thread thread_;
  Registry registry_;
  std::unique_ptr<Server> server_;
  std::filesystem::path dir_;
  std::string path_;
  std::string group_;
  gid_t gid_ = 0;
};

TEST_F(CtlAccessTest, SocketIs0660AndOwnedByTheControlGroup) {
  struct stat st {};
  ASSERT_EQ(::stat(path_.c_str(), &st), 0);
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
  EXPECT_EQ(st.st_mode & 0777, 0660u);
  EXPECT_EQ(st.st_gid, gid_);
}

TEST_F(CtlAccessTest, GroupMemberIsReadOnly) {
  EXPECT_EQ(call_as({gid_}, "show"), kOk);
  EXPECT_EQ(call_as({gid_}, "mutate"), kDenied);
}

TEST_F(CtlAccessTest, NonMemberCannotConnect) {
  EXPECT_EQ(call_as({}, "show"), kNoConnect);
}

TEST_F(CtlAccessTest, RootMayMutate) {
  auto r = call(path_, "mutate");
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ((*r)["result"], "done");
}

TEST(CtlAccess, UnknownControlGroupIsAClearError) {
  asio::io_context io;
  Registry reg;
  Server s(io, reg);
  const auto path = (std::filesystem::temp_directory_path() /
                     ("ferry-ctl-nogroup-" + std::to_string(::getpid()) + ".sock"))
                        .string();
  auto r = s.listen(path, "ferry-no-such-group-xyz");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error(), "control-group 'ferry-no-such-group-xyz' does not exist");
  EXPECT_FALSE(std::filesystem::exists(path)) << "a refused listen left a socket behind";
  s.close();
}

}  // namespace
