// Blocking control-socket client used by ferryctl and by tests.
#pragma once

#include <string>

#include "common/result.hpp"
#include "ctl/registry.hpp"

namespace ferry::ctl {

// Sends one request and returns the reply object ({"ok":..., "result"|"error":...}).
Result<Json> call(const std::string& socket_path, const std::string& command,
                  const Json& args = Json::object());

}  // namespace ferry::ctl
