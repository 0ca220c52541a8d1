// Typed, position-aware access to a parsed TOML document (internal to the
// config module).
//
// parse.cpp walks the document section by section through a TableReader per
// table. A TableReader first rejects unknown keys, then hands out typed values;
// every failure throws ConfigError carrying "file:line: key.path: expected ...",
// which parse() catches and turns into a Result error. Nothing here outlives a
// parse() call and no exception leaves the config module.
#pragma once

#include <toml++/toml.h>

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "common/ip.hpp"

namespace ferry::config {
struct IpsecConfig;
}

namespace ferry::config::detail {

struct ConfigError {
  std::string message;
};

// Where errors are reported: the file name used in messages.
class Ctx {
 public:
  explicit Ctx(std::string file) : file_(std::move(file)) {}
  const std::string& file() const { return file_; }
  [[noreturn]] void fail(uint32_t line, const std::string& path, const std::string& what) const;

 private:
  std::string file_;
};

uint32_t line_of(const toml::node& n, uint32_t fallback);
// Human-readable TOML type name for "got ..." in messages.
std::string type_name(const toml::node& n);
// TOML basic-string quoting, for messages and the printer.
std::string quote(std::string_view s);

// A value somewhere in the document together with its key path.
struct Value {
  const Ctx& ctx;
  const toml::node& node;
  std::string path;
  uint32_t line;

  [[noreturn]] void fail(const std::string& what) const { ctx.fail(line, path, what); }
  uint64_t uint(uint64_t lo, uint64_t hi) const;
  bool boolean() const;
  std::string string() const;
  double number() const;
  // A string converted by f (returning std::optional); "expected <what>, got ..." otherwise.
  template <typename F>
  auto parsed(const std::string& what, F&& f) const
      -> std::remove_cvref_t<decltype(*f(std::string()))> {
    const std::string s = string_for(what);
    auto r = f(s);
    if (!r) fail("expected " + what + ", got " + quote(s));
    return *r;
  }
  // Elements of an array; "expected an array of <what>" otherwise.
  std::vector<Value> array(const std::string& what) const;
  const toml::table& table() const;

 private:
  std::string string_for(const std::string& what) const;
};

// One TOML table: rejects unknown keys on construction, then typed lookups.
class TableReader {
 public:
  TableReader(const Ctx& ctx, const toml::table& t, std::string path,
              std::initializer_list<std::string_view> known);

  const std::string& path() const { return path_; }
  uint32_t line() const { return line_; }
  std::string key_path(std::string_view key) const;
  bool has(std::string_view key) const { return t_.contains(key); }
  std::optional<Value> get(std::string_view key) const;
  // Fails "missing; expected <what>" at the table's line when absent.
  Value require(std::string_view key, const std::string& what) const;
  [[noreturn]] void fail(std::string_view key, const std::string& what) const;

  // Convenience: assign when present.
  void uint_into(std::string_view key, uint64_t lo, uint64_t hi, auto& out) const {
    if (auto v = get(key)) out = static_cast<std::remove_cvref_t<decltype(out)>>(v->uint(lo, hi));
  }
  void bool_into(std::string_view key, bool& out) const {
    if (auto v = get(key)) out = v->boolean();
  }
  void string_into(std::string_view key, std::string& out) const {
    if (auto v = get(key)) out = v->string();
  }

 private:
  const Ctx& ctx_;
  const toml::table& t_;
  std::string path_;
  uint32_t line_;
};

// Schema checks shared by the section parsers (parse.cpp, parse_ipsec.cpp).
std::string check_name(const Value& v);    // 1..64 of [A-Za-z0-9._-]
std::string check_ifname(const Value& v);  // a valid Linux interface name
IpAddress address(const Value& v);
Prefix prefix(const Value& v);                 // no host bits
std::vector<Prefix> prefixes(const Value& v);  // an array, no duplicates

// The [ipsec] section (parse_ipsec.cpp).
IpsecConfig parse_ipsec(const Ctx& ctx, const TableReader& t);

// Edit distance, for "did you mean" hints on unknown keys.
size_t edit_distance(std::string_view a, std::string_view b);

}  // namespace ferry::config::detail
