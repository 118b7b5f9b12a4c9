/*
 * Training across MPI ranks with zoo, which links no MPI itself: the host
 * hands zoo an allreduce callback plus its rank and size.
 *
 * Usage: mpirun -np N mpi_train [candidates|replicated] [threads] [iterations]
 *   candidates  every rank evaluates a share of the candidates (default)
 *   replicated  every rank evaluates every candidate on its own share of
 *               the data, as a domain-decomposed solver would
 * The black box passes the network's output through a saturating sensor
 * model; the loss compares it with measurements at 64 points. Rank 0
 * prints the final loss and the weights in hexadecimal, so runs with
 * different rank and thread counts can be compared bit for bit. Exits 1
 * when the ranks' weights diverged or the loss did not fall.
 */
#include <math.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "zoo.h"

#define NPOINTS 64

typedef struct {
    int rank, size, replicated;
    double x[NPOINTS], measured[NPOINTS];
} problem;

/* The black box: a sensor that saturates and quantizes. */
static double sensor(double v) { return round(1000.0 * tanh(2.0 * v)) / 1000.0; }

static int32_t allreduce(void *userdata, double *values, size_t n) {
    (void)userdata;
    return MPI_Allreduce(MPI_IN_PLACE, values, (int)n, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD) == MPI_SUCCESS ? 0 : 1;
}

static int32_t loss(void *userdata, zoo_candidate *candidate, double *out) {
    const problem *p = userdata;
    double sum = 0.0;
    /* Replicated: this rank's points only; the ranks' partial sums add up. */
    int first = p->replicated ? p->rank : 0, stride = p->replicated ? p->size : 1;
    for (int i = first; i < NPOINTS; i += stride) {
        double y;
        if (zoo_candidate_forward(candidate, &p->x[i], 1, &y, 1) != ZOO_OK) return 1;
        double e = sensor(y) - p->measured[i];
        sum += e * e;
    }
    *out = sum / NPOINTS;
    return 0;
}

#define CHECK(call)                                                                          \
    do {                                                                                     \
        zoo_status s_ = (call);                                                              \
        if (s_ != ZOO_OK) {                                                                  \
            fprintf(stderr, "rank %d: %s: %s: %s\n", p.rank, #call, zoo_status_name(s_), zoo_last_error()); \
            MPI_Abort(MPI_COMM_WORLD, 2);                                                    \
        }                                                                                    \
    } while (0)

int main(int argc, char **argv) {
    MPI_Init(&argc, &argv);
    problem p;
    MPI_Comm_rank(MPI_COMM_WORLD, &p.rank);
    MPI_Comm_size(MPI_COMM_WORLD, &p.size);
    const char *partition = argc > 1 ? argv[1] : "candidates";
    int threads = argc > 2 ? atoi(argv[2]) : 1, iterations = argc > 3 ? atoi(argv[3]) : 150;
    p.replicated = strcmp(partition, "replicated") == 0;
    for (int i = 0; i < NPOINTS; i++) {
        p.x[i] = -1.0 + 2.0 * i / (NPOINTS - 1);
        p.measured[i] = sensor(0.4 * sin(3.0 * p.x[i]));
    }

    const size_t sizes[] = {1, 8, 1};
    zoo_model *model = NULL;
    zoo_trainer *trainer = NULL;
    char options[256];
    snprintf(options, sizeof options, "estimator=rge-central q=8 mu=0.01 lr=0.03 seed=3 threads=%d partition=%s",
             threads, partition);
    CHECK(zoo_model_new_mlp(sizes, 3, "tanh", 1, &model));
    CHECK(zoo_trainer_new(model, options, &trainer));
    zoo_model_free(model);
    CHECK(zoo_trainer_set_communicator(trainer, allreduce, NULL, (uint32_t)p.rank, (uint32_t)p.size));

    double first = 0.0, last = 0.0;
    for (int k = 0; k < iterations; k++) {
        CHECK(zoo_step(trainer, loss, &p, ZOO_THREADSAFE, &last));
        if (k == 0) first = last;
    }
    int32_t consistent = 0;
    CHECK(zoo_trainer_check_consistency(trainer, &consistent));
    size_t n = 0;
    CHECK(zoo_trainer_num_params(trainer, &n));
    double *params = malloc(n * sizeof *params);
    CHECK(zoo_trainer_get_params(trainer, params, n));
    if (p.rank == 0) {
        printf("%d ranks, partition=%s, %d threads: loss %.6e -> %.6e, ranks consistent: %s\n", p.size, partition,
               threads, first, last, consistent ? "yes" : "NO");
        for (size_t i = 0; i < n; i++) printf("weight %a\n", params[i]);
    }
    free(params);
    zoo_trainer_free(trainer);
    MPI_Finalize();
    return consistent && last < 0.5 * first ? 0 : 1;
}
