#include "metrics/exposition.hpp"

#include <charconv>
#include <cmath>
#include <stdexcept>

namespace ferry::metrics {

namespace {

bool name_char(char c, bool first, bool colon) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_') return true;
  if (colon && c == ':') return true;
  return !first && c >= '0' && c <= '9';
}

}  // namespace

bool valid_metric_name(std::string_view s) {
  if (s.empty()) return false;
  for (size_t i = 0; i < s.size(); ++i)
    if (!name_char(s[i], i == 0, true)) return false;
  return true;
}

bool valid_label_name(std::string_view s) {
  if (s.empty() || s.starts_with("__")) return false;
  for (size_t i = 0; i < s.size(); ++i)
    if (!name_char(s[i], i == 0, false)) return false;
  return true;
}

std::string escape_label_value(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '"')
      out += "\\\"";
    else if (c == '\n')
      out += "\\n";
    else
      out += c;
  }
  return out;
}

std::string escape_help(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '\n')
      out += "\\n";
    else
      out += c;
  }
  return out;
}

std::string format_value(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  // Counters and most gauges are integers: print them without exponent up to 2^63.
  if (v == std::floor(v) && std::fabs(v) < 9.2e18) {
    return std::to_string(static_cast<int64_t>(v));
  }
  char buf[64];
  auto [p, ec] = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, p);
}

void MetricSet::Family::add(const Labels& labels, double value) {
  std::string line = name_;
  if (!labels.empty()) {
    line += '{';
    for (size_t i = 0; i < labels.size(); ++i) {
      if (!valid_label_name(labels[i].first))
        throw std::invalid_argument("invalid label name " + labels[i].first);
      if (i) line += ',';
      line += labels[i].first;
      line += "=\"";
      line += escape_label_value(labels[i].second);
      line += '"';
    }
    line += '}';
  }
  line += ' ';
  line += format_value(value);
  lines_.push_back(std::move(line));
}

MetricSet::Family& MetricSet::family(std::string_view name, std::string_view help, Type type) {
  if (!valid_metric_name(name))
    throw std::invalid_argument("invalid metric name " + std::string(name));
  for (auto& f : families_)
    if (f->name_ == name) {
      if (f->type_ != type) throw std::invalid_argument("metric type changed for " + f->name_);
      return *f;
    }
  auto f = std::make_unique<Family>();
  f->name_ = name;
  f->help_ = help;
  f->type_ = type;
  families_.push_back(std::move(f));
  return *families_.back();
}

std::string MetricSet::render() const {
  std::string out;
  for (const auto& f : families_) {
    out += "# HELP " + f->name_ + " " + escape_help(f->help_) + "\n";
    out += "# TYPE " + f->name_ + (f->type_ == Type::Counter ? " counter\n" : " gauge\n");
    for (const auto& l : f->lines_) {
      out += l;
      out += '\n';
    }
  }
  return out;
}

}  // namespace ferry::metrics
