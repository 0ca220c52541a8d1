// The /metrics HTTP server: request parsing (RFC 9112) and one real
// server on 127.0.0.1 with clients on the same io_context.
#include <gtest/gtest.h>

#include <asio.hpp>

#include "metrics/http.hpp"

using namespace ferry::metrics;

TEST(HttpParse, GetWithHeaders) {
  auto r = parse_request("GET /metrics?x=1 HTTP/1.1\r\nHost: a\r\nAccept: */*\r\n\r\n");
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(r->method, "GET");
  EXPECT_EQ(r->path, "/metrics");
}

TEST(HttpParse, BareLineFeedsAndHttp10) {
  auto r = parse_request("HEAD / HTTP/1.0\n\n");
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(r->method, "HEAD");
  EXPECT_EQ(r->path, "/");
}

TEST(HttpParse, Malformed) {
  EXPECT_EQ(parse_request("").error(), "incomplete request line");
  EXPECT_EQ(parse_request("GET /metrics\r\n\r\n").error(), "malformed request line");
  EXPECT_EQ(parse_request("G(T / HTTP/1.1\r\n\r\n").error(), "malformed method");
  EXPECT_EQ(parse_request("GET metrics HTTP/1.1\r\n\r\n").error(),
            "request target must be an absolute path");
  EXPECT_EQ(parse_request("GET /a\x01 HTTP/1.1\r\n\r\n").error(),
            "request target must be an absolute path");
  EXPECT_EQ(parse_request("GET / HTTP/2\r\n\r\n").error(), "unsupported HTTP version");
  EXPECT_EQ(parse_request("GET / HTTP/1.1\r\nHost: a\r\n").error(),
            "header section not terminated by an empty line");
  EXPECT_EQ(parse_request("GET / HTTP/1.1\r\nHost a\r\n\r\n").error(), "malformed header field");
  EXPECT_EQ(parse_request("GET / HTTP/1.1\r\nHost: a\r\n folded\r\n\r\n").error(),
            "obsolete line folding in header section");
}

TEST(HttpResponse, StatusLineHeadersBody) {
  EXPECT_EQ(serialize_response({200, "text/plain", "ab"}, false),
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n"
            "Connection: close\r\n\r\nab");
  // HEAD: same headers, no body (RFC 9110 §9.3.2).
  EXPECT_EQ(serialize_response({200, "text/plain", "ab"}, true),
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n"
            "Connection: close\r\n\r\n");
  EXPECT_NE(serialize_response({405, "text/plain", ""}, false).find("Allow: GET, HEAD\r\n"),
            std::string::npos);
}

namespace {

// Sends `request` to the server and returns everything it answers until it closes.
class Client {
 public:
  Client(asio::io_context& io, uint16_t port, std::string request)
      : sock_(io), request_(std::move(request)) {
    sock_.async_connect({asio::ip::make_address("127.0.0.1"), port}, [this](std::error_code ec) {
      if (ec) return finish();
      asio::async_write(sock_, asio::buffer(request_), [this](std::error_code e, size_t) {
        if (e) return finish();
        read();
      });
    });
  }
  bool done = false;
  std::string response;

 private:
  void read() {
    sock_.async_read_some(asio::buffer(buf_), [this](std::error_code ec, size_t n) {
      response.append(buf_.data(), n);
      if (ec) return finish();
      read();
    });
  }
  void finish() { done = true; }
  asio::ip::tcp::socket sock_;
  std::string request_;
  std::array<char, 4096> buf_{};
};

struct Fixture : ::testing::Test {
  asio::io_context io;
  int calls = 0;
  HttpServer server{io, [this](const HttpRequest& r) {
                      ++calls;
                      if (r.path != "/metrics") return HttpResponse{404, "text/plain", "no\n"};
                      return HttpResponse{200, "text/plain; version=0.0.4", "m 1\n"};
                    }};
  void SetUp() override { ASSERT_TRUE(server.listen(ferry::IpAddress::v4(0x7f000001), 0).ok()); }
  std::string exchange(const std::string& req) {
    Client c(io, server.port(), req);
    while (!c.done) io.run_one();
    return c.response;
  }
};

}  // namespace

TEST_F(Fixture, ServesMetrics) {
  ASSERT_NE(server.port(), 0);
  const std::string r = exchange("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_TRUE(r.starts_with("HTTP/1.1 200 OK\r\n")) << r;
  EXPECT_NE(r.find("Content-Type: text/plain; version=0.0.4\r\n"), std::string::npos);
  EXPECT_TRUE(r.ends_with("\r\n\r\nm 1\n"));
  EXPECT_EQ(calls, 1);
}

TEST_F(Fixture, HeadNotFoundBadMethodBadRequest) {
  EXPECT_TRUE(exchange("HEAD /metrics HTTP/1.1\r\n\r\n").ends_with("Connection: close\r\n\r\n"));
  EXPECT_TRUE(exchange("GET /other HTTP/1.1\r\n\r\n").starts_with("HTTP/1.1 404 Not Found"));
  EXPECT_TRUE(
      exchange("POST /metrics HTTP/1.1\r\n\r\n").starts_with("HTTP/1.1 405 Method Not Allowed"));
  EXPECT_TRUE(exchange("garbage\r\n\r\n").starts_with("HTTP/1.1 400 Bad Request"));
  EXPECT_EQ(calls, 2);  // only the well-formed GET and HEAD reach the handler
}

TEST_F(Fixture, OversizedHeadIsRefused) {
  // Exactly the limit, without the empty line that ends a head: the server has read
  // all of it when it answers, so closing does not reset the connection.
  std::string big = "GET /metrics HTTP/1.1\r\nX: ";
  big += std::string(HttpServer::kMaxRequest - big.size(), 'a');
  EXPECT_TRUE(exchange(big).starts_with("HTTP/1.1 431 "));
  EXPECT_EQ(calls, 0);
}

TEST_F(Fixture, HandlerExceptionIs500) {
  HttpServer s2(io, [](const HttpRequest&) -> HttpResponse { throw std::runtime_error("boom"); });
  ASSERT_TRUE(s2.listen(ferry::IpAddress::v4(0x7f000001), 0).ok());
  Client c(io, s2.port(), "GET /metrics HTTP/1.1\r\n\r\n");
  while (!c.done) io.run_one();
  EXPECT_TRUE(c.response.starts_with("HTTP/1.1 500 ")) << c.response;
}

TEST_F(Fixture, AfterCloseNoNewConnections) {
  server.close();
  Client c(io, server.port(), "GET /metrics HTTP/1.1\r\n\r\n");
  while (!c.done) io.run_one();
  EXPECT_EQ(c.response, "");
  EXPECT_EQ(calls, 0);
}

TEST(HttpListen, BusyPortIsAnError) {
  asio::io_context io;
  HttpServer a(io, [](const HttpRequest&) { return HttpResponse{}; });
  ASSERT_TRUE(a.listen(ferry::IpAddress::v4(0x7f000001), 0).ok());
  HttpServer b(io, [](const HttpRequest&) { return HttpResponse{}; });
  auto r = b.listen(ferry::IpAddress::v4(0x7f000001), a.port());
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().find("metrics: listen on 127.0.0.1 port"), std::string::npos) << r.error();
}
