/* The materials example: shared definitions (see materials.c). */
#ifndef MATERIALS_H
#define MATERIALS_H

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

#include "zoo.h"

#define DESCRIPTORS 4
#define PARAMS 2   /* log D, log h */
#define MEASURED 8 /* centre temperature at 8 times */
#define MAX_ROWS 400
#define TEST_ROWS 400
#define NOISE 0.005

#define CHECK(call)                                                                    \
    do {                                                                               \
        zoo_status status_ = (call);                                                   \
        if (status_ != ZOO_OK) {                                                       \
            fprintf(stderr, "%s failed: %s: %s\n", #call, zoo_status_name(status_), \
                    zoo_last_error());                                                 \
            exit(1);                                                                   \
        }                                                                              \
    } while (0)

/* A discretisation of the heat-conduction model: cells in space, time step. */
typedef struct {
    int cells;
    double dt;
} solver_grid;

/* The coupled model's solver, and the resolved one that makes the labels of
 * the model-form-error variant. */
extern const solver_grid coarse_grid, fine_grid;

/* The black box: for `rows` materials, (log D, log h) in params (rows x 2)
 * to the 8 measured temperatures (rows x 8). */
void heat_solver(const solver_grid *grid, const double *params, size_t rows, double *measured);

typedef struct {
    double d[MAX_ROWS][DESCRIPTORS];
    double params[MAX_ROWS][PARAMS]; /* the true (log D, log h) */
    double measured[MAX_ROWS][MEASURED];
    size_t rows;
} dataset;

/* `rows` materials drawn from `seed`, labelled by `grid` with Gaussian noise
 * of standard deviation `noise`. The descriptors and the noise depend on
 * the seed only, so two label grids see the same materials and noise. */
void make_dataset(dataset *set, size_t rows, double noise, unsigned long long seed, const solver_grid *grid);

/* RMS of (prediction - labels) over a set; the coupled model's predictions
 * go through `grid`'s solver (NULL: the network predicts temperatures). */
double rms_error(const zoo_model *model, const solver_grid *grid, const dataset *set);

/* The lowest RMS error `grid`'s solver can reach on `set` with the best
 * (log D, log h) for each material (Gauss-Newton from the true ones): what
 * even a perfect coupled network cannot beat. */
double solver_floor(const solver_grid *grid, const dataset *set);

#endif
