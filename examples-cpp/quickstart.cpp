// zoo quickstart (C++): learn the source term of a heat equation through a
// legacy-style solver that zoo cannot see into, with zoo.hpp.
//
// The same problem as examples-c/quickstart.c: the solver advances
// u_t = kappa * u_xx + s(u) on a rod of cells, stores its state in single
// precision and clamps it to [0, 1]; a small network replaces the unknown
// source s(u) and zoo trains it from trajectory losses alone. The loss is a
// lambda; zoo runs candidates on its threads (it only reads shared data).
//
// Exits 1 unless the final loss is below 5% of the initial one.
#include <array>
#include <cmath>
#include <cstdio>

#include "zoo.hpp"

constexpr int ncells = 16, nsteps = 60;
constexpr double kappa = 0.2, dt = 0.05;
using state = std::array<double, ncells>;
using trajectory = std::array<std::array<float, ncells>, nsteps>;

// The legacy solver: source(u, s) fills s[i] = s(u[i]) for every cell.
template <class Source>
trajectory run_solver(Source &&source) {
    trajectory out{};
    std::array<float, ncells> u;
    for (int i = 0; i < ncells; i++) u[i] = static_cast<float>(0.5 + 0.4 * std::sin(6.283185307 * i / ncells));
    for (int t = 0; t < nsteps; t++) {
        state ud, s;
        for (int i = 0; i < ncells; i++) ud[i] = u[i];
        source(ud, s);
        for (int i = 0; i < ncells; i++) {
            const double left = ud[(i + ncells - 1) % ncells], right = ud[(i + 1) % ncells];
            const double v = ud[i] + dt * (kappa * (left - 2.0 * ud[i] + right) + s[i]);
            u[i] = out[t][i] = static_cast<float>(v < 0.0 ? 0.0 : (v > 1.0 ? 1.0 : v));
        }
    }
    return out;
}

int main() {
    const trajectory reference = run_solver([](const state &u, state &s) {
        for (int i = 0; i < ncells; i++) s[i] = 0.8 * std::sin(3.14159265358979 * u[i]) - 0.3 * u[i];
    });

    // The network as the source: all cells in one batch (16 rows of 1 input).
    auto rollout_loss = [&](zoo::candidate &c) {
        const trajectory got = run_solver([&](const state &u, state &s) { c.forward(u, s); });
        double sum = 0.0;
        for (int t = 0; t < nsteps; t++)
            for (int i = 0; i < ncells; i++) sum += std::pow(double(got[t][i]) - double(reference[t][i]), 2);
        return sum / (nsteps * ncells);
    };

    zoo::trainer trainer(zoo::model::mlp({1, 8, 1}, "tanh", 7),
                         zoo::options().estimator("rge-central").q(8).mu(0.01).optimizer("adam").lr(0.03).seed(3).threads(2));
    const double initial = trainer.evaluate(rollout_loss);
    std::printf("zoo %s: heat-equation source through a single-precision, clamped solver\n", zoo_version());
    std::printf("initial rollout loss %.4e\n", initial);
    const int iterations = 400;
    for (int k = 1; k <= iterations; k++) {
        const zoo::metrics m = trainer.step(rollout_loss, zoo::threadsafe);
        if (k % 80 == 0) std::printf("iteration %4d  loss %.4e\n", k, m.loss);
    }
    const double final_loss = trainer.evaluate(rollout_loss);
    std::printf("final rollout loss %.4e = %.3f x initial (%d iterations, %llu solver runs each)\n", final_loss,
                final_loss / initial, iterations,
                static_cast<unsigned long long>(trainer.last_metrics().evaluations));
    return final_loss < 0.05 * initial ? 0 : 1;
}
