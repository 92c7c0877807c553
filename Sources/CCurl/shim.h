// The only C-facing part of WaterHub's fetching. libcurl's curl_easy_setopt and
// curl_easy_getinfo are variadic, which Swift cannot call; these typed wrappers give each
// argument kind its own function, the way GRDB and swift-corelibs-foundation wrap their C
// libraries.
//
// libcurl is loaded when the first transfer needs it (dlopen), not when WaterHub starts:
// `waterhub serve` waits most of the week for its next fetch, and libcurl brings some thirty
// libraries with it (TLS, SSH, Kerberos, LDAP, IDN), about 7.7 MB of resident pages. The header
// gives the types and constants; only the functions below come from the loaded library.
#ifndef WATERHUB_CCURL_SHIM_H
#define WATERHUB_CCURL_SHIM_H

#include <curl/curl.h>
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>

struct waterhub_curl_functions {
    CURLcode (*global_init)(long flags);
    CURL *(*easy_init)(void);
    void (*easy_cleanup)(CURL *handle);
    CURLcode (*easy_perform)(CURL *handle);
    const char *(*easy_strerror)(CURLcode code);
    CURLcode (*easy_setopt)(CURL *handle, CURLoption option, ...);
    CURLcode (*easy_getinfo)(CURL *handle, CURLINFO info, ...);
    struct curl_slist *(*slist_append)(struct curl_slist *list, const char *text);
    void (*slist_free_all)(struct curl_slist *list);
};

struct waterhub_curl_state {
    pthread_once_t once;
    struct waterhub_curl_functions functions;
    char problem[512];
};

/* The loaded functions (a function's static: a header's own globals would not reach Swift).
   Each object file that calls these functions has its own copy of the table, so a Swift file
   calls waterhub_curl_load() before any other function here; only CurlFetcher.swift does. */
static inline struct waterhub_curl_state *waterhub_curl_state(void) {
    static struct waterhub_curl_state state = { PTHREAD_ONCE_INIT };
    return &state;
}

static inline int waterhub_curl_symbol(void *library, void **slot, const char *name) {
    *slot = dlsym(library, name);
    if (*slot == NULL) snprintf(waterhub_curl_state()->problem, sizeof waterhub_curl_state()->problem, "libcurl.so.4 has no %s", name);
    return *slot != NULL;
}

static inline void waterhub_curl_open(void) {
    struct waterhub_curl_state *state = waterhub_curl_state();
    void *library = dlopen("libcurl.so.4", RTLD_NOW | RTLD_LOCAL);
    if (library == NULL) {
        const char *reason = dlerror();
        snprintf(state->problem, sizeof state->problem, "%s", reason ? reason : "libcurl.so.4 cannot be loaded");
        return;
    }
    struct waterhub_curl_functions f;
    if (waterhub_curl_symbol(library, (void **)&f.global_init, "curl_global_init")
        && waterhub_curl_symbol(library, (void **)&f.easy_init, "curl_easy_init")
        && waterhub_curl_symbol(library, (void **)&f.easy_cleanup, "curl_easy_cleanup")
        && waterhub_curl_symbol(library, (void **)&f.easy_perform, "curl_easy_perform")
        && waterhub_curl_symbol(library, (void **)&f.easy_strerror, "curl_easy_strerror")
        && waterhub_curl_symbol(library, (void **)&f.easy_setopt, "curl_easy_setopt")
        && waterhub_curl_symbol(library, (void **)&f.easy_getinfo, "curl_easy_getinfo")
        && waterhub_curl_symbol(library, (void **)&f.slist_append, "curl_slist_append")
        && waterhub_curl_symbol(library, (void **)&f.slist_free_all, "curl_slist_free_all")) {
        CURLcode code = f.global_init(CURL_GLOBAL_DEFAULT);
        if (code == CURLE_OK) {
            state->functions = f;
        } else {
            snprintf(state->problem, sizeof state->problem, "curl_global_init failed (%s)", f.easy_strerror(code));
        }
    }
}

/* Loads libcurl (once, thread-safe) and initialises it; NULL when ready, else why not. Every
   other function here may be called only after it returned NULL. */
