// Internal helpers shared by update_codec.cpp (decode) and
// update_encoder.cpp (encode): the table of known attributes with their
// RFC 4271 §5 category and RFC 7606 §7 error handling.
#pragma once

#include <cstdint>

#include "bgp/attributes.hpp"
#include "bgp/update_codec.hpp"

namespace ferry::bgp::detail {

constexpr uint32_t kAsTrans = 23456;  // RFC 6793 §9

struct AttrSpec {
  bool known = false;
  uint8_t flags = 0;  // expected Optional|Transitive bits
  UpdateOutcome on_malformed = UpdateOutcome::TreatAsWithdraw;
};

constexpr uint8_t kWellKnown = kFlagTransitive;
constexpr uint8_t kOptTrans = kFlagOptional | kFlagTransitive;
constexpr uint8_t kOptNonTrans = kFlagOptional;

constexpr AttrSpec attr_spec(uint8_t type) {
  using O = UpdateOutcome;
  switch (type) {
    case kAttrOrigin:
      return {true, kWellKnown, O::TreatAsWithdraw};  // 7606 §7.1
    case kAttrAsPath:
      return {true, kWellKnown, O::TreatAsWithdraw};  // §7.2
    case kAttrNextHop:
      return {true, kWellKnown, O::TreatAsWithdraw};  // §7.3
    case kAttrMed:
      return {true, kOptNonTrans, O::TreatAsWithdraw};  // §7.4
    case kAttrLocalPref:
      return {true, kWellKnown, O::TreatAsWithdraw};  // §7.5
    case kAttrAtomicAggregate:
      return {true, kWellKnown, O::AttributeDiscard};  // §7.6
    case kAttrAggregator:
      return {true, kOptTrans, O::AttributeDiscard};  // §7.7
    case kAttrCommunities:
      return {true, kOptTrans, O::TreatAsWithdraw};  // §7.8
    case kAttrOriginatorId:
      return {true, kOptNonTrans, O::TreatAsWithdraw};  // §7.9
    case kAttrClusterList:
      return {true, kOptNonTrans, O::TreatAsWithdraw};  // §7.10
    case kAttrMpReachNlri:
      return {true, kOptNonTrans, O::SessionReset};  // §7.11
    case kAttrMpUnreachNlri:
      return {true, kOptNonTrans, O::SessionReset};  // §7.12
    case kAttrExtCommunities:
      return {true, kOptTrans, O::TreatAsWithdraw};  // §7.14
    case kAttrAs4Path:
      return {true, kOptTrans, O::AttributeDiscard};  // RFC 6793 §6
    case kAttrAs4Aggregator:
      return {true, kOptTrans, O::AttributeDiscard};  // RFC 6793 §6
    case kAttrLargeCommunities:
      return {true, kOptTrans, O::TreatAsWithdraw};  // RFC 8092 §6
    default:
      return {};
  }
}

}  // namespace ferry::bgp::detail
