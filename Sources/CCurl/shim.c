// Loads libcurl at the first transfer (see include/shim.h) into the program's one table.
#include "shim.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>

static pthread_once_t once = PTHREAD_ONCE_INIT;
static struct waterhub_curl_functions functions;
static char problem[512];

static int symbol(void *library, void **slot, const char *name) {
    *slot = dlsym(library, name);
    if (*slot == NULL) snprintf(problem, sizeof problem, "libcurl.so.4 has no %s", name);
    return *slot != NULL;
}

static void open_library(void) {
    void *library = dlopen("libcurl.so.4", RTLD_NOW | RTLD_LOCAL);
    if (library == NULL) {
        const char *reason = dlerror();
        snprintf(problem, sizeof problem, "%s", reason ? reason : "libcurl.so.4 cannot be loaded");
        return;
    }
    struct waterhub_curl_functions f;
    CURLcode (*global_init)(long flags);
    if (!(symbol(library, (void **)&global_init, "curl_global_init")
          && symbol(library, (void **)&f.easy_init, "curl_easy_init")
          && symbol(library, (void **)&f.easy_cleanup, "curl_easy_cleanup")
          && symbol(library, (void **)&f.easy_perform, "curl_easy_perform")
          && symbol(library, (void **)&f.easy_strerror, "curl_easy_strerror")
          && symbol(library, (void **)&f.easy_setopt, "curl_easy_setopt")
          && symbol(library, (void **)&f.easy_getinfo, "curl_easy_getinfo")
          && symbol(library, (void **)&f.slist_append, "curl_slist_append")
          && symbol(library, (void **)&f.slist_free_all, "curl_slist_free_all"))) {
        dlclose(library);
        return;
    }
    CURLcode code = global_init(CURL_GLOBAL_DEFAULT);
    if (code != CURLE_OK) {
        snprintf(problem, sizeof problem, "curl_global_init failed (%s)", f.easy_strerror(code));
        dlclose(library);
        return;
    }
    functions = f;
}

const char *waterhub_curl_load(void) {
    pthread_once(&once, open_library);
    return functions.easy_init != NULL ? NULL : problem;
}

const struct waterhub_curl_functions *waterhub_curl_table(void) {
    return &functions;
}
