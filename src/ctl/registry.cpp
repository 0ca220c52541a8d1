#include "ctl/registry.hpp"

namespace ferry::ctl {

static Json error_reply(const std::string& msg) {
  return Json{{"ok", false}, {"error", msg}};
}

Json Registry::dispatch_line(const std::string& line, bool allow_mutating) const {
  Json req = Json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (req.is_discarded()) return error_reply("malformed request: not valid JSON");
  if (!req.is_object()) return error_reply("malformed request: expected a JSON object");
  auto cmd_it = req.find("command");
  if (cmd_it == req.end() || !cmd_it->is_string())
    return error_reply("malformed request: \"command\" must be a string");
  const std::string name = cmd_it->get<std::string>();
  Json args = Json::object();
  if (auto a = req.find("args"); a != req.end()) {
    if (!a->is_object() && !a->is_null())
      return error_reply("malformed request: \"args\" must be an object");
    if (a->is_object()) args = *a;
  }
  const Command* c = find(name);
  if (!c) return error_reply("unknown command: " + name);
  if (c->mutating && !allow_mutating)
    return error_reply("permission denied: '" + name +
                       "' changes state and this client is read-only");
  try {
    Result<Json> r = c->handler(args);
    if (!r.ok()) return error_reply(r.error());
    return Json{{"ok", true}, {"result", std::move(r.value())}};
  } catch (const std::exception& e) {
    // A handler should report errors as values; a throw is a bug, but it must
    // not take the control server down.
    return error_reply(std::string("internal error: ") + e.what());
  }
}

}  // namespace ferry::ctl
