/* The materials example's two learners: a data-driven network fitted to the
 * measured temperatures, and a network coupled to the heat solver trained
 * by zoo through it. */
#include <math.h>
#include <string.h>

#include "materials_train.h"

void train_data_driven(const dd_config *config, const dataset *train, const dataset *const *eval, int neval,
                       unsigned long long seed, double *errors) {
    const size_t sizes[] = {DESCRIPTORS, (size_t)config->width, MEASURED};
    zoo_model *model = NULL;
    CHECK(zoo_model_new_mlp(sizes, 3, "tanh", seed, &model));
    /* Adam at a constant rate bounces around the minimum; a last quarter
     * of the epochs at a tenth of the rate settles it (zoo_model_fit has a
     * constant rate, so two calls: the second restarts Adam's moments). */
    for (int stage = 0; stage < 2; stage++) {
        char options[128];
        snprintf(options, sizeof options, "epochs=%d lr=%g weight_decay=%g",
                 stage == 0 ? config->epochs - config->epochs / 4 : config->epochs / 4,
                 stage == 0 ? config->lr : config->lr / 10, config->weight_decay);
        zoo_status status = zoo_model_fit(model, &train->d[0][0], train->rows * DESCRIPTORS, &train->measured[0][0],
                                          train->rows * MEASURED, train->rows, options, NULL);
        /* A fit that diverges is a configuration validation rejects. */
        if (status == ZOO_ITERATION_FAILED) {
            for (int e = 0; e < neval; e++) errors[e] = INFINITY;
            zoo_model_free(model);
            return;
        }
        CHECK(status);
    }
    for (int e = 0; e < neval; e++) errors[e] = rms_error(model, NULL, eval[e]);
    zoo_model_free(model);
}

/* One minibatch of the coupled model's training set. */
typedef struct {
    const solver_grid *grid;
    double x[MAX_ROWS][DESCRIPTORS];
    double measured[MAX_ROWS][MEASURED];
    size_t rows;
} batch;

/* Per-material losses of the coupled model: the solver on the network's
 * outputs. Reads only its own batch, so concurrent trainers never share. */
static int32_t coupled_losses(void *userdata, const double *y, size_t ny, double *losses, size_t nrows) {
    const batch *b = userdata;
    if (ny != nrows * PARAMS || nrows != b->rows) return 1;
    double predicted[MAX_ROWS][MEASURED];
    heat_solver(b->grid, y, nrows, &predicted[0][0]);
    for (size_t i = 0; i < nrows; i++) {
        double sum = 0;
        for (int t = 0; t < MEASURED; t++) sum += pow(predicted[i][t] - b->measured[i][t], 2);
        losses[i] = sum / (double)(nrows * MEASURED);
    }
    return 0;
}

static unsigned long long next_random(unsigned long long *s) {
    *s ^= *s >> 12, *s ^= *s << 25, *s ^= *s >> 27;
    return *s * 2685821657736338717ULL;
}

void train_coupled(const cp_config *config, const solver_grid *grid, const dataset *train,
                   const dataset *const *eval, int neval, unsigned long long seed, double *errors) {
    const size_t sizes[] = {DESCRIPTORS, (size_t)config->width, PARAMS};
    zoo_model *model = NULL;
    zoo_trainer *trainer = NULL;
    CHECK(zoo_model_new_mlp(sizes, 3, "tanh", seed, &model));
    /* Central differences on each of the 2 outputs of every row: 4 solver
     * passes over the batch per iteration. The rate decays to 0 over the
     * run (cosine): at a constant rate, minibatches keep the weights
     * wandering around the minimum. */
    char options[224];
    snprintf(options, sizeof options,
             "estimator=cge-central mu=1e-4 optimizer=adam lr=%g weight_decay=%g seed=%llu schedule=cosine "
             "schedule_iterations=%d",
             config->lr, config->weight_decay, seed, config->iterations);
    CHECK(zoo_trainer_new(model, options, &trainer));
    zoo_model_free(model);

    batch *b = malloc(sizeof *b);
    if (!b) {
        fprintf(stderr, "out of memory\n");
        exit(1);
    }
    size_t order[MAX_ROWS], rows = train->rows;
    const size_t per_batch = config->batch > 0 && (size_t)config->batch < rows ? (size_t)config->batch : rows;
    size_t used = per_batch < rows ? rows : 0;
    unsigned long long s = seed * 0x2545F4914F6CDD1DULL + 7;
    for (size_t i = 0; i < rows; i++) order[i] = i;
    b->grid = grid;
    b->rows = per_batch;
    for (int k = 1; k <= config->iterations; k++) {
        /* Minibatches: the training set in a fresh random order each epoch
         * (the whole set, in its order, when one batch holds it). */
        for (size_t j = 0; j < per_batch && (per_batch < rows || k == 1); j++) {
            if (used == rows) {
                for (size_t i = rows - 1; i > 0; i--) {
                    size_t r = (size_t)(next_random(&s) % (i + 1)), t = order[i];
                    order[i] = order[r], order[r] = t;
                }
                used = 0;
            }
            memcpy(b->x[j], train->d[order[used]], sizeof b->x[j]);
            memcpy(b->measured[j], train->measured[order[used]], sizeof b->measured[j]);
            used++;
        }
        double loss = 0;
        CHECK(zoo_step_output_samples(trainer, &b->x[0][0], per_batch * DESCRIPTORS, per_batch, coupled_losses, b,
                                      &loss));
    }
    CHECK(zoo_trainer_copy_model(trainer, &model));
    for (int e = 0; e < neval; e++) errors[e] = rms_error(model, grid, eval[e]);
    zoo_model_free(model);
    zoo_trainer_free(trainer);
    free(b);
}
