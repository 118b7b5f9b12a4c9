/*
 * The Burgers correction task of the flagship demo, coupled from C with
 * reverse communication (ask/tell) instead of a callback: the host keeps
 * full control of when and how each candidate's rollout runs.
 *
 * A fine reference solver (512 cells, MUSCL + Rusanov, RK2) and a coarse
 * solver (32 cells, first-order Rusanov, forward Euler, dt = 0.1) of
 * u_t + (u^2/2)_x = nu u_xx on [0, 2 pi), periodic, nu = 0.02. After each
 * coarse step the network adds a conservative correction computed from
 * each cell's 3-point stencil. Baselines: SRC (no correction) and NON
 * (supervised one-step fit with exact gradients, zoo_model_fit); then
 * zoo trains the NON model further through the coarse solver over
 * 20-step rollouts. Errors are measured on other initial conditions over
 * 60 steps. Exits 1 unless the solver-trained model beats SRC.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "zoo.h"

#define NF 512
#define NC 32
#define RATIO (NF / NC)
#define DT 0.1
#define FINE_PER_COARSE 40
#define NU 0.02
#define NTRAIN 8
#define NTEST 8
#define STEPS_TRAIN 20
#define STEPS_TEST 60
#define SCALE 0.1
#define NPARAMS (3 * 16 + 16 + 16 + 1)

static const double PI = 3.14159265358979323846;

#define CHECK(call)                                                                                  \
    do {                                                                                             \
        zoo_status s_ = (call);                                                                      \
        if (s_ != ZOO_OK) {                                                                          \
            fprintf(stderr, "%s: %s: %s\n", #call, zoo_status_name(s_), zoo_last_error());          \
            exit(2);                                                                                 \
        }                                                                                            \
    } while (0)

/* Random smooth initial conditions of the Fortran demo's kind, from a
 * 64-bit LCG in unsigned (wrap-around, well-defined) arithmetic. */
static double next_uniform(int64_t *state) {
    *state = (int64_t)(((uint64_t)*state * 6364136223846793005ULL + 1442695040888963407ULL) & INT64_MAX);
    return (double)((*state / 65536) % 2147483648LL) / 2147483648.0;
}

static void initial_condition(int seed, double amplitude, int n, double *u) {
    int64_t state = 12345 + 7919 * (int64_t)seed;
    memset(u, 0, sizeof(double) * n);
    for (int k = 1; k <= 4; k++) {
        double a = next_uniform(&state) * 2 - 1, phase = 2 * PI * next_uniform(&state);
        for (int i = 0; i < n; i++) u[i] += a / k * sin(k * (i + 0.5) * 2 * PI / n + phase);
    }
    double offset = 0.3 * (next_uniform(&state) * 2 - 1), peak = 0;
    for (int i = 0; i < n; i++) {
        u[i] += offset;
        peak = fmax(peak, fabs(u[i]));
    }
    for (int i = 0; i < n; i++) u[i] *= amplitude / peak;
}

static double rusanov(double l, double r) { return 0.25 * (l * l + r * r) - 0.5 * fmax(fabs(l), fabs(r)) * (r - l); }
static double minmod(double a, double b) { return a * b <= 0 ? 0 : (fabs(a) < fabs(b) ? a : b); }

static void fine_rhs(const double *u, double *dudt) {
    double slope[NF], flux[NF], dx = 2 * PI / NF;
    for (int i = 0; i < NF; i++) slope[i] = minmod(u[i] - u[(i + NF - 1) % NF], u[(i + 1) % NF] - u[i]);
    for (int i = 0; i < NF; i++) {
        int ip = (i + 1) % NF;
        flux[i] = rusanov(u[i] + 0.5 * slope[i], u[ip] - 0.5 * slope[ip]) - NU * (u[ip] - u[i]) / dx;
    }
    for (int i = 0; i < NF; i++) dudt[i] = -(flux[i] - flux[(i + NF - 1) % NF]) / dx;
}

