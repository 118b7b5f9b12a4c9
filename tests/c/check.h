/*
 * Shared by zoo's C test programs (one translation unit each): pass/fail
 * counters, the EXPECT and EXPECT_STATUS checks, and the small 2-4-1
 * network and trainers the checks run on. A program ends with
 *   printf("%d passed, %d failed\n", passed, failed);
 *   return failed == 0 ? 0 : 1;
 * The counters are not atomic: check from one thread only.
 */
#ifndef ZOO_TESTS_CHECK_H
#define ZOO_TESTS_CHECK_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "zoo.h"

static int passed = 0, failed = 0;

#define EXPECT(cond)                                                       \
    do {                                                                   \
        if (cond) {                                                        \
            passed++;                                                      \
        } else {                                                           \
            failed++;                                                      \
            fprintf(stderr, "FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond); \
        }                                                                  \
    } while (0)

/* `got` is `want` and the last error message contains `needle`. */
#define EXPECT_STATUS(got, want, needle) expect_status((got), (want), (needle), __LINE__, #got)

static inline void expect_status(zoo_status got, zoo_status want, const char *needle, int line, const char *call) {
    const char *message = zoo_last_error();
    if (got == want && (needle == NULL || strstr(message, needle) != NULL)) {
        passed++;
        return;
    }
    failed++;
    fprintf(stderr, "FAIL line %d: %s returned %s (wanted %s), last error \"%s\" (wanted to contain \"%s\")\n", line,
            call, zoo_status_name(got), zoo_status_name(want), message, needle ? needle : "");
}

#define NPARAMS 17 /* 2-4-1 network: 2*4 + 4 + 4 + 1 */

/* A 2-4-1 tanh network drawn from seed 1. */
static inline zoo_model *new_model(void) {
    const size_t sizes[] = {2, 4, 1};
    zoo_model *model = NULL;
    if (zoo_model_new_mlp(sizes, 3, "tanh", 1, &model) != ZOO_OK) abort();
    return model;
}

/* A trainer of new_model() with `options`; aborts if zoo refuses them. */
static inline zoo_trainer *new_trainer(const char *options) {
    zoo_model *model = new_model();
    zoo_trainer *trainer = NULL;
    if (zoo_trainer_new(model, options, &trainer) != ZOO_OK) abort();
    zoo_model_free(model);
    return trainer;
}

#endif
