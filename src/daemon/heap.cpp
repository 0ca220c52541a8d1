#include "daemon/heap.hpp"

#ifdef __GLIBC__
#include <malloc.h>
#endif

namespace ferry::daemon {

void trim_heap() {
#ifdef __GLIBC__
  malloc_trim(0);
#endif
}

}  // namespace ferry::daemon
