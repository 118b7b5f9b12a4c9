/* The materials example's physics: the heat-conduction solver (the black
 * box), the unknown law of the material, and the labelled data sets. */
#include <math.h>
#include <string.h>

#include "materials.h"

#define MAX_CELLS 128

static const double measure_times[MEASURED] = {0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 1.0, 1.5};

/* What the coupled network trains through: 16 cells, time step 0.01. */
const solver_grid coarse_grid = {16, 0.01};
/* Converged to well below the label noise: the "real" slab of the
 * model-form-error variant, which the coarse solver only approximates. */
const solver_grid fine_grid = {96, 0.0005};

/* Materials advanced together, one per SIMD lane: a block's time loop
 * costs little more than one material's. */
#define LANES 8

/*
 * Half a slab [0, 1] (symmetric about x = 0), at temperature 0, whose face
 * x = 1 exchanges heat with surroundings at 1 through a film of
 * coefficient h. Backward Euler in time, finite volumes in space (a
 * tridiagonal system per step, the same every step, so it is factored
 * once). For each of `rows` materials (params: log D, log h), writes the
 * centre temperature at the measurement times (measured: rows x 8).
 */
void heat_solver(const solver_grid *grid, const double *params, size_t rows, double *measured) {
    const int n = grid->cells;
    if (n < 2 || n > MAX_CELLS) {
        for (size_t t = 0; t < rows * MEASURED; t++) measured[t] = NAN;
        return;
    }
    const double dx = 1.0 / n;
    for (size_t start = 0; start < rows; start += LANES) {
        double k[LANES], face[LANES], u[MAX_CELLS][LANES], c[MAX_CELLS][LANES], inv[MAX_CELLS][LANES];
        for (int l = 0; l < LANES; l++) {
            /* Spare lanes repeat the block's first material. */
            const size_t row = start + (size_t)l < rows ? start + (size_t)l : start;
            const double *p = params + 2 * row;
            /* Keep the black box defined for any input, as a production code would. */
            const double d = exp(fmin(fmax(p[0], -6.0), 6.0)), h = exp(fmin(fmax(p[1], -6.0), 6.0));
            k[l] = d * grid->dt / (dx * dx);
            /* Face x = 1: conduction over half a cell in series with the film. */
            face[l] = grid->dt / dx / (dx / (2 * d) + 1 / h);
            /* Thomas factors of -k u[i-1] + diag_i u[i] - k u[i+1]. */
            for (int i = 0; i < n; i++) {
                double diag = 1 + (i > 0 ? k[l] : 0) + (i < n - 1 ? k[l] : face[l]);
                double m = i > 0 ? diag + k[l] * c[i - 1][l] : diag;
                inv[i][l] = 1 / m;
                c[i][l] = i < n - 1 ? -k[l] * inv[i][l] : 0;
                u[i][l] = 0;
            }
        }
        int next = 0;
        for (long step = 1; next < MEASURED; step++) {
            /* Forward elimination (into u), then back substitution. */
            for (int l = 0; l < LANES; l++) u[0][l] *= inv[0][l];
            for (int i = 1; i < n - 1; i++)
                for (int l = 0; l < LANES; l++) u[i][l] = (u[i][l] + k[l] * u[i - 1][l]) * inv[i][l];
            for (int l = 0; l < LANES; l++) u[n - 1][l] = (u[n - 1][l] + face[l] + k[l] * u[n - 2][l]) * inv[n - 1][l];
            for (int i = n - 2; i >= 0; i--)
                for (int l = 0; l < LANES; l++) u[i][l] -= c[i][l] * u[i + 1][l];
            if (step == lround(measure_times[next] / grid->dt)) {
                for (int l = 0; l < LANES && start + (size_t)l < rows; l++)
                    measured[(start + (size_t)l) * MEASURED + (size_t)next] = u[0][l];
                next++;
            }
        }
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

void make_dataset(dataset *set, size_t rows, double noise, unsigned long long seed, const solver_grid *grid) {
    unsigned long long s = seed * 0x9E3779B97F4A7C15ULL + 1;
    set->rows = rows;
    for (size_t i = 0; i < rows; i++) {
        for (int j = 0; j < DESCRIPTORS; j++) set->d[i][j] = 2 * uniform(&s) - 1;
        true_params(set->d[i], set->params[i]);
    }
    heat_solver(grid, &set->params[0][0], rows, &set->measured[0][0]);
    for (size_t i = 0; i < rows; i++)
        for (int t = 0; t < MEASURED; t++) set->measured[i][t] += noise * gaussian(&s);
}

double rms_error(const zoo_model *model, const solver_grid *grid, const dataset *set) {
    const size_t outputs = grid ? PARAMS : MEASURED;
    double y[MAX_ROWS * MEASURED], solved[MAX_ROWS * MEASURED], sum = 0;
    CHECK(zoo_model_forward_batch(model, &set->d[0][0], set->rows * DESCRIPTORS, set->rows, y,
                                  set->rows * outputs));
    const double *predicted = y;
    if (grid) {
        heat_solver(grid, y, set->rows, solved);
        predicted = solved;
    }
    for (size_t i = 0; i < set->rows; i++)
        for (size_t t = 0; t < MEASURED; t++) sum += pow(predicted[i * MEASURED + t] - set->measured[i][t], 2);
    return sqrt(sum / (double)(set->rows * MEASURED));
}

double solver_floor(const solver_grid *grid, const dataset *set) {
    double total = 0;
    for (size_t i = 0; i < set->rows; i++) {
        double p[PARAMS] = {set->params[i][0], set->params[i][1]}, best = INFINITY;
        for (int iteration = 0; iteration < 20; iteration++) {
            /* p, then central differences in each parameter: 5 solves. */
            double q[5][PARAMS], m[5][MEASURED], jac[MEASURED][PARAMS], sum = 0;
            for (int v = 0; v < 5; v++) {
                q[v][0] = p[0] + (v == 1 ? 1e-6 : v == 2 ? -1e-6 : 0);
                q[v][1] = p[1] + (v == 3 ? 1e-6 : v == 4 ? -1e-6 : 0);
            }
            heat_solver(grid, &q[0][0], 5, &m[0][0]);
            for (int t = 0; t < MEASURED; t++) {
                sum += pow(m[0][t] - set->measured[i][t], 2);
                jac[t][0] = (m[1][t] - m[2][t]) / 2e-6;
                jac[t][1] = (m[3][t] - m[4][t]) / 2e-6;
            }
            best = fmin(best, sum);
            /* Normal equations of the 2-parameter least-squares step. */
            double a = 0, b = 0, c = 0, g0 = 0, g1 = 0;
            for (int t = 0; t < MEASURED; t++) {
                double r = m[0][t] - set->measured[i][t];
                a += jac[t][0] * jac[t][0], b += jac[t][0] * jac[t][1], c += jac[t][1] * jac[t][1];
                g0 += jac[t][0] * r, g1 += jac[t][1] * r;
            }
            const double det = a * c - b * b;
            if (!(fabs(det) > 0)) break;
            p[0] -= (c * g0 - b * g1) / det;
            p[1] -= (a * g1 - b * g0) / det;
        }
        total += best;
    }
    return sqrt(total / (double)(set->rows * MEASURED));
}