static inline const char *waterhub_curl_load(void) {
    struct waterhub_curl_state *state = waterhub_curl_state();
    pthread_once(&state->once, waterhub_curl_open);
    return state->functions.easy_init != NULL ? NULL : state->problem;
}

#define waterhub_curl (waterhub_curl_state()->functions)

static inline CURL *waterhub_easy_init(void) { return waterhub_curl.easy_init(); }
static inline void waterhub_easy_cleanup(CURL *handle) { waterhub_curl.easy_cleanup(handle); }
static inline CURLcode waterhub_easy_perform(CURL *handle) { return waterhub_curl.easy_perform(handle); }
static inline const char *waterhub_easy_strerror(CURLcode code) { return waterhub_curl.easy_strerror(code); }
static inline struct curl_slist *waterhub_slist_append(struct curl_slist *list, const char *text) {
    return waterhub_curl.slist_append(list, text);
}
static inline void waterhub_slist_free_all(struct curl_slist *list) { waterhub_curl.slist_free_all(list); }

static inline CURLcode waterhub_easy_setopt_long(CURL *handle, CURLoption option, long value) {
    return waterhub_curl.easy_setopt(handle, option, value);
}

static inline CURLcode waterhub_easy_setopt_string(CURL *handle, CURLoption option, const char *value) {
    return waterhub_curl.easy_setopt(handle, option, value);
}

static inline CURLcode waterhub_easy_setopt_pointer(CURL *handle, CURLoption option, void *value) {
    return waterhub_curl.easy_setopt(handle, option, value);
}

static inline CURLcode waterhub_easy_setopt_off_t(CURL *handle, CURLoption option, curl_off_t value) {
    return waterhub_curl.easy_setopt(handle, option, value);
}

typedef size_t (*waterhub_write_callback)(char *data, size_t size, size_t count, void *context);
static inline CURLcode waterhub_easy_setopt_write_function(CURL *handle, CURLoption option, waterhub_write_callback callback) {
    return waterhub_curl.easy_setopt(handle, option, callback);
}

typedef int (*waterhub_progress_callback)(void *context, curl_off_t download_total, curl_off_t download_now,
                                          curl_off_t upload_total, curl_off_t upload_now);
static inline CURLcode waterhub_easy_setopt_progress_function(CURL *handle, waterhub_progress_callback callback) {
    return waterhub_curl.easy_setopt(handle, CURLOPT_XFERINFOFUNCTION, callback);
}

typedef int (*waterhub_sshkey_callback)(CURL *easy, const struct curl_khkey *known, const struct curl_khkey *found,
                                        enum curl_khmatch match, void *context);
static inline CURLcode waterhub_easy_setopt_sshkey_function(CURL *handle, waterhub_sshkey_callback callback) {
    return waterhub_curl.easy_setopt(handle, CURLOPT_SSH_KEYFUNCTION, callback);
}

/* CURLOPT_SSH_HOSTKEYFUNCTION (libcurl 7.84+): called with the server's raw host key when neither
   CURLOPT_SSH_HOST_PUBLIC_KEY_MD5 nor _SHA256 is set; return CURLKHMATCH_OK to accept. */
typedef int (*waterhub_sshhostkey_callback)(void *context, int keytype, const char *key, size_t length);
static inline CURLcode waterhub_easy_setopt_sshhostkey_function(CURL *handle, waterhub_sshhostkey_callback callback) {
    return waterhub_curl.easy_setopt(handle, CURLOPT_SSH_HOSTKEYFUNCTION, callback);
}

static inline CURLcode waterhub_easy_getinfo_long(CURL *handle, CURLINFO info, long *value) {
    return waterhub_curl.easy_getinfo(handle, info, value);
}

/* Macros Swift does not import. */
static const long waterhub_auth_bearer = (long)CURLAUTH_BEARER;
static const long waterhub_ssh_auth_publickey = (long)CURLSSH_AUTH_PUBLICKEY;
static const long waterhub_ssh_auth_password = (long)(CURLSSH_AUTH_PASSWORD | CURLSSH_AUTH_KEYBOARD);

#endif
