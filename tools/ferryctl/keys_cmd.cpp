#include "keys_cmd.hpp"

#include <cstdio>
#include <iostream>
#include <iterator>
#include <string>

#include "tunnel/keys.hpp"

namespace ferryctl {

int cmd_genkey() {
  auto k = ferry::tunnel::generate_private_key();
  std::printf("%s\n", ferry::tunnel::key_to_base64(k).c_str());
  ferry::tunnel::secure_zero(k);
  return 0;
}

int cmd_pubkey() {
  std::string text((std::istreambuf_iterator<char>(std::cin)), std::istreambuf_iterator<char>());
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' '))
    text.pop_back();
  auto k = ferry::tunnel::parse_key_base64(text);
  if (!k.ok()) {
    std::fprintf(stderr, "ferryctl pubkey: %s\n", k.error().c_str());
    return 1;
  }
  std::printf("%s\n", ferry::tunnel::key_to_base64(ferry::tunnel::public_key(*k)).c_str());
  ferry::tunnel::secure_zero(*k);
  return 0;
}

}  // namespace ferryctl