/* Reference trajectory on the coarse grid: ref[n][i], n = 0..nsteps. */
static void fine_solve(int seed, int nsteps, double ref[][NC]) {
    double u[NF], stage[NF], k1[NF], k2[NF], dt = DT / FINE_PER_COARSE;
    initial_condition(seed, 1.0, NF, u);
    for (int n = 0; n <= nsteps; n++) {
        if (n > 0)
            for (int s = 0; s < FINE_PER_COARSE; s++) {
                fine_rhs(u, k1);
                for (int i = 0; i < NF; i++) stage[i] = u[i] + dt * k1[i];
                fine_rhs(stage, k2);
                for (int i = 0; i < NF; i++) u[i] = 0.5 * (u[i] + stage[i] + dt * k2[i]);
            }
        for (int i = 0; i < NC; i++) {
            double sum = 0;
            for (int j = 0; j < RATIO; j++) sum += u[i * RATIO + j];
            ref[n][i] = sum / RATIO;
        }
    }
}

/* The coarse solver's step S: first-order Rusanov, forward Euler. */
static void coarse_step(double *u) {
    double flux[NC], dx = 2 * PI / NC;
    for (int i = 0; i < NC; i++) flux[i] = rusanov(u[i], u[(i + 1) % NC]) - NU * (u[(i + 1) % NC] - u[i]) / dx;
    for (int i = 0; i < NC; i++) u[i] -= DT / dx * (flux[i] - flux[(i + NC - 1) % NC]);
}

static void stencils(const double *u, double *x) {
    for (int i = 0; i < NC; i++)
        for (int j = 0; j < 3; j++) x[3 * i + j] = u[(i + j - 1 + NC) % NC];
}

/* Where the network comes from during a rollout. */
typedef struct {
    zoo_trainer *trainer; /* with id: an asked candidate */
    uint64_t id;
    const zoo_model *model; /* or a fixed model; neither: SRC */
} network;

static zoo_status correct(const network *net, double *u) {
    double x[3 * NC], y[NC], mean = 0;
    stencils(u, x);
    zoo_status s = net->trainer ? zoo_forward_batch(net->trainer, net->id, x, 3 * NC, NC, y, NC)
                                : zoo_model_forward_batch(net->model, x, 3 * NC, NC, y, NC);
    if (s != ZOO_OK) return s;
    for (int i = 0; i < NC; i++) mean += y[i] / NC;
    for (int i = 0; i < NC; i++) u[i] += SCALE * (y[i] - mean);
    return ZOO_OK;
}

/* The coarse time loop, as written, plus the correction call. */
static void rollout(const network *net, const double *u0, int nsteps, double traj[][NC]) {
    double u[NC];
    memcpy(u, u0, sizeof u);
    for (int n = 1; n <= nsteps; n++) {
        coarse_step(u);
        if (net->trainer || net->model) CHECK(correct(net, u));
        memcpy(traj[n], u, sizeof u);
    }
}

static double train_ref[NTRAIN][STEPS_TRAIN + 1][NC], test_ref[NTEST][STEPS_TEST + 1][NC];

static double training_loss(const network *net) {
    double traj[STEPS_TRAIN + 1][NC], sum = 0;
    for (int c = 0; c < NTRAIN; c++) {
        rollout(net, train_ref[c][0], STEPS_TRAIN, traj);
        for (int n = 1; n <= STEPS_TRAIN; n++)
            for (int i = 0; i < NC; i++) sum += pow(traj[n][i] - train_ref[c][n][i], 2);
    }
    return sum / (NTRAIN * STEPS_TRAIN * NC);
}

static double test_mae(const network *net) {
    double traj[STEPS_TEST + 1][NC], sum = 0;
    for (int c = 0; c < NTEST; c++) {
        rollout(net, test_ref[c][0], STEPS_TEST, traj);
        for (int n = 1; n <= STEPS_TEST; n++)
            for (int i = 0; i < NC; i++) sum += fabs(traj[n][i] - test_ref[c][n][i]);
    }
    return sum / (NTEST * STEPS_TEST * NC);
}

