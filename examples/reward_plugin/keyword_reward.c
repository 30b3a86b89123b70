/* Example r1kit reward plugin: rewards completions whose answer (the text after "</think>", or the whole
 * completion without one) contains a keyword, and penalises answers longer than a limit.
 *
 *   {"type": "plugin", "path": "build/libkeyword_reward.so",
 *    "args": {"keyword": "\\boxed", "max_answer_chars": 2000}}
 *
 * reward = 1.0 if the keyword occurs in the answer else 0.0, minus 0.5 if the answer is longer than
 * max_answer_chars. Build: see CMakeLists.txt next to this file, or
 *   cc -shared -fPIC -O2 -I<r1kit source dir> keyword_reward.c -o libkeyword_reward.so
 * The args parser below is deliberately tiny (string and integer values, no escapes except \\ and \"); a real
 * plugin would use a JSON library. */
#include <stdlib.h>
#include <string.h>

#include "rewards/plugin_api.h"

typedef struct {
  char keyword[256];
  long max_answer_chars;
} State;

/* Finds "key": in json and returns a pointer to the first character of its value, or NULL. */
static const char* find_value(const char* json, const char* key) {
  char pattern[128];
  size_t n = strlen(key);
  if (n + 3 > sizeof pattern) return NULL;
  pattern[0] = '"';
  memcpy(pattern + 1, key, n);
  pattern[n + 1] = '"';
  pattern[n + 2] = '\0';
  const char* p = strstr(json, pattern);
  if (p == NULL) return NULL;
  p += n + 2;
  while (*p == ' ' || *p == ':') ++p;
  return p;
}

int r1kit_reward_api_version(void) { return R1KIT_REWARD_API_VERSION; }

int r1kit_reward_init(const char* args_json, void** state) {
  State* s = (State*)calloc(1, sizeof(State));
  if (s == NULL) return 1;
  strcpy(s->keyword, "\\boxed");
  s->max_answer_chars = 4000;
  const char* v = find_value(args_json, "keyword");
  if (v != NULL) {
    if (*v != '"') { free(s); return 2; }
    size_t i = 0;
    for (++v; *v != '\0' && *v != '"' && i + 1 < sizeof s->keyword; ++v) {
      if (*v == '\\' && (v[1] == '\\' || v[1] == '"')) ++v;
      s->keyword[i++] = *v;
    }
    s->keyword[i] = '\0';
    if (i == 0) { free(s); return 3; }
  }
  v = find_value(args_json, "max_answer_chars");
  if (v != NULL) {
    char* end = NULL;
    s->max_answer_chars = strtol(v, &end, 10);
    if (end == v || s->max_answer_chars <= 0) { free(s); return 4; }
  }
  *state = s;
  return 0;
}

int r1kit_reward_score(void* state, const char* prompt, const char* completion, const char* record_json,
                       double* out) {
  (void)prompt;
  (void)record_json;
  const State* s = (const State*)state; /* read-only: safe with "concurrent": true */
  const char* answer = strstr(completion, "</think>");
  answer = answer != NULL ? answer + strlen("</think>") : completion;
  double reward = strstr(answer, s->keyword) != NULL ? 1.0 : 0.0;
  if ((long)strlen(answer) > s->max_answer_chars) reward -= 0.5;
  *out = reward;
  return 0;
}

void r1kit_reward_free(void* state) { free(state); }
