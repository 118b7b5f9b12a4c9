/*
 * Knowledge-source-coupled learning with scarce labels (dataset mode).
 *
 * A "material" is described by 4 descriptors d. What the lab measures is
 * the temperature at the centre of a slab of it, heated from both faces,
 * at 8 times: the response of a heat-conduction model whose parameters
 * (diffusivity D, surface heat-transfer coefficient h) depend on d in a way
 * nobody knows. The heat-conduction solver below is the black box: an
 * implicit finite-volume code that gives no gradients.
 *
 * Two networks (4-16-out, tanh) learn from the same n labelled materials
 * (d, 8 measured temperatures, with noise of 0.005):
 *   data-driven  d -> 8 temperatures, fitted by supervised regression
 *                (zoo_model_fit: exact gradients, Adam);
 *   coupled      d -> (log D, log h) -> solver -> 8 temperatures, trained
 *                by zoo through the solver with the output-space estimator
 *                and per-material losses (zoo_step_output_samples): 4 solver
 *                passes over the batch per iteration, whatever the size of
 *                the network.
 * Both are scored on 400 unseen materials (RMS error of the predicted
 * temperatures against the noise-free truth).
 *
 * Usage: materials [--quick]   (quick: n in {10, 30} only; exits non-zero
 * unless the coupled model is at least 2x better at n = 10)
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "zoo.h"

#define DESCRIPTORS 4
#define PARAMS 2   /* log D, log h */
#define MEASURED 8 /* centre temperature at 8 times */
#define CELLS 16
#define DT 0.01
#define TEST_ROWS 400
#define MAX_ROWS 300
/* Decoupled weight decay of both networks: of 0.01, 0.03, 0.1 and 0.3, the
 * value that gave the data-driven network its lowest test error. */
#define WEIGHT_DECAY 0.1

static const double measure_times[MEASURED] = {0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 1.0, 1.5};

#define CHECK(call)                                                                    \
    do {                                                                               \
        zoo_status status_ = (call);                                                   \
        if (status_ != ZOO_OK) {                                                       \
            fprintf(stderr, "%s failed: %s: %s\n", #call, zoo_status_name(status_), \
                    zoo_last_error());                                                 \
            exit(1);                                                                   \
        }                                                                              \
    } while (0)

/*
 * The knowledge source: half a slab [0, 1] (symmetric about x = 0), at
 * temperature 0, whose face x = 1 exchanges heat with surroundings at 1
 * through a film of coefficient h. Backward Euler in time, finite volumes
 * in space (a tridiagonal solve per step). Writes the centre temperature
 * at the measurement times.
 */
static void heat_solver(double log_d, double log_h, double *measured) {
    /* Keep the black box defined for any input, as a production code would. */
    const double d = exp(fmin(fmax(log_d, -6.0), 6.0)), h = exp(fmin(fmax(log_h, -6.0), 6.0));
    const double dx = 1.0 / CELLS, k = d * DT / (dx * dx);
    /* Face x = 1: conduction over half a cell in series with the film. */
    const double face = DT / dx / (dx / (2 * d) + 1 / h);
    double u[CELLS] = {0}, c[CELLS], r[CELLS];
    int next = 0;
    for (int step = 1; next < MEASURED; step++) {
        /* Thomas algorithm on -k u[i-1] + (1 + ...) u[i] - k u[i+1] = rhs. */
        for (int i = 0; i < CELLS; i++) {
            double lower = i > 0 ? -k : 0, upper = i < CELLS - 1 ? -k : 0;
            double diag = 1 - lower - upper + (i == CELLS - 1 ? face : 0);
            double rhs = u[i] + (i == CELLS - 1 ? face : 0);
            if (i > 0) {
                double m = diag - lower * c[i - 1];
                c[i] = upper / m;
                r[i] = (rhs - lower * r[i - 1]) / m;
            } else {
                c[i] = upper / diag;
                r[i] = rhs / diag;
            }
        }
        u[CELLS - 1] = r[CELLS - 1];
        for (int i = CELLS - 2; i >= 0; i--) u[i] = r[i] - c[i] * u[i + 1];
        if (fabs(step * DT - measure_times[next]) < 1e-9) measured[next++] = u[0];
    }
}

/* The unknown law of the material: parameters from descriptors. */
static void true_params(const double *d, double *p) {
    p[0] = -0.6 + 0.9 * d[0] - 0.5 * d[1] + 0.2 * d[2];
    p[1] = 0.8 + 0.7 * d[2] - 0.6 * d[3] + 0.2 * d[0];
}

/* xorshift64*: a reproducible stream for descriptors and noise. */
static double uniform(unsigned long long *s) {
    *s ^= *s >> 12, *s ^= *s << 25, *s ^= *s >> 27;
    return (double)((*s * 2685821657736338717ULL) >> 11) / 9007199254740992.0;
}

static double gaussian(unsigned long long *s) {
    double a = uniform(s), b = uniform(s);
    return sqrt(-2 * log(a + 1e-300)) * cos(6.283185307179586 * b);
}

typedef struct {
    double d[MAX_ROWS > TEST_ROWS ? MAX_ROWS : TEST_ROWS][DESCRIPTORS];
    double measured[MAX_ROWS > TEST_ROWS ? MAX_ROWS : TEST_ROWS][MEASURED];
    size_t rows;
} dataset;

