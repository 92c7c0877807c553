// SQLite's process-wide settings, which must be made before the first connection opens.
// sqlite3_config is variadic, which Swift cannot call; this typed wrapper is all WaterHub needs.
#ifndef WATERHUB_CSQLITESETUP_SHIM_H
#define WATERHUB_CSQLITESETUP_SHIM_H

#include <sqlite3.h>

// Turns off SQLite's memory statistics. With them on (Debian's default), every allocation and
// free in every connection takes one process-wide mutex: two threads applying batches to two
// town files wait on each other there. WaterHub never reads those statistics.
// Returns SQLITE_MISUSE when SQLite was already initialized (then nothing changes).
static inline int waterhub_sqlite_disable_memory_statistics(void) {
    return sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}

#endif
