/*
 * The common HPC pattern: an OpenMP loop over cells inside the loss
 * callback, each thread calling the network for its own cells, through
 * the candidate (zoo_candidate_forward_batch) and through a slot
 * (zoo_slot_forward). Every row must equal the serial result exactly, in
 * every trial, and training through the OpenMP callback must give the
 * same weights as a serial callback. Ends with "N passed, N failed".
 */
#include <omp.h>

#include "check.h"

#define CELLS 96
#define TRIALS 40

typedef struct {
    zoo_slot *slot;
    double x[CELLS * 3];
    int parallel;
    int mismatches;
} host;

static zoo_model *cell_model(void) {
    const size_t sizes[] = {3, 24, 24, 2};
    zoo_model *model = NULL;
    if (zoo_model_new_mlp(sizes, 4, "tanh", 11, &model) != ZOO_OK) abort();
    return model;
}

static double loss_of(const double *y) {
    double sum = 0.0;
    for (int i = 0; i < CELLS * 2; i++) sum += (y[i] - 0.1) * (y[i] - 0.1);
    return sum;
}

/* Serial reference, then TRIALS OpenMP passes over the cells (one cell
 * per call through the candidate, chunks of 5 through the slot). */
static int32_t cells_loss(void *userdata, zoo_candidate *candidate, double *loss) {
    host *h = userdata;
    double serial[CELLS * 2];
    if (zoo_candidate_forward_batch(candidate, h->x, CELLS * 3, CELLS, serial, CELLS * 2) != ZOO_OK) return 1;
    if (h->parallel) {
        for (int trial = 0; trial < TRIALS; trial++) {
            double y[CELLS * 2], z[CELLS * 2];
            int bad = 0;
#pragma omp parallel for schedule(dynamic, 1) reduction(+ : bad)
            for (int cell = 0; cell < CELLS; cell++) {
                if (zoo_candidate_forward(candidate, h->x + 3 * cell, 3, y + 2 * cell, 2) != ZOO_OK) bad++;
                if (cell % 5 == 0) {
                    size_t rows = cell + 5 <= CELLS ? 5 : (size_t)(CELLS - cell);
                    if (zoo_slot_forward(h->slot, h->x + 3 * cell, 3 * rows, rows, z + 2 * cell, 2 * rows) != ZOO_OK) bad++;
                }
            }
            if (bad || memcmp(y, serial, sizeof y) != 0 || memcmp(z, serial, sizeof z) != 0) h->mismatches++;
        }
    }
    *loss = loss_of(serial);
    return 0;
}

static void train(int parallel, double *params, size_t n) {
    zoo_model *model = cell_model();
    zoo_trainer *t = NULL;
    if (zoo_trainer_new(model, "estimator=rge-central q=3 lr=0.02 seed=4", &t) != ZOO_OK) abort();
    host h = {.parallel = parallel};
    for (int i = 0; i < CELLS * 3; i++) h.x[i] = ((i * 37) % 101) / 50.0 - 1.0;
    EXPECT(zoo_slot_new(t, &h.slot) == ZOO_OK);
    for (int k = 0; k < 3; k++) EXPECT(zoo_step(t, cells_loss, &h, 0, NULL) == ZOO_OK);
    EXPECT(h.mismatches == 0);
    if (h.mismatches) fprintf(stderr, "%d of %d trials differed from the serial result\n", h.mismatches, 3 * 6 * TRIALS);
    EXPECT(zoo_trainer_get_params(t, params, n) == ZOO_OK);
    zoo_slot_free(h.slot);
    zoo_trainer_free(t);
    zoo_model_free(model);
}

int main(void) {
    enum { N = 3 * 24 + 24 + 24 * 24 + 24 + 24 * 2 + 2 };
    double serial[N], parallel[N];
    printf("OpenMP threads: %d\n", omp_get_max_threads());
    train(0, serial, N);
    train(1, parallel, N);
    EXPECT(memcmp(serial, parallel, sizeof serial) == 0);
    printf("%d passed, %d failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}
