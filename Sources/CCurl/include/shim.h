// The only C-facing part of WaterHub's fetching (shim.c loads the library). libcurl's curl_easy_setopt and
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

/* The functions taken from the loaded library (one table for the whole program, in shim.c). */
struct waterhub_curl_functions {
    CURL *(*easy_init)(void);
    void (*easy_cleanup)(CURL *handle);
    CURLcode (*easy_perform)(CURL *handle);
    const char *(*easy_strerror)(CURLcode code);
    CURLcode (*easy_setopt)(CURL *handle, CURLoption option, ...);
    CURLcode (*easy_getinfo)(CURL *handle, CURLINFO info, ...);
    struct curl_slist *(*slist_append)(struct curl_slist *list, const char *text);
    void (*slist_free_all)(struct curl_slist *list);
};

/* Loads libcurl (once, thread-safe) and initialises it; NULL when ready, else why not. Every
   other function here may be called only after it returned NULL. */
const char *waterhub_curl_load(void);

/* The loaded functions. */
const struct waterhub_curl_functions *waterhub_curl_table(void);

#define waterhub_curl (*waterhub_curl_table())


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
