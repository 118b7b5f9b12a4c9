/* The peer benchmark's black boxes (see problems.h). Plain C99, no
 * dependencies beyond libm and pthreads; each problem's data are built
 * once under pthread_once and only read afterwards. */
#include "problems.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define PI 3.14159265358979323846

/* ---- shared helpers -------------------------------------------------- */

/* splitmix64: start points and data sets are drawn from it, so they are
 * the same on every platform and independent of any library's RNG. */
static uint64_t splitmix(uint64_t *s) {
    uint64_t z = (*s += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

static double uniform01(uint64_t *s) { return (double)(splitmix(s) >> 11) / 9007199254740992.0; }

static double gaussian(uint64_t *s) {
    double u1 = uniform01(s), u2 = uniform01(s);
    return sqrt(-2.0 * log(1.0 - u1)) * cos(2.0 * PI * u2);
}

/* A one-hidden-layer tanh MLP in zoo's parameter layout (W1 row-major
 * hidden x inputs, b1, W2 outputs x hidden, b2), so that the same vector
 * means the same network in zoo and here. */
typedef struct {
    int in, hidden, out;
} mlp_shape;

static size_t mlp_size(mlp_shape s) {
    return (size_t)s.hidden * s.in + s.hidden + (size_t)s.out * s.hidden + s.out;
}

/* y = W2 tanh(W1 x + b1) + b2; h (hidden values) is kept for backprop. */
static void mlp_forward(mlp_shape s, const double *p, const double *x, double *h, double *y) {
    const double *w1 = p, *b1 = w1 + s.hidden * s.in, *w2 = b1 + s.hidden, *b2 = w2 + s.out * s.hidden;
    for (int j = 0; j < s.hidden; j++) {
        double a = b1[j];
        for (int i = 0; i < s.in; i++) a += w1[j * s.in + i] * x[i];
        h[j] = tanh(a);
    }
    for (int o = 0; o < s.out; o++) {
        double a = b2[o];
        for (int j = 0; j < s.hidden; j++) a += w2[o * s.hidden + j] * h[j];
        y[o] = a;
    }
}

/* Adds dL/dp to g, given dL/dy = dy and the forward's x and h. */
static void mlp_backward(mlp_shape s, const double *p, const double *x, const double *h, const double *dy,
                         double *g) {
    const double *w2 = p + s.hidden * s.in + s.hidden;
    double *gw1 = g, *gb1 = gw1 + s.hidden * s.in, *gw2 = gb1 + s.hidden, *gb2 = gw2 + s.out * s.hidden;
    for (int o = 0; o < s.out; o++) {
        gb2[o] += dy[o];
        for (int j = 0; j < s.hidden; j++) gw2[o * s.hidden + j] += dy[o] * h[j];
    }
    for (int j = 0; j < s.hidden; j++) {
        double dh = 0;
        for (int o = 0; o < s.out; o++) dh += w2[o * s.hidden + j] * dy[o];
        double da = dh * (1.0 - h[j] * h[j]);
        gb1[j] += da;
        for (int i = 0; i < s.in; i++) gw1[j * s.in + i] += da * x[i];
    }
}

/* Xavier-uniform weights, zero biases (what zoo_model_new_mlp draws for
 * tanh, from another generator). */
static void mlp_start(mlp_shape s, uint64_t seed, double *p) {
    uint64_t st = seed * 0x2545F4914F6CDD1DULL + 17;
    double *w1 = p, *b1 = w1 + s.hidden * s.in, *w2 = b1 + s.hidden, *b2 = w2 + s.out * s.hidden;
    double l1 = sqrt(6.0 / (s.in + s.hidden)), l2 = sqrt(6.0 / (s.hidden + s.out));
    for (int k = 0; k < s.hidden * s.in; k++) w1[k] = l1 * (2 * uniform01(&st) - 1);
    for (int k = 0; k < s.out * s.hidden; k++) w2[k] = l2 * (2 * uniform01(&st) - 1);
    memset(b1, 0, sizeof(double) * s.hidden);
    memset(b2, 0, sizeof(double) * s.out);
}

static double sigmoid(double z) { return 1.0 / (1.0 + exp(-z)); }
static double softplus(double z) { return fmax(z, 0.0) + log1p(exp(-fabs(z))); }

/* ---- closure: the flagship's Burgers eddy-viscosity closure ----------- */
/* A port of examples-fortran/burgers (burgers_solvers.f90 and the closure
 * task of burgers_coupling.f90), sharp regime: nu = 0.01, |u| <= 1.5. */

enum { NFINE = 512, NCOARSE = 32, RATIO = NFINE / NCOARSE, FINE_PER_COARSE = 40, NICS = 8 };
enum { CL_TRAIN_STEPS = 20, CL_TEST_STEPS = 60 };
static const double CL_NU = 0.01, CL_AMPLITUDE = 1.5, CL_DT = 0.1, CL_SCALE = 0.05;
static const mlp_shape CL_NET = {5, 16, 1};
/* Initial-condition seeds of the demo: training 1-8, validation 501-508, test 1001-1008. */
static const int CL_FIRST_SEED[3] = {1, 501, 1001};
static const int CL_STEPS[3] = {CL_TRAIN_STEPS, CL_TEST_STEPS, CL_TEST_STEPS};

/* ref[set][ic][n][i]: the fine solution averaged onto the coarse grid. */
static double cl_ref[3][NICS][CL_TEST_STEPS + 1][NCOARSE];
static pthread_once_t cl_once = PTHREAD_ONCE_INIT;

/* The demo's former generator: a 64-bit LCG reduced modulo huge(int64),
 * with two's-complement wrap-around, as gfortran -O0 computed it. (The
 * Fortran relied on signed overflow, undefined there, and now uses a
 * Park-Miller generator; these draws are kept so that the published
 * results stay reproducible.) */
static double cl_next_uniform(int64_t *state) {
    const int64_t huge = INT64_MAX;
    int64_t s = (int64_t)((uint64_t)*state * 6364136223846793005ULL + 1442695040888963407ULL);
    s %= huge;
    if (s < 0) s += huge;
    *state = s;
    return (double)((s / 65536) % 2147483648LL) / 2147483648.0;
}

static void cl_initial_condition(int seed, int n, double *u) {
    int64_t state = 12345 + 7919 * (int64_t)seed;
    for (int i = 0; i < n; i++) u[i] = 0;
    for (int k = 1; k <= 4; k++) {
        double a = cl_next_uniform(&state) * 2 - 1;
        double phase = 2 * PI * cl_next_uniform(&state);
        for (int i = 0; i < n; i++) u[i] += a / k * sin(k * ((i + 0.5) * 2 * PI / n) + phase);
    }
    double shift = 0.3 * (cl_next_uniform(&state) * 2 - 1), peak = 0;
    for (int i = 0; i < n; i++) {
        u[i] += shift;
        peak = fmax(peak, fabs(u[i]));
    }
    for (int i = 0; i < n; i++) u[i] = CL_AMPLITUDE * u[i] / peak;
}

static double minmod(double a, double b) { return 0.5 * (copysign(1.0, a) + copysign(1.0, b)) * fmin(fabs(a), fabs(b)); }
static double rusanov(double l, double r) { return 0.25 * (l * l + r * r) - 0.5 * fmax(fabs(l), fabs(r)) * (r - l); }

/* du/dt of the fine scheme: MUSCL (minmod) + Rusanov + central diffusion. */
static void cl_fine_rhs(const double *u, double *dudt) {
    double slope[NFINE], flux[NFINE], dx = 2 * PI / NFINE;
    for (int i = 0; i < NFINE; i++)
        slope[i] = minmod(u[i] - u[(i + NFINE - 1) % NFINE], u[(i + 1) % NFINE] - u[i]);
    for (int i = 0; i < NFINE; i++) {
        int ip = (i + 1) % NFINE;
        flux[i] = rusanov(u[i] + 0.5 * slope[i], u[ip] - 0.5 * slope[ip]) - CL_NU * (u[ip] - u[i]) / dx;
    }
    for (int i = 0; i < NFINE; i++) dudt[i] = -(flux[i] - flux[(i + NFINE - 1) % NFINE]) / dx;
}

static void cl_downsample(const double *fine, double *coarse) {
    for (int i = 0; i < NCOARSE; i++) {
        double s = 0;
        for (int j = 0; j < RATIO; j++) s += fine[i * RATIO + j];
        coarse[i] = s / RATIO;
    }
}

/* The reference: SSP-RK2 on 512 cells, 40 fine steps per coarse step. */
static void cl_fine_solve(int seed, int nsteps, double traj[][NCOARSE]) {
    double u[NFINE], stage[NFINE], k1[NFINE], k2[NFINE], dt = CL_DT / FINE_PER_COARSE;
    cl_initial_condition(seed, NFINE, u);
    cl_downsample(u, traj[0]);
    for (int n = 1; n <= nsteps; n++) {
        for (int s = 0; s < FINE_PER_COARSE; s++) {
            cl_fine_rhs(u, k1);
            for (int i = 0; i < NFINE; i++) stage[i] = u[i] + dt * k1[i];
            cl_fine_rhs(stage, k2);
            for (int i = 0; i < NFINE; i++) u[i] = 0.5 * (u[i] + stage[i] + dt * k2[i]);
        }
        cl_downsample(u, traj[n]);
    }
}

static void cl_init(void) {
    for (int set = 0; set < 3; set++)
        for (int ic = 0; ic < NICS; ic++) cl_fine_solve(CL_FIRST_SEED[set] + ic, CL_STEPS[set], cl_ref[set][ic]);
}

/* The coarse solver: central flux, per-cell diffusion averaged to faces. */
static void cl_central_rhs(const double *u, const double *d, double *dudt) {
    double flux[NCOARSE], dx = 2 * PI / NCOARSE;
    for (int i = 0; i < NCOARSE; i++) {
        int ip = (i + 1) % NCOARSE;
        flux[i] = 0.25 * (u[i] * u[i] + u[ip] * u[ip]) - 0.5 * (d[i] + d[ip]) * (u[ip] - u[i]) / dx;
    }
    for (int i = 0; i < NCOARSE; i++) dudt[i] = -(flux[i] - flux[(i + NCOARSE - 1) % NCOARSE]) / dx;
}

static void cl_central_step(double *u, const double *d) {
    double k[NCOARSE], u1[NCOARSE], u2[NCOARSE];
    cl_central_rhs(u, d, k);
    for (int i = 0; i < NCOARSE; i++) u1[i] = u[i] + CL_DT * k[i];
    cl_central_rhs(u1, d, k);
    for (int i = 0; i < NCOARSE; i++) u2[i] = 0.75 * u[i] + 0.25 * (u1[i] + CL_DT * k[i]);
    cl_central_rhs(u2, d, k);
    for (int i = 0; i < NCOARSE; i++) u[i] = u[i] / 3 + 2.0 / 3 * (u2[i] + CL_DT * k[i]);
}

/* Eddy viscosity per cell: the network on the 5-point stencil, or a
 * constant when p is NULL. */
static void cl_diffusivity(const double *p, double nu_t, const double *u, double *d) {
    double x[5], h[16], y;
    for (int i = 0; i < NCOARSE; i++) {
        if (!p) {
            d[i] = CL_NU + nu_t;
            continue;
        }
        for (int j = 0; j < 5; j++) x[j] = u[(i + j - 2 + NCOARSE) % NCOARSE];
        mlp_forward(CL_NET, p, x, h, &y);
        d[i] = CL_NU + CL_SCALE * softplus(y);
    }
}

/* Training: mean squared error over every step; validation and test: the
 * demo's mean absolute error over every step of the 60-step rollouts. */
static double cl_error(int set, const double *p, double nu_t) {
    double u[NCOARSE], d[NCOARSE], total = 0;
    pthread_once(&cl_once, cl_init);
    for (int ic = 0; ic < NICS; ic++) {
        memcpy(u, cl_ref[set][ic][0], sizeof u);
        for (int n = 1; n <= CL_STEPS[set]; n++) {
            cl_diffusivity(p, nu_t, u, d);
            cl_central_step(u, d);
            for (int i = 0; i < NCOARSE; i++) {
                double e = u[i] - cl_ref[set][ic][n][i];
                total += set == 0 ? e * e : fabs(e);
            }
        }
    }
    double mean = total / ((double)NCOARSE * NICS * CL_STEPS[set]);
    return isfinite(mean) ? mean : INFINITY;
}

double peers_closure_constant(int set, double nu_t) {
    if (set < 0 || set > 2) return NAN;
    return cl_error(set, NULL, nu_t);
}

/* ---- controller: a trebuchet-like release controller ------------------ */
/* A projectile with quadratic drag relative to the wind, released at
 * height CT_H0 with an angle and a speed that a 2-16-2 tanh network
 * computes from (wind, target distance); RK4 with a fixed step until it
 * falls below the ground, the landing point interpolated linearly
 * between the last two steps (continuous in the parameters). */

static const double CT_G = 9.81, CT_DRAG = 0.01, CT_H0 = 2.0, CT_DT = 0.01;
static const double CT_ANGLE_MIN = 0.15, CT_ANGLE_SPAN = 1.2, CT_SPEED_MIN = 8.0, CT_SPEED_SPAN = 32.0;
static const double CT_WIND_MAX = 5.0, CT_DIST_MIN = 15.0, CT_DIST_MAX = 60.0;
enum { CT_MAX_STEPS = 5000 };
static const mlp_shape CT_NET = {2, 16, 2};
enum { CT_NTRAIN = 24, CT_NVAL = 24, CT_NTEST = 48 };
static const int CT_COUNT[3] = {CT_NTRAIN, CT_NVAL, CT_NTEST};
/* pairs[set][k] = (wind, distance) */
static double ct_pairs[3][CT_NTEST][2];
static pthread_once_t ct_once = PTHREAD_ONCE_INIT;

static void ct_init(void) {
    for (int set = 0; set < 3; set++) {
        uint64_t s = 1000 + 77 * (uint64_t)set;
        for (int k = 0; k < CT_COUNT[set]; k++) {
            ct_pairs[set][k][0] = CT_WIND_MAX * (2 * uniform01(&s) - 1);
            ct_pairs[set][k][1] = CT_DIST_MIN + (CT_DIST_MAX - CT_DIST_MIN) * uniform01(&s);
        }
    }
}

/* State z = (x, y, vx, vy); f(z) and, when S is given (4 x 2, the
 * sensitivities dz/d(angle, speed)), A(z) S with A = df/dz. */
static void ct_rhs(const double *z, double wind, double *f, const double *S, double *AS) {
    double ux = z[2] - wind, uy = z[3], sp = sqrt(ux * ux + uy * uy);
    f[0] = z[2];
    f[1] = z[3];
    f[2] = -CT_DRAG * sp * ux;
    f[3] = -CT_DRAG * sp * uy - CT_G;
    if (!S) return;
    double inv = sp > 1e-12 ? 1.0 / sp : 0.0;
    double axx = -CT_DRAG * (sp + ux * ux * inv), axy = -CT_DRAG * ux * uy * inv;
    double ayy = -CT_DRAG * (sp + uy * uy * inv);
    for (int c = 0; c < 2; c++) {
        AS[0 * 2 + c] = S[2 * 2 + c];
        AS[1 * 2 + c] = S[3 * 2 + c];
        AS[2 * 2 + c] = axx * S[2 * 2 + c] + axy * S[3 * 2 + c];
        AS[3 * 2 + c] = axy * S[2 * 2 + c] + ayy * S[3 * 2 + c];
    }
}

/* The landing distance for a release (angle, speed) and, when dland is
 * given, its derivatives: the sensitivities are propagated through the
 * RK4 stages themselves, so they are the exact derivatives of the
 * discrete landing point (not of the continuous ODE). */
static double ct_landing(double angle, double speed, double wind, double *dland) {
    double z[4] = {0, CT_H0, speed * cos(angle), speed * sin(angle)};
    double S[8] = {0, 0, 0, 0, -speed * sin(angle), cos(angle), speed * cos(angle), sin(angle)};
    int sens = dland != NULL;
    double zs[4], Ss[8], k[4][4], K[4][8], zn[4], Sn[8];
    for (int step = 0; step < CT_MAX_STEPS; step++) {
        static const double frac[4] = {0, 0.5, 0.5, 1.0};
        for (int st = 0; st < 4; st++) {
            for (int i = 0; i < 4; i++) zs[i] = z[i] + (st ? frac[st] * CT_DT * k[st - 1][i] : 0);
            if (sens)
                for (int i = 0; i < 8; i++) Ss[i] = S[i] + (st ? frac[st] * CT_DT * K[st - 1][i] : 0);
            ct_rhs(zs, wind, k[st], sens ? Ss : NULL, K[st]);
        }
        for (int i = 0; i < 4; i++) zn[i] = z[i] + CT_DT / 6 * (k[0][i] + 2 * k[1][i] + 2 * k[2][i] + k[3][i]);
        if (sens)
            for (int i = 0; i < 8; i++) Sn[i] = S[i] + CT_DT / 6 * (K[0][i] + 2 * K[1][i] + 2 * K[2][i] + K[3][i]);
        if (zn[1] < 0) {
            /* x_land = x_n + (x_{n+1} - x_n) r, r = y_n / (y_n - y_{n+1}) */
            double den = z[1] - zn[1], r = z[1] / den;
            if (sens)
                for (int c = 0; c < 2; c++) {
                    double dr = (z[1] * Sn[2 + c] - zn[1] * S[2 + c]) / (den * den);
                    dland[c] = S[c] + (Sn[c] - S[c]) * r + (zn[0] - z[0]) * dr;
                }
            return z[0] + (zn[0] - z[0]) * r;
        }
        memcpy(z, zn, sizeof z);
        if (sens) memcpy(S, Sn, sizeof S);
    }
    if (sens) dland[0] = dland[1] = 0; /* unreachable: gravity always brings it down */
    return z[0];
}

/* Mean squared miss distance over a set; the gradient when g is given. */
static double ct_loss(int set, const double *p, double *g) {
    pthread_once(&ct_once, ct_init);
    double total = 0;
    int n = CT_COUNT[set];
    if (g) memset(g, 0, sizeof(double) * mlp_size(CT_NET));
    for (int k = 0; k < n; k++) {
        double wind = ct_pairs[set][k][0], dist = ct_pairs[set][k][1];
        double x[2] = {wind / CT_WIND_MAX, (dist - 0.5 * (CT_DIST_MIN + CT_DIST_MAX)) / 20.0}, h[16], o[2];
        mlp_forward(CT_NET, p, x, h, o);
        double s0 = sigmoid(o[0]), s1 = sigmoid(o[1]);
        double angle = CT_ANGLE_MIN + CT_ANGLE_SPAN * s0, speed = CT_SPEED_MIN + CT_SPEED_SPAN * s1;
        double dl[2];
        double miss = ct_landing(angle, speed, wind, g ? dl : NULL) - dist;
        total += miss * miss;
        if (g) {
            double dy[2] = {2 * miss / n * dl[0] * CT_ANGLE_SPAN * s0 * (1 - s0),
                            2 * miss / n * dl[1] * CT_SPEED_SPAN * s1 * (1 - s1)};
            mlp_backward(CT_NET, p, x, h, dy, g);
        }
    }
    return total / n;
}

/* ---- lorenz96: a learned closure of one-scale Lorenz-96 --------------- */
/* Reference: the two-scale Lorenz-96 system (K = 8 slow, J = 32 fast
 * variables per slow one, F = 20, h = 1, b = c = 10), RK4 with a step of
 * 0.002, observed on the slow variables every 0.05 time units. Coarse
 * model: one-scale Lorenz-96 on the slow variables, RK4 with a step of
 * 0.01, plus a closure term U_k = 10 f((X_{k-1}, X_k, X_{k+1}) / 10) from
 * a 3-16-1 tanh network, evaluated at the start of each step and held
 * during it. The data never come from the coarse model. */

enum { LK = 8, LJ = 32, L_OBS_TRAIN = 10, L_OBS_TEST = 20, L_SUB = 5, L_NTRAJ = 8 };
static const double L_F = 20.0, L_H = 1.0, L_B = 10.0, L_C = 10.0;
static const double L_FINE_DT = 0.002, L_OBS_DT = 0.05, L_COARSE_DT = 0.01, L_SPINUP = 5.0, L_GAP = 1.0;
static const mlp_shape L_NET = {3, 16, 1};
static const int L_OBS[3] = {L_OBS_TRAIN, L_OBS_TEST, L_OBS_TEST};
/* ref[set][traj][n][k]: slow variables at observation n of trajectory traj. */
static double l96_ref[3][L_NTRAJ][L_OBS_TEST + 1][LK];
static pthread_once_t l96_once = PTHREAD_ONCE_INIT;

static void l96_two_scale_rhs(const double *X, const double *Y, double *dX, double *dY) {
    const int NY = LK * LJ;
    double coupling = L_H * L_C / L_B;
    for (int k = 0; k < LK; k++) {
        double sum = 0;
        for (int j = 0; j < LJ; j++) sum += Y[k * LJ + j];
        dX[k] = X[(k + LK - 1) % LK] * (X[(k + 1) % LK] - X[(k + LK - 2) % LK]) - X[k] + L_F - coupling * sum;
    }
    for (int j = 0; j < NY; j++)
        dY[j] = L_C * L_B * Y[(j + 1) % NY] * (Y[(j + NY - 1) % NY] - Y[(j + 2) % NY]) - L_C * Y[j] +
                coupling * X[j / LJ];
}

static void l96_two_scale_step(double *X, double *Y) {
    enum { N = LK + LK * LJ };
    double z[N], k[4][N], zs[N];
    static const double frac[4] = {0, 0.5, 0.5, 1.0};
    memcpy(z, X, sizeof(double) * LK);
    memcpy(z + LK, Y, sizeof(double) * LK * LJ);
    for (int st = 0; st < 4; st++) {
        for (int i = 0; i < N; i++) zs[i] = z[i] + (st ? frac[st] * L_FINE_DT * k[st - 1][i] : 0);
        l96_two_scale_rhs(zs, zs + LK, k[st], k[st] + LK);
    }
    for (int i = 0; i < N; i++) z[i] += L_FINE_DT / 6 * (k[0][i] + 2 * k[1][i] + 2 * k[2][i] + k[3][i]);
    memcpy(X, z, sizeof(double) * LK);
    memcpy(Y, z + LK, sizeof(double) * LK * LJ);
}

/* Each set is its own run from its own random state: spin-up, then a
 * trajectory start every L_GAP time units. */
static void l96_init(void) {
    double X[LK], Y[LK * LJ];
    int per_obs = (int)lround(L_OBS_DT / L_FINE_DT), spin = (int)lround(L_SPINUP / L_FINE_DT);
    int per_gap = (int)lround(L_GAP / L_FINE_DT);
    for (int set = 0; set < 3; set++) {
        uint64_t s = 96 + 1000 * (uint64_t)set;
        for (int k = 0; k < LK; k++) X[k] = L_F * (uniform01(&s) - 0.25);
        for (int j = 0; j < LK * LJ; j++) Y[j] = 0.1 * gaussian(&s);
        for (int t = 0; t < spin; t++) l96_two_scale_step(X, Y);
        for (int traj = 0; traj < L_NTRAJ; traj++) {
            int done = 0;
            memcpy(l96_ref[set][traj][0], X, sizeof X);
            for (int n = 1; n <= L_OBS[set]; n++) {
                for (int t = 0; t < per_obs; t++) l96_two_scale_step(X, Y);
                memcpy(l96_ref[set][traj][n], X, sizeof X);
                done += per_obs;
            }
            for (; done < per_gap; done++) l96_two_scale_step(X, Y);
        }
    }
}

static void l96_one_scale_rhs(const double *X, const double *U, double *dX) {
    for (int k = 0; k < LK; k++)
        dX[k] = X[(k + LK - 1) % LK] * (X[(k + 1) % LK] - X[(k + LK - 2) % LK]) - X[k] + L_F + U[k];
}

/* Mean squared error of the slow variables over the observations. */
static double l96_error(int set, const double *p) {
    pthread_once(&l96_once, l96_init);
    double total = 0, X[LK], U[LK], k[4][LK], zs[LK], x[3], h[16];
    static const double frac[4] = {0, 0.5, 0.5, 1.0};
    for (int traj = 0; traj < L_NTRAJ; traj++) {
        memcpy(X, l96_ref[set][traj][0], sizeof X);
        for (int n = 1; n <= L_OBS[set]; n++) {
            for (int sub = 0; sub < L_SUB; sub++) {
                for (int c = 0; c < LK; c++) {
                    if (!p) {
                        U[c] = 0;
                        continue;
                    }
                    for (int j = 0; j < 3; j++) x[j] = X[(c + j - 1 + LK) % LK] / 10.0;
                    mlp_forward(L_NET, p, x, h, &U[c]);
                    U[c] *= 10.0;
                }
                for (int st = 0; st < 4; st++) {
                    for (int i = 0; i < LK; i++) zs[i] = X[i] + (st ? frac[st] * L_COARSE_DT * k[st - 1][i] : 0);
                    l96_one_scale_rhs(zs, U, k[st]);
                }
                for (int i = 0; i < LK; i++)
                    X[i] += L_COARSE_DT / 6 * (k[0][i] + 2 * k[1][i] + 2 * k[2][i] + k[3][i]);
            }
            for (int i = 0; i < LK; i++) {
                double e = X[i] - l96_ref[set][traj][n][i];
                total += e * e;
            }
        }
    }
    double mean = total / ((double)LK * L_NTRAJ * L_OBS[set]);
    return isfinite(mean) ? mean : INFINITY;
}

/* ---- smooth: ill-conditioned linear least squares ---------------------- */
/* Rows a ~ N(0, diag(s_j^2)) with s_j from 1 down to 10^-1.5 (Hessian
 * condition number about 1e3), targets b = a.w* + 0.05 noise; the loss is
 * the mean squared residual. Its minimum is the least-squares solution,
 * computed here by Cholesky on the normal equations. */

enum { SM_D = 100, SM_NTRAIN = 300, SM_NVAL = 200, SM_NTEST = 200 };
static const int SM_COUNT[3] = {SM_NTRAIN, SM_NVAL, SM_NTEST};
static double sm_a[3][SM_NTRAIN][SM_D], sm_b[3][SM_NTRAIN], sm_opt[SM_D];
static pthread_once_t sm_once = PTHREAD_ONCE_INIT;

static void sm_least_squares(void) {
    static double m[SM_D][SM_D];
    double r[SM_D];
    for (int i = 0; i < SM_D; i++) {
        r[i] = 0;
        for (int j = 0; j < SM_D; j++) m[i][j] = 0;
        for (int k = 0; k < SM_NTRAIN; k++) {
            r[i] += sm_a[0][k][i] * sm_b[0][k];
            for (int j = 0; j < SM_D; j++) m[i][j] += sm_a[0][k][i] * sm_a[0][k][j];
        }
    }
    for (int j = 0; j < SM_D; j++) { /* Cholesky: m = L L^T in place */
        for (int k = 0; k < j; k++) m[j][j] -= m[j][k] * m[j][k];
        m[j][j] = sqrt(m[j][j]);
        for (int i = j + 1; i < SM_D; i++) {
            for (int k = 0; k < j; k++) m[i][j] -= m[i][k] * m[j][k];
            m[i][j] /= m[j][j];
        }
    }
    for (int i = 0; i < SM_D; i++) {
        for (int k = 0; k < i; k++) r[i] -= m[i][k] * r[k];
        r[i] /= m[i][i];
    }
    for (int i = SM_D - 1; i >= 0; i--) {
        for (int k = i + 1; k < SM_D; k++) r[i] -= m[k][i] * r[k];
        r[i] /= m[i][i];
    }
    memcpy(sm_opt, r, sizeof r);
}

static void sm_init(void) {
    uint64_t s = 4242;
    double w[SM_D], scale[SM_D];
    for (int j = 0; j < SM_D; j++) {
        scale[j] = pow(10.0, -1.5 * j / (SM_D - 1));
        w[j] = gaussian(&s);
    }
    for (int set = 0; set < 3; set++)
        for (int k = 0; k < SM_COUNT[set]; k++) {
            double dot = 0;
            for (int j = 0; j < SM_D; j++) {
                sm_a[set][k][j] = scale[j] * gaussian(&s);
                dot += sm_a[set][k][j] * w[j];
            }
            sm_b[set][k] = dot + 0.05 * gaussian(&s);
        }
    sm_least_squares();
}

static double sm_loss(int set, const double *p, double *g) {
    pthread_once(&sm_once, sm_init);
    int n = SM_COUNT[set];
    double total = 0;
    if (g) memset(g, 0, sizeof(double) * SM_D);
    for (int k = 0; k < n; k++) {
        double r = -sm_b[set][k];
        for (int j = 0; j < SM_D; j++) r += sm_a[set][k][j] * p[j];
        total += r * r;
        if (g)
            for (int j = 0; j < SM_D; j++) g[j] += 2.0 * r / n * sm_a[set][k][j];
    }
    return total / n;
}

/* ---- the table of problems -------------------------------------------- */

enum { P_CLOSURE, P_CONTROLLER, P_LORENZ96, P_SMOOTH, P_COUNT };
static const char *const NAMES[P_COUNT] = {"closure", "controller", "lorenz96", "smooth"};
static const char *const DESCRIPTIONS[P_COUNT] = {
    "Burgers eddy-viscosity closure (the flagship's, ported to C): 5-16-1 tanh MLP, 113 weights; "
    "train: MSE of 20-step rollouts from 8 initial conditions; validation/test: MAE of 60-step rollouts "
    "from 8 other initial conditions each",
    "trebuchet-like controller: 2-16-2 tanh MLP, 82 weights, maps (wind, target distance) to (release "
    "angle, speed) of an RK4 projectile with quadratic drag; loss: mean squared miss distance (m^2) over "
    "24 training pairs; validation 24, test 48 other pairs",
    "Lorenz-96 closure: 3-16-1 tanh MLP, 81 weights, closure term of a one-scale L96 model trained on the "
    "slow variables of a two-scale L96 reference; train: MSE over 0.5 time units from 8 states; "
    "validation/test: MSE over 1.0 time unit from 8 states of other runs each",
    "ill-conditioned linear least squares, 100 weights, Hessian condition number ~1e3; loss: mean squared "
    "residual over 300 training rows; validation/test: 200 other rows each",
};

int peers_num_problems(void) { return P_COUNT; }

const char *peers_name(int problem) { return problem >= 0 && problem < P_COUNT ? NAMES[problem] : NULL; }

const char *peers_describe(int problem) {
    return problem >= 0 && problem < P_COUNT ? DESCRIPTIONS[problem] : NULL;
}

int peers_find(const char *name) {
    for (int p = 0; p < P_COUNT; p++)
        if (name && strcmp(name, NAMES[p]) == 0) return p;
    return -1;
}

size_t peers_dim(int problem) {
    switch (problem) {
    case P_CLOSURE: return mlp_size(CL_NET);
    case P_CONTROLLER: return mlp_size(CT_NET);
    case P_LORENZ96: return mlp_size(L_NET);
    case P_SMOOTH: return SM_D;
    default: return 0;
    }
}

void peers_start(int problem, uint64_t seed, double *params) {
    switch (problem) {
    case P_CLOSURE: mlp_start(CL_NET, seed, params); break;
    case P_CONTROLLER: mlp_start(CT_NET, seed, params); break;
    case P_LORENZ96: mlp_start(L_NET, seed, params); break;
    case P_SMOOTH: {
        uint64_t s = seed * 0x2545F4914F6CDD1DULL + 99;
        for (int j = 0; j < SM_D; j++) params[j] = gaussian(&s);
        break;
    }
    default: break;
    }
}

static double evaluate(int problem, int set, const double *p) {
    switch (problem) {
    case P_CLOSURE: return cl_error(set, p, 0);
    case P_CONTROLLER: return ct_loss(set, p, NULL);
    case P_LORENZ96: return l96_error(set, p);
    case P_SMOOTH: return sm_loss(set, p, NULL);
    default: return NAN;
    }
}

double peers_loss(int problem, const double *params) { return evaluate(problem, 0, params); }
double peers_validation(int problem, const double *params) { return evaluate(problem, 1, params); }
double peers_test(int problem, const double *params) { return evaluate(problem, 2, params); }

int peers_has_gradient(int problem) { return problem == P_CONTROLLER || problem == P_SMOOTH; }

double peers_gradient(int problem, const double *params, double *grad) {
    if (problem == P_CONTROLLER) return ct_loss(0, params, grad);
    if (problem == P_SMOOTH) return sm_loss(0, params, grad);
    return NAN;
}

double peers_reference_test(int problem, const char **what) {
    switch (problem) {
    case P_CLOSURE:
        if (what) *what = "no closure (nu_t = 0)";
        return cl_error(2, NULL, 0);
    case P_LORENZ96:
        if (what) *what = "no closure (U = 0)";
        return l96_error(2, NULL);
    case P_SMOOTH:
        pthread_once(&sm_once, sm_init);
        if (what) *what = "least-squares solution (minimum of the training loss)";
        return sm_loss(2, sm_opt, NULL);
    default:
        if (what) *what = "";
        return NAN;
    }
}
