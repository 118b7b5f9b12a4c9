// Solver in the loop with OpenMP over cells (C++): a 1-D reaction-diffusion
// solver u_t = D u_xx + r(u) learns its unknown reaction term r(u), a 1-8-1
// network, from trajectories alone. Inside the loss, the solver's OpenMP
// loop over cells calls the candidate from every thread (each thread one
// batch of its cells): zoo's forward calls are safe from many threads on
// one candidate and give exactly the serial result.
//
// The observations come from the same equation with the true r(u) and a
// 10x finer time step, so the solver never made its own data. Training
// uses 3 initial conditions; the error is reported on 3 held-out ones,
// against the solver without a reaction term.
//
// Notes for OpenMP hosts: an exception must not leave an OpenMP region, so
// calls inside it use the std::error_code overloads; zoo_step runs
// candidates sequentially here (no zoo::threadsafe), which binds the
// candidate for every OpenMP thread. With OMP_WAIT_POLICY=passive, idle
// OpenMP threads do not spin while zoo works between solver steps.
//
// Exits 1 unless the held-out error is below 20% of the no-reaction one.
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <system_error>
#include <vector>

#include "zoo.hpp"

constexpr int ncells = 128, nsteps = 60;
constexpr double diffusion = 0.001, dx = 1.0 / ncells, dt = 0.02;  // D dt / dx^2 = 0.33: stable

using field = std::vector<double>;

double true_reaction(double u) { return 4.0 * u * (1.0 - u) * (u - 0.3); }

field initial(int which) {
    field u(ncells);
    for (int i = 0; i < ncells; i++) {
        const double x = (i + 0.5) * dx;
        u[i] = 0.5 + 0.35 * std::sin(6.283185307179586 * (x + 0.13 * which)) * std::cos(3.0 * which + x);
    }
    return u;
}

// The solver: explicit Euler in time, periodic second differences; the
// reaction term comes from `reaction(u, r)`, which fills r for all cells.
template <class Reaction>
std::vector<field> solve(field u, double step, int substeps, Reaction &&reaction) {
    std::vector<field> out;
    field r(ncells), next(ncells);
    for (int t = 0; t < nsteps; t++) {
        for (int s = 0; s < substeps; s++) {
            reaction(u, r);
#pragma omp parallel for
            for (int i = 0; i < ncells; i++) {
                const double lap = (u[(i + ncells - 1) % ncells] - 2.0 * u[i] + u[(i + 1) % ncells]) / (dx * dx);
                next[i] = u[i] + step * (diffusion * lap + r[i]);
            }
            u.swap(next);
        }
        out.push_back(u);
    }
    return out;
}

std::vector<field> observe(int which) {
    return solve(initial(which), dt / 10, 10, [](const field &u, field &r) {
#pragma omp parallel for
        for (int i = 0; i < ncells; i++) r[i] = true_reaction(u[i]);
    });
}

double mse(const std::vector<field> &a, const std::vector<field> &b) {
    double sum = 0.0;
    for (int t = 0; t < nsteps; t++)
        for (int i = 0; i < ncells; i++) sum += (a[t][i] - b[t][i]) * (a[t][i] - b[t][i]);
    return sum / (nsteps * ncells);
}

int main() {
    std::vector<std::vector<field>> train_obs, test_obs;
    for (int k = 0; k < 3; k++) train_obs.push_back(observe(k));
    for (int k = 3; k < 6; k++) test_obs.push_back(observe(k));

    // Each OpenMP thread forwards its own block of cells through the
    // candidate; a failure is recorded, never thrown out of the region.
    auto network_reaction = [](const zoo::candidate &c) {
        return [&c](const field &u, field &r) {
            std::error_code failed;
#pragma omp parallel
            {
                const int threads = omp_get_num_threads(), me = omp_get_thread_num();
                const int lo = ncells * me / threads, hi = ncells * (me + 1) / threads;
                std::error_code ec;
                if (hi > lo && !c.forward_batch(&u[lo], hi - lo, hi - lo, &r[lo], hi - lo, ec)) {
#pragma omp critical
                    failed = ec;
                }
            }
            if (failed) throw std::system_error(failed, zoo::last_error());
        };
    };
    // Mean error of the solver with candidate c over initial conditions
    // first, first + 1, ... against their observations.
    auto loss_on = [&](const std::vector<std::vector<field>> &obs, int first) {
        return [&obs, first, network_reaction](zoo::candidate &c) {
            double sum = 0.0;
            for (std::size_t k = 0; k < obs.size(); k++)
                sum += mse(solve(initial(first + int(k)), dt, 1, network_reaction(c)), obs[k]);
            return sum / double(obs.size());
        };
    };

    double baseline = 0.0;
    for (int k = 0; k < 3; k++)
        baseline += mse(solve(initial(k + 3), dt, 1, [](const field &, field &r) { std::fill(r.begin(), r.end(), 0.0); }),
                        test_obs[k]) / 3;

    zoo::trainer trainer(zoo::model::mlp({1, 8, 1}, "tanh", 5),
                         zoo::options().estimator("rge-central").q(4).mu(0.01).optimizer("adam").lr(0.05).seed(2));
    std::printf("zoo %s: reaction term of a reaction-diffusion solver, OpenMP over %d cells on %d threads\n",
                zoo_version(), ncells, omp_get_max_threads());
    const int iterations = 200;
    for (int k = 1; k <= iterations; k++) {
        const zoo::metrics m = trainer.step(loss_on(train_obs, 0));
        if (k % 50 == 0) std::printf("iteration %4d  training loss %.4e\n", k, m.loss);
    }
    const double held_out = trainer.evaluate(loss_on(test_obs, 3));
    std::printf("held-out error %.4e  without a reaction term %.4e  ratio %.3f\n", held_out, baseline,
                held_out / baseline);
    return held_out < 0.2 * baseline ? 0 : 1;
}
