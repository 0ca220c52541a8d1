// Giving freed heap back to the OS, for the RIB's heap_trim hook.
//
// glibc raises its mmap threshold after the first large free, so later large
// blocks come from (and are freed back into) the heap, which keeps them
// resident: after a full table is withdrawn, or its prefix table rebuilt,
// tens of megabytes would stay in RSS. The RIB reports when it freed such
// blocks; the daemon, which owns the process, decides to trim.
#pragma once

namespace ferry::daemon {

// malloc_trim(0) on glibc; nothing elsewhere. Takes a few milliseconds.
void trim_heap();

}  // namespace ferry::daemon
