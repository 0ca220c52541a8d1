// Prometheus text exposition format, version 0.0.4 (the format every
// Prometheus server and exporter speaks; "Exposition formats" in the
// Prometheus documentation).
//
// A MetricSet collects metric families in the order they are first declared,
// each with its HELP text, TYPE and samples, and render() writes them out so
// that every family's samples stay together, as the format requires:
//
//   # HELP ferry_bgp_peer_state BGP FSM state ...
//   # TYPE ferry_bgp_peer_state gauge
//   ferry_bgp_peer_state{peer="b",peer_as="65002"} 6
//
// Label values and HELP texts come from the configuration and from peers
// (neighbor names, descriptions), so they are escaped here: in label values
// backslash, double quote and newline; in HELP backslash and newline.
// Metric and label names are chosen by ferry's code, not by input; an invalid
// one is a programming error and throws std::invalid_argument.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ferry::metrics {

enum class Type { Gauge, Counter };

using Labels = std::vector<std::pair<std::string, std::string>>;

// [a-zA-Z_:][a-zA-Z0-9_:]*
bool valid_metric_name(std::string_view s);
// [a-zA-Z_][a-zA-Z0-9_]*, not starting with "__" (reserved for Prometheus).
bool valid_label_name(std::string_view s);
std::string escape_label_value(std::string_view s);
std::string escape_help(std::string_view s);
// Integers without exponent, other values shortest round-trip; NaN, +Inf, -Inf.
std::string format_value(double v);

class MetricSet {
 public:
  class Family {
   public:
    void add(const Labels& labels, double value);
    void add(double value) { add({}, value); }

   private:
    friend class MetricSet;
    std::string name_, help_;
    Type type_ = Type::Gauge;
    std::vector<std::string> lines_;  // rendered samples
  };

  // Declares a family, or returns the existing one of that name (same type).
  // The reference stays valid until the MetricSet is destroyed.
  Family& family(std::string_view name, std::string_view help, Type type);
  std::string render() const;
  size_t size() const { return families_.size(); }

 private:
  std::vector<std::unique_ptr<Family>> families_;
};

}  // namespace ferry::metrics
