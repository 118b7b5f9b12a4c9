/*
 * Checkpoint and restart: a run that is stopped and resumed in a new
 * process ends with the same weights, bit for bit, as one that never
 * stopped.
 *
 * Usage: checkpoint_restart N FROM TO [DUMP]
 *   trains until iteration N, starting from the trainer checkpoint FROM
 *   ("-" = a fresh trainer), saves the trainer to TO and prints a digest of
 *   the weights; DUMP (optional) receives the weights as text, one per line.
 * The host builds its trainer the same way in both cases and restores the
 * checkpoint into it, as a production code would after a preemption.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "zoo.h"

#define CHECK(call)                                                                                  \
    do {                                                                                             \
        zoo_status status_ = (call);                                                                 \
        if (status_ != ZOO_OK) {                                                                     \
            fprintf(stderr, "%s failed: %s: %s\n", #call, zoo_status_name(status_), zoo_last_error()); \
            exit(1);                                                                                 \
        }                                                                                            \
    } while (0)

/* The black box: fit sin(3x) on 16 points. */
static int32_t loss_fn(void *userdata, zoo_candidate *candidate, double *loss) {
    (void)userdata;
    double sum = 0;
    for (int i = 0; i < 16; i++) {
        double x = -1 + 2 * i / 15.0, y = 0;
        if (zoo_candidate_forward(candidate, &x, 1, &y, 1) != ZOO_OK) return 1;
        sum += (y - sin(3 * x)) * (y - sin(3 * x));
    }
    *loss = sum / 16;
    return 0;
}

int main(int argc, char **argv) {
    if (argc < 4) {
        fprintf(stderr, "usage: %s N FROM TO [DUMP]\n", argv[0]);
        return 2;
    }
    const uint64_t iterations = strtoull(argv[1], NULL, 10);
    const size_t sizes[] = {1, 12, 1};
    zoo_model *model = NULL;
    zoo_trainer *trainer = NULL;
    CHECK(zoo_model_new_mlp(sizes, 3, "tanh", 7, &model));
    CHECK(zoo_trainer_new(model, "estimator=rge-central q=6 optimizer=adam lr=0.02 seed=11", &trainer));
    zoo_model_free(model);
    if (strcmp(argv[2], "-") != 0) CHECK(zoo_trainer_restore(trainer, argv[2]));

    uint64_t k = 0;
    double loss = 0;
    CHECK(zoo_trainer_iteration(trainer, &k));
    for (; k < iterations; k++) CHECK(zoo_step(trainer, loss_fn, NULL, 0, &loss));
    CHECK(zoo_trainer_save(trainer, argv[3]));

    size_t n = 0;
    CHECK(zoo_trainer_num_params(trainer, &n));
    double *params = malloc(n * sizeof *params);
    CHECK(zoo_trainer_get_params(trainer, params, n));
    /* FNV-1a of the weights' bytes: equal digests mean equal bits. */
    uint64_t digest = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < n * sizeof *params; i++) {
        digest ^= ((const unsigned char *)params)[i];
        digest *= 0x100000001b3ULL;
    }
    printf("iteration %llu loss %.6e weights %016llx\n", (unsigned long long)iterations, loss,
           (unsigned long long)digest);
    if (argc > 4) {
        FILE *dump = fopen(argv[4], "w");
        if (!dump) return 1;
        for (size_t i = 0; i < n; i++) fprintf(dump, "%.17g\n", params[i]);
        fclose(dump);
    }
    free(params);
    zoo_trainer_free(trainer);
    return 0;
}
