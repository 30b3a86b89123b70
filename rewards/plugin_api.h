/* r1kit reward plugin C ABI, version 1.
 *
 * A reward plugin is a shared library (.so) that exports the four functions below with C linkage. r1kit loads it
 * with dlopen (RTLD_NOW | RTLD_LOCAL) from a rewarder of type "plugin":
 *     {"type": "plugin", "path": "./libmy_reward.so", "args": {...}, "concurrent": false}
 * and checks r1kit_reward_api_version() == R1KIT_REWARD_API_VERSION before anything else.
 * A missing symbol or a different version is a configuration error naming the library and the symbol.
 *
 * Strings are NUL-terminated UTF-8 (model output may still hold invalid UTF-8 sequences: do not crash on them).
 * The plugin must not keep the pointers after the call returns.
 *
 * Threads: with "concurrent": false (the default) r1kit serialises every call on one state; with
 * "concurrent": true, r1kit_reward_score may be called from several threads at once with the same state, so the
 * plugin must treat the state as read-only (or lock it itself).
 *
 * Build (see examples/reward_plugin/): cc -shared -fPIC -I<r1kit source dir> my_reward.c -o libmy_reward.so
 * This header depends on nothing but the C standard; it is the only r1kit file a plugin needs.
 */
#ifndef R1KIT_REWARDS_PLUGIN_API_H
#define R1KIT_REWARDS_PLUGIN_API_H

#define R1KIT_REWARD_API_VERSION 1

#if defined(_WIN32)
#define R1KIT_REWARD_EXPORT __declspec(dllexport)
#else
#define R1KIT_REWARD_EXPORT __attribute__((visibility("default")))
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* Returns R1KIT_REWARD_API_VERSION as the plugin was compiled against it. */
R1KIT_REWARD_EXPORT int r1kit_reward_api_version(void);

/* Called once when the rewarder is built. `args_json` is the JSON text of the config's "args" (an object, "{}"
 * when absent). Stores the plugin's state (may be NULL) in *state. Returns 0 on success; any other value makes
 * r1kit stop with a configuration error quoting the returned code. */
R1KIT_REWARD_EXPORT int r1kit_reward_init(const char* args_json, void** state);

/* Scores one completion. `prompt` is the rendered prompt, `completion` the generated text, `record_json` the
 * dataset record as compact JSON text. Writes the reward to *out and returns 0; writing NaN means "not
 * applicable" (skipped in the weighted sum). A non-zero return means the plugin could not score this sample:
 * r1kit uses NaN and logs a warning. Must not throw C++ exceptions across this boundary, must not exit. */
R1KIT_REWARD_EXPORT int r1kit_reward_score(void* state, const char* prompt, const char* completion,
                                           const char* record_json, double* out);

/* Releases the state from r1kit_reward_init (called once, before dlclose). */
R1KIT_REWARD_EXPORT void r1kit_reward_free(void* state);

/* Function pointer types, for the loader. */
typedef int (*r1kit_reward_api_version_fn)(void);
typedef int (*r1kit_reward_init_fn)(const char*, void**);
typedef int (*r1kit_reward_score_fn)(void*, const char*, const char*, const char*, double*);
typedef void (*r1kit_reward_free_fn)(void*);

#ifdef __cplusplus
}
#endif

#endif /* R1KIT_REWARDS_PLUGIN_API_H */
