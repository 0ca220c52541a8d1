// bmp::ExporterOptions: what the BMP exporter is configured with. The daemon
// fills it from the [[bmp]] sections (daemon/from_config.hpp).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "common/ip.hpp"

namespace ferry::bmp {

struct StationOptions {
  std::string name;
  IpAddress address;
  uint16_t port = 0;
  bool pre_policy = true;                 // route-monitoring "pre-policy"
  bool post_policy = false;               // route-monitoring "post-policy"
  bool adj_rib_out = false;               // RFC 8671 post-policy Adj-RIB-Out
  uint32_t stats_interval = 60;           // seconds; 0: no Stats Reports
  size_t queue_limit = size_t{32} << 20;  // bytes queued before the connection is dropped
  bool operator==(const StationOptions&) const = default;
};

struct ExporterOptions {
  std::string sys_name;   // Initiation sysName (RFC 7854 §4.3)
  std::string sys_descr;  // Initiation sysDescr
  std::vector<StationOptions> stations;
  std::chrono::milliseconds min_backoff{1000};
  std::chrono::milliseconds max_backoff{60000};
  bool operator==(const ExporterOptions&) const = default;
};

}  // namespace ferry::bmp
