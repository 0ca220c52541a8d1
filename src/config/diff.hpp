// What changed between two configurations, object by object: the one diff
// engine behind `ferryctl reload --dry-run` and `ferryd --check --diff`
// (daemon/reload_plan.hpp adds what each change does to the running daemon).
//
// Objects are config_objects() (config.hpp): sections, neighbours, tunnel
// peers, static routes, BGP networks and policies, matched by type and id.
// Keys are compared in their printed (canonical) form, so formatting,
// ordering and defaults written out or left implicit make no difference.
// A pure function: no I/O, no daemon state.
#pragma once

#include <string>
#include <vector>

#include "config/config.hpp"

namespace ferry::config {

struct KeyChange {
  std::string key;
  // Printed values; empty when the key is absent on that side. Secrets
  // (password) are shown as "(hidden)".
  std::string before;
  std::string after;
  bool operator==(const KeyChange&) const = default;
};

struct ObjectChange {
  enum class Kind { Added, Removed, Changed };
  Kind kind = Kind::Changed;
  std::string type;
  std::string id;
  std::vector<KeyChange> keys;  // Changed only
  bool changed(const std::string& key) const;
  bool operator==(const ObjectChange&) const = default;
};

const char* kind_name(ObjectChange::Kind k);  // "added", "removed", "changed"

// Objects in `after`'s order (then the removed ones in `before`'s order);
// unchanged objects are not listed.
std::vector<ObjectChange> diff(const Config& before, const Config& after);

}  // namespace ferry::config
