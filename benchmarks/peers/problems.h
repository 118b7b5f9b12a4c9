/* The peer benchmark's black boxes: four training problems behind one
 * plain-C interface, so that zoo (through its C API) and the Python
 * optimizers (through ctypes) call the very same compiled loss.
 *
 * Problems are numbered 0 .. peers_num_problems() - 1:
 *   closure     the flagship's Burgers eddy-viscosity closure (5-16-1 tanh)
 *   controller  a trebuchet-like release controller through an RK4 projectile
 *               integrator (2-16-2 tanh); exact gradient by forward sensitivities
 *   lorenz96    a learned closure of a one-scale Lorenz-96 model, trained on
 *               the slow variables of a two-scale reference (3-16-1 tanh)
 *   smooth      ill-conditioned linear least squares in 100 dimensions;
 *               exact gradient and known minimum
 *
 * Every function is deterministic and thread-safe: a problem's data are
 * built once, on first use, and only read afterwards. A loss is +inf or NaN
 * where the model blows up (a diverged rollout), never a crash. */
#ifndef PEERS_PROBLEMS_H
#define PEERS_PROBLEMS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Number of problems. */
int peers_num_problems(void);
/* Short name ("closure", ...); NULL for an unknown index. */
const char *peers_name(int problem);
/* One line saying what the problem is and what its losses measure. */
const char *peers_describe(int problem);
/* The index of the problem called `name`, or -1. */
int peers_find(const char *name);
/* Number of parameters. */
size_t peers_dim(int problem);
/* The start point drawn from `seed` (the same for every method). */
void peers_start(int problem, uint64_t seed, double *params);
/* Training loss: what every optimizer minimizes. */
double peers_loss(int problem, const double *params);
/* Validation loss (held-out data, used to choose hyper-parameters). */
double peers_validation(int problem, const double *params);
/* Test loss (other held-out data, only reported). */
double peers_test(int problem, const double *params);
/* 1 when peers_gradient gives the exact gradient of peers_loss. */
int peers_has_gradient(int problem);
/* Writes the exact gradient of the training loss into `grad` and returns
 * the loss; returns NaN (grad untouched) for a problem without one. */
double peers_gradient(int problem, const double *params, double *grad);
/* A reference the tables quote next to the trained methods: its test
 * loss, and what it is in `*what` (static text). NaN when there is none. */
double peers_reference_test(int problem, const char **what);

/* Closure only: the losses with a constant eddy viscosity nu_t in every
 * cell instead of the network (nu_t = 0 is the uncorrected solver), on
 * set 0 (training loss), 1 (validation) or 2 (test); used to check the
 * port against the Fortran demo's published numbers. */
double peers_closure_constant(int set, double nu_t);

#ifdef __cplusplus
}
#endif

#endif /* PEERS_PROBLEMS_H */
