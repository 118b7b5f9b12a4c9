/* Checks the peer benchmark's problems without Python: deterministic
 * start points and losses, exact gradients against central finite
 * differences, finite losses at the start, and the closure port against
 * the Fortran solvers' numbers. Exits 1 if any check fails. */
#include "problems.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int failures = 0;

#define CHECK(cond, ...)                                                                                     \
    do {                                                                                                     \
        if (!(cond)) {                                                                                       \
            fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);                                             \
            fprintf(stderr, __VA_ARGS__);                                                                    \
            fprintf(stderr, "\n");                                                                           \
            failures++;                                                                                      \
        }                                                                                                    \
    } while (0)

/* A point away from the start, where tanh units are not all near zero. */
static void random_point(int p, double *x, size_t n) {
    peers_start(p, 7, x);
    unsigned s = 12345u + (unsigned)p;
    for (size_t i = 0; i < n; i++) {
        s = s * 1103515245u + 12345u;
        x[i] += 0.2 * ((double)(s >> 8) / 16777216.0 - 0.5);
    }
}

/* Relative error of the exact gradient against central differences. */
static void check_gradient(int p) {
    size_t n = peers_dim(p);
    double *x = malloc(n * sizeof *x), *g = malloc(n * sizeof *g);
    random_point(p, x, n);
    double f = peers_gradient(p, x, g);
    CHECK(f == peers_loss(p, x), "%s: peers_gradient's loss %.17g differs from peers_loss %.17g", peers_name(p), f,
          peers_loss(p, x));
    double diff = 0, norm = 0;
    for (size_t i = 0; i < n; i++) {
        double keep = x[i], h = 1e-5 * fmax(1.0, fabs(keep));
        x[i] = keep + h;
        double up = peers_loss(p, x);
        x[i] = keep - h;
        double down = peers_loss(p, x);
        x[i] = keep;
        double fd = (up - down) / (2 * h);
        diff += (fd - g[i]) * (fd - g[i]);
        norm += g[i] * g[i];
    }
    double rel = sqrt(diff / norm);
    printf("%-10s gradient: |g| = %.3e, relative error vs central differences = %.2e\n", peers_name(p), sqrt(norm),
           rel);
    CHECK(norm > 0 && rel < 1e-5, "%s: gradient relative error %.3e (bound 1e-5)", peers_name(p), rel);
    free(x);
    free(g);
}

static void check_basics(int p) {
    size_t n = peers_dim(p);
    CHECK(n > 0, "problem %d has no parameters", p);
    CHECK(peers_find(peers_name(p)) == p, "peers_find(%s) != %d", peers_name(p), p);
    double *a = malloc(n * sizeof *a), *b = malloc(n * sizeof *b);
    peers_start(p, 3, a);
    peers_start(p, 3, b);
    CHECK(memcmp(a, b, n * sizeof *a) == 0, "%s: start point not deterministic", peers_name(p));
    peers_start(p, 4, b);
    CHECK(memcmp(a, b, n * sizeof *a) != 0, "%s: seeds 3 and 4 give the same start", peers_name(p));
    double l1 = peers_loss(p, a), l2 = peers_loss(p, a);
    double v = peers_validation(p, a), t = peers_test(p, a);
    CHECK(l1 == l2, "%s: loss not deterministic (%.17g, %.17g)", peers_name(p), l1, l2);
    CHECK(isfinite(l1) && l1 > 0 && isfinite(v) && isfinite(t), "%s: losses at the start %g %g %g", peers_name(p),
          l1, v, t);
    CHECK(v != l1 && t != v, "%s: validation/test not distinct from training", peers_name(p));
    const char *what = NULL;
    double ref = peers_reference_test(p, &what);
    printf("%-10s d = %zu, start (seed 3): train %.4e, validation %.4e, test %.4e; reference test %.4e (%s)\n",
           peers_name(p), n, l1, v, t, ref, what ? what : "");
    free(a);
    free(b);
}

int main(void) {
    CHECK(peers_num_problems() == 4, "expected 4 problems");
    CHECK(peers_find("nonexistent") == -1, "unknown name found");
    for (int p = 0; p < peers_num_problems(); p++) {
        check_basics(p);
        if (peers_has_gradient(p)) check_gradient(p);
        else {
            double x[1];
            CHECK(isnan(peers_gradient(p, x, x)), "%s: gradient without one", peers_name(p));
        }
    }
    /* The port against the Fortran solvers with the demo's former
     * generator (burgers_solvers.f90 built with gfortran -O0, sharp regime,
     * test initial conditions 1001-1008): test MAE of the uncorrected
     * solver 7.25787e-02, with nu_t = 0.023604 2.80866e-02. */
    double src = peers_closure_constant(2, 0.0), best = peers_closure_constant(2, 0.023604);
    printf("closure port: test MAE SRC %.5e (Fortran 7.25787e-02), nu_t 0.023604 %.5e (Fortran 2.80866e-02)\n", src,
           best);
    CHECK(fabs(src - 7.25787e-2) <= 1e-7, "closure SRC test MAE %.6e, Fortran 7.25787e-02", src);
    CHECK(fabs(best - 2.80866e-2) <= 1e-7, "closure constant test MAE %.6e, Fortran 2.80866e-02", best);
    if (failures) {
        fprintf(stderr, "%d check(s) failed\n", failures);
        return 1;
    }
    printf("all problem checks passed\n");
    return 0;
}
