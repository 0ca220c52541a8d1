#include "config/reader.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace ferry::config::detail {

void Ctx::fail(uint32_t line, const std::string& path, const std::string& what) const {
  throw ConfigError{file_ + ":" + std::to_string(line) + ": " + path + ": " + what};
}

uint32_t line_of(const toml::node& n, uint32_t fallback) {
  const auto l = n.source().begin.line;
  return l ? l : fallback;
}

std::string type_name(const toml::node& n) {
  switch (n.type()) {
    case toml::node_type::string:
      return "a string";
    case toml::node_type::integer:
      return "an integer";
    case toml::node_type::floating_point:
      return "a float";
    case toml::node_type::boolean:
      return "a boolean";
    case toml::node_type::array:
      return "an array";
    case toml::node_type::table:
      return "a table";
    case toml::node_type::date:
    case toml::node_type::time:
    case toml::node_type::date_time:
      return "a date/time";
    default:
      return "nothing";
  }
}

std::string quote(std::string_view s) {
  std::string out = "\"";
  for (const char c : s) {
    const auto u = static_cast<unsigned char>(c);
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\r':
        out += "\\r";
        break;
      default:
        if (u < 0x20 || u == 0x7f) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", u);
          out += buf;
        } else {
          out += c;
        }
    }
  }
  return out + "\"";
}

static std::string range_text(uint64_t lo, uint64_t hi) {
  return "expected an integer " + std::to_string(lo) + ".." + std::to_string(hi);
}

uint64_t Value::uint(uint64_t lo, uint64_t hi) const {
  const auto* i = node.as_integer();
  if (!i) fail(range_text(lo, hi) + ", got " + type_name(node));
  const int64_t v = i->get();
  if (v < 0 || static_cast<uint64_t>(v) < lo || static_cast<uint64_t>(v) > hi)
    fail(range_text(lo, hi) + ", got " + std::to_string(v));
  return static_cast<uint64_t>(v);
}

bool Value::boolean() const {
  const auto* b = node.as_boolean();
  if (!b) fail("expected a boolean (true or false), got " + type_name(node));
  return b->get();
}

std::string Value::string() const {
  return string_for("a string");
}

std::string Value::string_for(const std::string& what) const {
  const auto* s = node.as_string();
  if (!s) fail("expected " + what + ", got " + type_name(node));
  return s->get();
}

double Value::number() const {
  if (const auto* f = node.as_floating_point()) {
    if (!std::isfinite(f->get())) fail("expected a finite number");
    return f->get();
  }
  if (const auto* i = node.as_integer()) return static_cast<double>(i->get());
  fail("expected a number, got " + type_name(node));
}

std::vector<Value> Value::array(const std::string& what) const {
  const auto* a = node.as_array();
  if (!a) fail("expected an array of " + what + ", got " + type_name(node));
  std::vector<Value> out;
  out.reserve(a->size());
  for (size_t i = 0; i < a->size(); ++i) {
    const toml::node& n = *a->get(i);
    out.push_back(Value{ctx, n, path + "[" + std::to_string(i) + "]", line_of(n, line)});
  }
  return out;
}

const toml::table& Value::table() const {
  const auto* t = node.as_table();
  if (!t) fail("expected a table, got " + type_name(node));
  return *t;
}

size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t sub = prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, sub});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

TableReader::TableReader(const Ctx& ctx, const toml::table& t, std::string path,
                         std::initializer_list<std::string_view> known)
    : ctx_(ctx), t_(t), path_(std::move(path)), line_(line_of(t, 1)) {
  for (auto&& [k, v] : t_) {
    const std::string_view name = k.str();
    if (std::find(known.begin(), known.end(), name) != known.end()) continue;
    std::string what = "unknown key";
    std::string_view best;
    size_t best_d = 3;  // suggest only close spellings
    for (const auto& cand : known) {
      const size_t d = edit_distance(name, cand);
      if (d < best_d) best_d = d, best = cand;
    }
    if (!best.empty()) what += " (did you mean \"" + std::string(best) + "\"?)";
    ctx_.fail(k.source().begin.line ? k.source().begin.line : line_of(v, line_), key_path(name),
              what);
  }
}

std::string TableReader::key_path(std::string_view key) const {
  return path_.empty() ? std::string(key) : path_ + "." + std::string(key);
}

std::optional<Value> TableReader::get(std::string_view key) const {
  const toml::node* n = t_.get(key);
  if (!n) return std::nullopt;
  return Value{ctx_, *n, key_path(key), line_of(*n, line_)};
}

Value TableReader::require(std::string_view key, const std::string& what) const {
  auto v = get(key);
  if (!v) ctx_.fail(line_, key_path(key), "missing; expected " + what);
  return *v;
}

void TableReader::fail(std::string_view key, const std::string& what) const {
  const toml::node* n = t_.get(key);
  ctx_.fail(n ? line_of(*n, line_) : line_, key_path(key), what);
}

}  // namespace ferry::config::detail
