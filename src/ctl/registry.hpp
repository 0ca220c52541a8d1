// Control-protocol command registry.
//
// Wire protocol (Unix stream socket, one request per line, one reply per line):
//   request: {"command": "show neighbors", "args": {...}}
//   reply:   {"ok": true, "result": {...}}  or  {"ok": false, "error": "text"}
// Modules register their commands at start-up (daemon wiring); the server
// looks the handler up by name. Handlers run on the control-plane event loop,
// so they may read module state directly. A handler reports bad arguments by
// returning an Error, never by throwing into the server.
#pragma once

#include <nlohmann/json.hpp>

#include <functional>
#include <map>
#include <string>

#include "common/result.hpp"

namespace ferry::ctl {

using Json = nlohmann::json;
using Handler = std::function<Result<Json>(const Json& args)>;

struct Command {
  Handler handler;
  bool mutating = false;  // needs write access (reload, clear ...)
  std::string help;
};

class Registry {
 public:
  void add(const std::string& name, Handler h, bool mutating, std::string help = {}) {
    commands_[name] = Command{std::move(h), mutating, std::move(help)};
  }
  void remove(const std::string& name) { commands_.erase(name); }
  const Command* find(const std::string& name) const {
    auto it = commands_.find(name);
    return it == commands_.end() ? nullptr : &it->second;
  }
  const std::map<std::string, Command>& all() const { return commands_; }

  // Parses one request line and runs it. Never throws; malformed input gives an error reply.
  Json dispatch_line(const std::string& line, bool allow_mutating) const;

 private:
  std::map<std::string, Command> commands_;
};

}  // namespace ferry::ctl
