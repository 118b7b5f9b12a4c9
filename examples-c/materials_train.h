/* The materials example's learners (see materials_train.c). */
#ifndef MATERIALS_TRAIN_H
#define MATERIALS_TRAIN_H

#include "materials.h"

/* Data-driven network: descriptors -> 8 temperatures, zoo_model_fit (Adam,
 * exact gradients, full batch). */
typedef struct {
    int width, epochs;
    double lr, weight_decay;
} dd_config;

/* Coupled network: descriptors -> (log D, log h) -> solver, trained by zoo
 * (Adam with a cosine decay, output-space CGE, per-material losses) for
 * `iterations` on minibatches of `batch` materials (0 or >= n: the whole
 * set). */
typedef struct {
    int width, batch, iterations;
    double lr, weight_decay;
} cp_config;

/* Trains and writes the RMS error on each of `eval[0..neval]`. */
void train_data_driven(const dd_config *config, const dataset *train, const dataset *const *eval, int neval,
                       unsigned long long seed, double *errors);

/* Trains through `grid`'s solver and writes the RMS error on each of
 * `eval[0..neval]` (the predictions go through the same solver). */
void train_coupled(const cp_config *config, const solver_grid *grid, const dataset *train,
                   const dataset *const *eval, int neval, unsigned long long seed, double *errors);

#endif
