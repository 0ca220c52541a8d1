#include "daemon/heap.hpp"

// <cstdlib> first: it pulls in <features.h>, which defines __GLIBC__. Tested
// before any libc header, the macro is undefined and the trim compiles away.
#include <cstdlib>

#ifdef __GLIBC__
#include <malloc.h>
#elif defined(__gnu_linux__)
#error "a GNU/Linux target without __GLIBC__: the heap trim would silently do nothing"
#endif

namespace ferry::daemon {

void trim_heap() {
#ifdef __GLIBC__
  malloc_trim(0);
#endif
}

}  // namespace ferry::daemon
