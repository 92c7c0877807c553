// The only C-facing part of WaterHub. libcurl's curl_easy_setopt and curl_easy_getinfo are
// variadic, which Swift cannot call; these typed wrappers give each argument kind its own
// function, the way GRDB and swift-corelibs-foundation wrap their C libraries.
#ifndef WATERHUB_CCURL_SHIM_H
#define WATERHUB_CCURL_SHIM_H

#include <curl/curl.h>

static inline CURLcode waterhub_easy_setopt_long(CURL *handle, CURLoption option, long value) {
    return curl_easy_setopt(handle, option, value);
}

static inline CURLcode waterhub_easy_setopt_string(CURL *handle, CURLoption option, const char *value) {
    return curl_easy_setopt(handle, option, value);
}

static inline CURLcode waterhub_easy_setopt_pointer(CURL *handle, CURLoption option, void *value) {
    return curl_easy_setopt(handle, option, value);
}

static inline CURLcode waterhub_easy_setopt_off_t(CURL *handle, CURLoption option, curl_off_t value) {
    return curl_easy_setopt(handle, option, value);
}

typedef size_t (*waterhub_write_callback)(char *data, size_t size, size_t count, void *context);
static inline CURLcode waterhub_easy_setopt_write_function(CURL *handle, CURLoption option, waterhub_write_callback callback) {
    return curl_easy_setopt(handle, option, callback);
}

typedef int (*waterhub_progress_callback)(void *context, curl_off_t download_total, curl_off_t download_now,
                                          curl_off_t upload_total, curl_off_t upload_now);
static inline CURLcode waterhub_easy_setopt_progress_function(CURL *handle, waterhub_progress_callback callback) {
    return curl_easy_setopt(handle, CURLOPT_XFERINFOFUNCTION, callback);
}

typedef int (*waterhub_sshkey_callback)(CURL *easy, const struct curl_khkey *known, const struct curl_khkey *found,
                                        enum curl_khmatch match, void *context);
static inline CURLcode waterhub_easy_setopt_sshkey_function(CURL *handle, waterhub_sshkey_callback callback) {
    return curl_easy_setopt(handle, CURLOPT_SSH_KEYFUNCTION, callback);
}

/* CURLOPT_SSH_HOSTKEYFUNCTION (libcurl 7.84+): called with the server's raw host key when neither
   CURLOPT_SSH_HOST_PUBLIC_KEY_MD5 nor _SHA256 is set; return CURLKHMATCH_OK to accept. */
typedef int (*waterhub_sshhostkey_callback)(void *context, int keytype, const char *key, size_t length);
static inline CURLcode waterhub_easy_setopt_sshhostkey_function(CURL *handle, waterhub_sshhostkey_callback callback) {
    return curl_easy_setopt(handle, CURLOPT_SSH_HOSTKEYFUNCTION, callback);
}

static inline CURLcode waterhub_easy_getinfo_long(CURL *handle, CURLINFO info, long *value) {
    return curl_easy_getinfo(handle, info, value);
}

static inline CURLcode waterhub_easy_getinfo_off_t(CURL *handle, CURLINFO info, curl_off_t *value) {
    return curl_easy_getinfo(handle, info, value);
}

static inline CURLcode waterhub_easy_getinfo_string(CURL *handle, CURLINFO info, char **value) {
    return curl_easy_getinfo(handle, info, value);
}

/* Macros Swift does not import. */
static const long waterhub_auth_bearer = (long)CURLAUTH_BEARER;
static const long waterhub_global_default = (long)CURL_GLOBAL_DEFAULT;
static const long waterhub_ssh_auth_publickey = (long)CURLSSH_AUTH_PUBLICKEY;
static const long waterhub_ssh_auth_password = (long)(CURLSSH_AUTH_PASSWORD | CURLSSH_AUTH_KEYBOARD);

#endif
