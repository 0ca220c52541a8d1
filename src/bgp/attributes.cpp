#include "bgp/attributes.hpp"

namespace ferry::bgp {
// Implemented by the codec owner.
}  // namespace ferry::bgp
