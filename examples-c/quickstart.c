/*
 * zoo quickstart (C): learn the source term of a heat equation through a
 * legacy-style solver that zoo cannot see into.
 *
 * The solver advances u_t = kappa * u_xx + s(u) on a rod of NCELLS cells
 * with explicit finite differences, stores its state in single precision
 * and clamps it to [0, 1], as production codes do. A small network replaces
 * the unknown source s(u); zoo trains it from trajectory losses alone
 * against a reference run with the true source. The loss callback is
 * thread-safe (it only reads shared data), so zoo runs candidates on its
 * threads.
 *
 * Prints the loss falling; exits 1 unless the final loss is below 5% of
 * the initial one.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "zoo.h"

#define NCELLS 16
#define NSTEPS 60
#define KAPPA 0.2
#define DT 0.05

typedef struct {
    float reference[NSTEPS][NCELLS];
} problem;

/* The true source the network has to learn. */
static double true_source(double u) { return 0.8 * sin(3.14159265358979 * u) - 0.3 * u; }

static float clamp01(double v) { return (float)(v < 0.0 ? 0.0 : (v > 1.0 ? 1.0 : v)); }

/* The legacy solver: `source(ctx, u, s)` fills s[i] = s(u[i]) for every cell. */
typedef int (*source_fn)(void *ctx, const double *u, double *s);

static int run_solver(source_fn source, void *ctx, float trajectory[NSTEPS][NCELLS]) {
    float u[NCELLS];
    for (int i = 0; i < NCELLS; i++) u[i] = (float)(0.5 + 0.4 * sin(6.283185307 * i / NCELLS));
    for (int t = 0; t < NSTEPS; t++) {
        double ud[NCELLS], s[NCELLS];
        for (int i = 0; i < NCELLS; i++) ud[i] = u[i];
        if (source(ctx, ud, s) != 0) return 1;
        float next[NCELLS];
        for (int i = 0; i < NCELLS; i++) {
            double left = ud[(i + NCELLS - 1) % NCELLS], right = ud[(i + 1) % NCELLS];
            next[i] = clamp01(ud[i] + DT * (KAPPA * (left - 2.0 * ud[i] + right) + s[i]));
        }
        for (int i = 0; i < NCELLS; i++) u[i] = trajectory[t][i] = next[i];
    }
    return 0;
}

static int exact_source(void *ctx, const double *u, double *s) {
    (void)ctx;
    for (int i = 0; i < NCELLS; i++) s[i] = true_source(u[i]);
    return 0;
}

/* The network as the source: all cells in one batch (NCELLS rows of 1 input). */
static int network_source(void *candidate, const double *u, double *s) {
    return zoo_candidate_forward_batch(candidate, u, NCELLS, NCELLS, s, NCELLS) == ZOO_OK ? 0 : 1;
}

/* zoo's loss callback: run the solver with this candidate's network. */
static int32_t rollout_loss(void *userdata, zoo_candidate *candidate, double *loss) {
    const problem *p = userdata;
    float trajectory[NSTEPS][NCELLS];
    if (run_solver(network_source, candidate, trajectory) != 0) return 1;
    double sum = 0.0;
    for (int t = 0; t < NSTEPS; t++)
        for (int i = 0; i < NCELLS; i++) {
            double e = (double)trajectory[t][i] - (double)p->reference[t][i];
            sum += e * e;
        }
    *loss = sum / (NSTEPS * NCELLS);
    return 0;
}

#define CHECK(call)                                                                          \
    do {                                                                                     \
        zoo_status status_ = (call);                                                         \
        if (status_ != ZOO_OK) {                                                             \
            fprintf(stderr, "%s failed: %s: %s\n", #call, zoo_status_name(status_), zoo_last_error()); \
            return 2;                                                                        \
        }                                                                                    \
    } while (0)

int main(void) {
    static problem p;
    run_solver(exact_source, NULL, p.reference);

    const size_t sizes[] = {1, 8, 1};
    zoo_model *model = NULL;
    zoo_trainer *trainer = NULL;
    CHECK(zoo_model_new_mlp(sizes, 3, "tanh", 7, &model));
    CHECK(zoo_trainer_new(model, "estimator=rge-central q=8 mu=0.01 optimizer=adam lr=0.03 seed=3 threads=2", &trainer));
    zoo_model_free(model); /* the trainer holds its own copy */

    double initial = 0.0, loss = 0.0;
    CHECK(zoo_evaluate(trainer, rollout_loss, &p, &initial));
    printf("zoo %s: heat-equation source through a single-precision, clamped solver\n", zoo_version());
    printf("initial rollout loss %.4e\n", initial);
    const int iterations = 400;
    for (int k = 1; k <= iterations; k++) {
        CHECK(zoo_step(trainer, rollout_loss, &p, ZOO_THREADSAFE, &loss));
        if (k % 80 == 0) printf("iteration %4d  loss %.4e\n", k, loss);
    }
    double final = 0.0;
    CHECK(zoo_evaluate(trainer, rollout_loss, &p, &final));
    double evaluations = 0.0;
    CHECK(zoo_trainer_metric(trainer, "evaluations", &evaluations));
    zoo_trainer_free(trainer);

    const double threshold = 0.05;
    printf("final rollout loss %.4e = %.3f x initial (%d iterations, %.0f solver runs each; threshold %.2f)\n",
           final, final / initial, iterations, evaluations, threshold);
    return final < threshold * initial ? 0 : 1;
}
