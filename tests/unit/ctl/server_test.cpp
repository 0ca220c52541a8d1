// End-to-end tests of the control protocol over a real Unix socket.
#include "ctl/server.hpp"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <filesystem>
#include <thread>

#include "ctl/client.hpp"

using namespace ferry;
using namespace ferry::ctl;

namespace {

class CtlServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("ferry-ctl-test-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
    path_ = (dir_ / "ctl.sock").string();
    registry_.add(
        "echo",
        [](const Json& a) -> Result<Json> {
          return Json{{"args", a}};
        },
        false);
    registry_.add(
        "fail", [](const Json&) -> Result<Json> { return make_error("bad neighbor 'x'"); }, false);
    registry_.add(
        "throw", [](const Json&) -> Result<Json> { throw std::runtime_error("boom"); }, false);
    registry_.add(
        "mutate", [](const Json&) -> Result<Json> { return Json("done"); }, true);
    server_ = std::make_unique<Server>(io_, registry_);
    auto r = server_->listen(path_, "");
    ASSERT_TRUE(r.ok()) << r.error();
    work_.emplace(io_.get_executor());
    thread_ = std::thread([this] { io_.run(); });
  }
  void TearDown() override {
    asio::post(io_, [this] { server_->close(); });
    work_.reset();
    io_.stop();
    thread_.join();
    std::filesystem::remove_all(dir_);
  }

  // Sends raw bytes and returns what comes back until EOF or the first newline.
  std::string raw(const std::string& bytes) {
    int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::strcpy(a.sun_path, path_.c_str());
    EXPECT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    size_t off = 0;
    while (off < bytes.size()) {
      ssize_t n = ::write(fd, bytes.data() + off, bytes.size() - off);
      if (n <= 0) break;
      off += static_cast<size_t>(n);
    }
    std::string out;
    char buf[4096];
    while (out.find('\n') == std::string::npos) {
      ssize_t n = ::read(fd, buf, sizeof buf);
      if (n <= 0) break;
      out.append(buf, static_cast<size_t>(n));
    }
    ::close(fd);
    return out;
  }

  asio::io_context io_;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work_;
  std::thread thread_;
  Registry registry_;
  std::unique_ptr<Server> server_;
  std::filesystem::path dir_;
  std::string path_;
};

TEST_F(CtlServerTest, SocketIsMode0660) {
  struct stat st {};
  ASSERT_EQ(::stat(path_.c_str(), &st), 0);
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
  EXPECT_EQ(st.st_mode & 0777, 0660u);
}

TEST_F(CtlServerTest, RoundTripsArgs) {
  auto r = call(path_, "echo", Json{{"name", "site-b"}});
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ((*r)["ok"], true);
  EXPECT_EQ((*r)["result"]["args"]["name"], "site-b");
}

TEST_F(CtlServerTest, HandlerErrorsAreReplies) {
  auto r = call(path_, "fail");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ((*r)["ok"], false);
  EXPECT_EQ((*r)["error"], "bad neighbor 'x'");
  auto t = call(path_, "throw");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ((*t)["ok"], false);
  EXPECT_NE((*t)["error"].get<std::string>().find("boom"), std::string::npos);
}

TEST_F(CtlServerTest, UnknownCommand) {
  auto r = call(path_, "show nothing");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ((*r)["ok"], false);
  EXPECT_EQ((*r)["error"], "unknown command: show nothing");
}

TEST_F(CtlServerTest, MalformedRequestsGetJsonErrors) {
  for (const char* bad : {"not json\n", "[1,2]\n", "{\"command\": 5}\n",
                          "{\"command\": \"echo\", \"args\": [1]}\n", "\n", "{\"x\":\n"}) {
    std::string reply = raw(bad);
    Json j = Json::parse(reply, nullptr, false);
    ASSERT_FALSE(j.is_discarded()) << bad << " -> " << reply;
    EXPECT_EQ(j["ok"], false) << bad;
    EXPECT_TRUE(j["error"].is_string());
  }
  // The server still works after all that.
  auto r = call(path_, "echo");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ((*r)["ok"], true);
}

TEST_F(CtlServerTest, OversizedRequestIsRejected) {
  std::string big(Server::kMaxRequest + 100, 'x');
  std::string reply = raw(big);
  Json j = Json::parse(reply, nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << reply.substr(0, 100);
  EXPECT_EQ(j["error"], "request too long");
}

TEST_F(CtlServerTest, SeveralRequestsOnOneConnection) {
  std::string reply = raw("{\"command\":\"echo\"}\n");
  EXPECT_NE(reply.find("\"ok\":true"), std::string::npos);
}

TEST_F(CtlServerTest, MutatingAllowedForRoot) {
  // Tests run as root or as the daemon's own uid; both may mutate.
  auto r = call(path_, "mutate");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ((*r)["ok"], true);
}

TEST(CtlRegistry, ReadOnlyClientCannotMutate) {
  Registry reg;
  reg.add(
      "reload", [](const Json&) -> Result<Json> { return Json("ok"); }, true);
  reg.add(
      "show status", [](const Json&) -> Result<Json> { return Json("ok"); }, false);
  EXPECT_EQ(reg.dispatch_line(R"({"command":"reload"})", false)["ok"], false);
  EXPECT_EQ(reg.dispatch_line(R"({"command":"show status"})", false)["ok"], true);
  EXPECT_EQ(reg.dispatch_line(R"({"command":"reload"})", true)["ok"], true);
}

TEST(CtlClient, NoDaemonIsAClearError) {
  auto r = call("/nonexistent/ferry.sock", "show status");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().find("cannot connect to ferryd"), std::string::npos);
}

TEST_F(CtlServerTest, SecondServerOnSamePathRefuses) {
  Server other(io_, registry_);
  auto r = other.listen(path_, "");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().find("in use"), std::string::npos);
}

}  // namespace