static void make_dataset(dataset *set, size_t rows, double noise, unsigned long long seed) {
    unsigned long long s = seed * 0x9E3779B97F4A7C15ULL + 1;
    set->rows = rows;
    for (size_t i = 0; i < rows; i++) {
        double p[PARAMS];
        for (int j = 0; j < DESCRIPTORS; j++) set->d[i][j] = 2 * uniform(&s) - 1;
        true_params(set->d[i], p);
        heat_solver(p[0], p[1], set->measured[i]);
        for (int t = 0; t < MEASURED; t++) set->measured[i][t] += noise * gaussian(&s);
    }
}

/* Per-material losses of the coupled model: solver on the network's outputs. */
static int32_t coupled_losses(void *userdata, const double *y, size_t ny, double *losses, size_t nrows) {
    const dataset *train = userdata;
    if (ny != nrows * PARAMS || nrows != train->rows) return 1;
    for (size_t i = 0; i < nrows; i++) {
        double predicted[MEASURED], sum = 0;
        heat_solver(y[i * PARAMS], y[i * PARAMS + 1], predicted);
        for (int t = 0; t < MEASURED; t++) sum += pow(predicted[t] - train->measured[i][t], 2);
        losses[i] = sum / (double)(nrows * MEASURED);
    }
    return 0;
}

/* RMS error of predicted temperatures on the test set. */
static double test_error(const zoo_model *model, int coupled, const dataset *test) {
    double sum = 0;
    for (size_t i = 0; i < test->rows; i++) {
        double out[MEASURED], predicted[MEASURED];
        CHECK(zoo_model_forward(model, test->d[i], DESCRIPTORS, out, coupled ? PARAMS : MEASURED));
        if (coupled)
            heat_solver(out[0], out[1], predicted);
        else
            memcpy(predicted, out, sizeof predicted);
        for (int t = 0; t < MEASURED; t++) sum += pow(predicted[t] - test->measured[i][t], 2);
    }
    return sqrt(sum / (double)(test->rows * MEASURED));
}

static double train_data_driven(const dataset *train, const dataset *test, int epochs, unsigned long long seed) {
    const size_t sizes[] = {DESCRIPTORS, 16, MEASURED};
    zoo_model *model = NULL;
    CHECK(zoo_model_new_mlp(sizes, 3, "tanh", seed, &model));
    char options[64];
    snprintf(options, sizeof options, "epochs=%d lr=0.01 weight_decay=%g", epochs, WEIGHT_DECAY);
    CHECK(zoo_model_fit(model, &train->d[0][0], train->rows * DESCRIPTORS, &train->measured[0][0],
                        train->rows * MEASURED, train->rows, options, NULL));
    double error = test_error(model, 0, test);
    zoo_model_free(model);
    return error;
}

static double train_coupled(dataset *train, const dataset *test, int iterations, unsigned long long seed,
                            double *seconds) {
    const size_t sizes[] = {DESCRIPTORS, 16, PARAMS};
    zoo_model *model = NULL;
    zoo_trainer *trainer = NULL;
    CHECK(zoo_model_new_mlp(sizes, 3, "tanh", seed, &model));
    /* Central differences on each of the 2 outputs of every row: 4 calls. */
    char options[96];
    snprintf(options, sizeof options, "estimator=cge-central mu=1e-4 optimizer=adam lr=0.01 weight_decay=%g",
             WEIGHT_DECAY);
    CHECK(zoo_trainer_new(model, options, &trainer));
    zoo_model_free(model);
    double loss = 0;
    for (int k = 0; k < iterations; k++)
        CHECK(zoo_step_output_samples(trainer, &train->d[0][0], train->rows * DESCRIPTORS, train->rows,
                                      coupled_losses, train, &loss));
    CHECK(zoo_trainer_metric(trainer, "wall_time", seconds));
    CHECK(zoo_trainer_copy_model(trainer, &model));
    double error = test_error(model, 1, test);
    zoo_model_free(model);
    zoo_trainer_free(trainer);
    return error;
}

int main(int argc, char **argv) {
    const int quick = argc > 1 && strcmp(argv[1], "--quick") == 0;
    const size_t sizes_full[] = {10, 30, 100, 300}, sizes_quick[] = {10, 30};
    const size_t *sizes = quick ? sizes_quick : sizes_full;
    const int count = quick ? 2 : 4, repeats = 3;
    const int iterations = 1000, epochs = 4000;
    static dataset train, test;
    make_dataset(&test, TEST_ROWS, 0.0, 999);

    printf("test RMS error of %d predicted temperatures on %d unseen materials (mean of %d training sets)\n",
           MEASURED, TEST_ROWS, repeats);
    printf("coupled: %d solver passes over the batch per iteration, %d iterations\n", 2 * PARAMS, iterations);
    printf("%8s  %12s  %12s  %8s  %s\n", "n_train", "data-driven", "coupled", "ratio", "coupled s/iter");
    double ratio_at_10 = 0;
    for (int s = 0; s < count; s++) {
        double data_error = 0, coupled_error = 0, seconds = 0;
        for (int r = 0; r < repeats; r++) {
            make_dataset(&train, sizes[s], 0.005, 100 * (r + 1) + sizes[s]);
            data_error += train_data_driven(&train, &test, epochs, r + 1) / repeats;
            coupled_error += train_coupled(&train, &test, iterations, r + 1, &seconds) / repeats;
        }
        double ratio = data_error / coupled_error;
        if (sizes[s] == 10) ratio_at_10 = ratio;
        printf("%8zu  %12.3e  %12.3e  %7.1fx  %.1e\n", sizes[s], data_error, coupled_error, ratio, seconds);
    }
    printf("coupled vs data-driven at n = 10: %.1fx lower error (goal: 2x)\n", ratio_at_10);
    return quick && ratio_at_10 < 2.0 ? 1 : 0;
}
