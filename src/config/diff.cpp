#include "config/diff.hpp"

#include <map>
#include <utility>

namespace ferry::config {

namespace {

std::string shown(const std::string& key, const std::string& value) {
  // TCP-MD5 keys (RFC 2385) never leave the daemon in clear.
  const bool secret = key == "password" || key.ends_with(".password");
  return secret && !value.empty() && value != "\"\"" ? "(hidden)" : value;
}

std::vector<KeyChange> key_changes(const ConfigObject& a, const ConfigObject& b) {
  std::map<std::string, const std::string*> before;
  for (const auto& [k, v] : a.keys) before[k] = &v;
  std::vector<KeyChange> out;
  for (const auto& [k, v] : b.keys) {
    auto it = before.find(k);
    if (it == before.end()) {
      out.push_back({k, "", shown(k, v)});
      continue;
    }
    if (*it->second != v) out.push_back({k, shown(k, *it->second), shown(k, v)});
    before.erase(it);
  }
  for (const auto& [k, v] : a.keys)
    if (before.count(k)) out.push_back({k, shown(k, v), ""});
  return out;
}

}  // namespace

bool ObjectChange::changed(const std::string& key) const {
  for (const auto& k : keys)
    if (k.key == key) return true;
  return false;
}

const char* kind_name(ObjectChange::Kind k) {
  switch (k) {
    case ObjectChange::Kind::Added:
      return "added";
    case ObjectChange::Kind::Removed:
      return "removed";
    case ObjectChange::Kind::Changed:
      break;
  }
  return "changed";
}

std::vector<ObjectChange> diff(const Config& before, const Config& after) {
  const std::vector<ConfigObject> a = config_objects(before);
  const std::vector<ConfigObject> b = config_objects(after);
  std::map<std::pair<std::string, std::string>, const ConfigObject*> old_by_id;
  for (const auto& o : a) old_by_id[{o.type, o.id}] = &o;
  std::vector<ObjectChange> out;
  for (const auto& o : b) {
    auto it = old_by_id.find({o.type, o.id});
    if (it == old_by_id.end()) {
      out.push_back({ObjectChange::Kind::Added, o.type, o.id, {}});
      continue;
    }
    auto keys = key_changes(*it->second, o);
    old_by_id.erase(it);
    if (!keys.empty()) out.push_back({ObjectChange::Kind::Changed, o.type, o.id, std::move(keys)});
  }
  for (const auto& o : a)
    if (old_by_id.count({o.type, o.id}))
      out.push_back({ObjectChange::Kind::Removed, o.type, o.id, {}});
  return out;
}

}  // namespace ferry::config
