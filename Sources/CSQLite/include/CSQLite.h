// CSQLite declares nothing of its own: WaterHub calls SQLite through GRDB and its GRDBSQLite
// module (the system's sqlite3.h from libsqlite3-dev: the same API), and the linker binds those
// calls to the copy compiled here from sqlite3.c. Sources/CSQLite/README.md says why.
#ifndef WATERHUB_CSQLITE_H
#define WATERHUB_CSQLITE_H
#endif