/* NON: fit the correction to one-step residuals of the reference. */
static void fit_non(zoo_model *model) {
    static double x[NTRAIN * STEPS_TRAIN * NC * 3], y[NTRAIN * STEPS_TRAIN * NC];
    size_t row = 0;
    for (int c = 0; c < NTRAIN; c++)
        for (int n = 0; n < STEPS_TRAIN; n++) {
            double s[NC];
            memcpy(s, train_ref[c][n], sizeof s);
            coarse_step(s);
            stencils(s, x + 3 * row);
            for (int i = 0; i < NC; i++) y[row + i] = (train_ref[c][n + 1][i] - s[i]) / SCALE;
            row += NC;
        }
    double loss;
    CHECK(zoo_model_fit(model, x, 3 * row, y, row, row, "epochs=300 batch=512 lr=0.005 seed=1", &loss));
}

int main(int argc, char **argv) {
    int iterations = argc > 1 ? atoi(argv[1]) : 150;
    for (int c = 0; c < NTRAIN; c++) fine_solve(1 + c, STEPS_TRAIN, train_ref[c]);
    for (int c = 0; c < NTEST; c++) fine_solve(1001 + c, STEPS_TEST, test_ref[c]);

    const size_t sizes[] = {3, 16, 1};
    zoo_model *model = NULL;
    CHECK(zoo_model_new_mlp(sizes, 3, "tanh", 7, &model));
    double params[NPARAMS];
    CHECK(zoo_model_get_params(model, params, NPARAMS));
    for (int i = NPARAMS - 17; i < NPARAMS; i++) params[i] = 0; /* start at SRC */
    CHECK(zoo_model_set_params(model, params, NPARAMS));
    fit_non(model);

    network src = {0}, non = {.model = model};
    double src_mae = test_mae(&src), non_mae = test_mae(&non);

    zoo_trainer *trainer = NULL;
    CHECK(zoo_trainer_new(model, "estimator=rge-central q=16 mu=0.001 optimizer=adam lr=0.002 seed=1", &trainer));
    size_t ncand = 0;
    CHECK(zoo_trainer_num_candidates(trainer, &ncand));
    uint64_t *ids = malloc(ncand * sizeof *ids);
    for (int k = 0; k < iterations; k++) {
        /* Ask for the whole iteration, run each candidate's rollout, tell. */
        size_t count = 0;
        CHECK(zoo_ask_batch(trainer, ids, ncand, &count));
        for (size_t j = 0; j < count; j++) {
            network candidate = {.trainer = trainer, .id = ids[j]};
            int32_t updated = 0;
            CHECK(zoo_tell(trainer, ids[j], training_loss(&candidate), &updated));
        }
        if ((k + 1) % 50 == 0) {
            double loss;
            CHECK(zoo_trainer_metric(trainer, "loss", &loss));
            printf("iteration %4d  training rollout loss %.4e\n", k + 1, loss);
        }
    }
    free(ids);
    zoo_model *trained = NULL;
    CHECK(zoo_trainer_copy_model(trainer, &trained));
    network sol = {.model = trained};
    double sol_mae = test_mae(&sol);
    zoo_trainer_free(trainer);
    zoo_model_free(trained);
    zoo_model_free(model);

    printf("test MAE over %d unseen initial conditions x %d steps (trained on %d):\n", NTEST, STEPS_TEST, STEPS_TRAIN);
    printf("  SRC (uncorrected)              %.4e\n", src_mae);
    printf("  NON (one-step fit)             %.4e  (%.3f x SRC)\n", non_mae, non_mae / src_mae);
    printf("  ZO-SOL (ask/tell, from NON)    %.4e  (%.3f x SRC, %.3f x NON)\n", sol_mae, sol_mae / src_mae,
           sol_mae / non_mae);
    return sol_mae < src_mae ? 0 : 1;
}
