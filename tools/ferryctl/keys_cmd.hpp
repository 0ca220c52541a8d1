// ferryctl genkey / pubkey: local key handling, compatible with `wg genkey` / `wg pubkey`.
#pragma once

namespace ferryctl {
int cmd_genkey();
int cmd_pubkey();
}  // namespace ferryctl
