// zoo.hpp, the C++ wrapper: bit-identical to the C API, exceptions from
// loss callables come back to the caller with the trainer unchanged (serial
// and thread-safe), ask/tell gives step's weights, options, errors, slots.
#include <cmath>
#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <string>
#include <system_error>
#include <vector>

#include "zoo.hpp"

static int passed = 0, failed = 0;
#define EXPECT(cond)                                                            \
    do {                                                                        \
        if (cond) {                                                             \
            passed++;                                                           \
        } else {                                                                \
            failed++;                                                           \
            std::fprintf(stderr, "FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond); \
        }                                                                       \
    } while (0)

namespace {

constexpr std::size_t kRows = 8;

struct data {
    std::vector<double> x, target;
    data() {
        for (std::size_t i = 0; i < kRows; i++) {
            x.push_back(-1.0 + 2.0 * static_cast<double>(i) / (kRows - 1));
            target.push_back(std::sin(2.0 * x.back()));
        }
    }
};

double mse(const std::vector<double> &y, const std::vector<double> &t) {
    double s = 0;
    for (std::size_t i = 0; i < y.size(); i++) s += (y[i] - t[i]) * (y[i] - t[i]);
    return s / static_cast<double>(y.size());
}

// The same loss through the C API.
int32_t c_loss(void *userdata, zoo_candidate *c, double *loss) {
    const data *d = static_cast<const data *>(userdata);
    std::vector<double> y(kRows);
    if (zoo_candidate_forward_batch(c, d->x.data(), kRows, kRows, y.data(), kRows) != ZOO_OK) return 1;
    *loss = mse(y, d->target);
    return 0;
}

struct boom : std::runtime_error {
    int code;
    boom(const std::string &m, int c) : std::runtime_error(m), code(c) {}
};

bool same(const std::vector<double> &a, const std::vector<double> &b) {
    return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(double)) == 0;
}

const zoo::options opts = zoo::options().estimator("rge-central").q(4).lr(1e-2).seed(7);

}  // namespace

int main() {
    const data d;
    const zoo::model m = zoo::model::mlp({1, 16, 1}, "tanh", 3);
    EXPECT(m.inputs() == 1 && m.outputs() == 1);
    EXPECT(opts.str() == "estimator=rge-central q=4 lr=0.01 seed=7");
    EXPECT(zoo::options().metrics_file("a b.jsonl").str() == "metrics_file=\"a b.jsonl\"");

    auto loss = [&d](zoo::candidate &c) { return mse(c.forward(d.x), d.target); };
    const int iters = 20;

    // Bit-identical to the C API, serial and thread-safe.
    std::vector<double> reference;
    {
        zoo_trainer *t = nullptr;
        EXPECT(zoo_trainer_new(m.get(), opts.str().c_str(), &t) == ZOO_OK);
        for (int i = 0; i < iters; i++) EXPECT(zoo_step(t, c_loss, const_cast<data *>(&d), 0, nullptr) == ZOO_OK);
        size_t n = 0;
        zoo_trainer_num_params(t, &n);
        reference.resize(n);
        zoo_trainer_get_params(t, reference.data(), n);
        zoo_trainer_free(t);
    }
    {
        zoo::trainer t(m, opts);
        zoo::metrics last;
        for (int i = 0; i < iters; i++) last = t.step(loss);
        EXPECT(same(t.params(), reference));
        EXPECT(last.iteration == static_cast<std::uint64_t>(iters) && t.iteration() == last.iteration);
        EXPECT(last.evaluations == 4 * 2 && std::isfinite(last.loss) && last.lr == 1e-2);
        EXPECT(t.get("estimator") == "rge-central" && t.get("q") == "4");
        t.set("lr", "0.02");
        EXPECT(t.get("lr") == "0.02");
        // A copied model runs like the trainer's weights.
        zoo::model copy = t.copy_model();
        EXPECT(same(copy.params(), t.params()) && copy.inputs() == 1);
        zoo::slot s(copy);
        std::vector<double> a(kRows), b(kRows);
        s.forward(d.x, a);
        copy.forward(d.x, b);
        EXPECT(same(a, b));
        // evaluate: the loss at θ, nothing changes.
        const std::vector<double> before = t.params();
        EXPECT(t.evaluate(loss) == mse(b, d.target));
        EXPECT(same(t.params(), before));
    }
    {
        zoo::trainer t(m, zoo::options(opts).threads(2));
        for (int i = 0; i < iters; i++) t.step(loss, zoo::threadsafe);
        EXPECT(same(t.params(), reference));
    }

    // An exception at a chosen candidate comes back with the trainer unchanged.
    for (int threaded = 0; threaded < 2; threaded++) {
        zoo::trainer t(m, zoo::options(opts).threads(2));
        for (int i = 0; i < 3; i++) t.step(loss);
        const std::vector<double> before = t.params();
        const std::uint64_t it = t.iteration();
        bool caught = false;
        auto throwing = [&](zoo::candidate &c) {
            if (c.index() == 5) throw boom("candidate 5 exploded", 42);
            return loss(c);
        };
        try {
            if (threaded)
                t.step(throwing, zoo::threadsafe);
            else
                t.step(throwing);
        } catch (const boom &e) {
            caught = std::string(e.what()) == "candidate 5 exploded" && e.code == 42;
        } catch (...) {
        }
        EXPECT(caught);
        EXPECT(zoo::last_error().find("candidate 5 exploded") != std::string::npos);
        EXPECT(same(t.params(), before) && t.iteration() == it);
        // A retry succeeds and continues as if nothing had happened.
        for (int i = 3; i < iters; i++) {
            if (threaded)
                t.step(loss, zoo::threadsafe);
            else
                t.step(loss);
        }
        EXPECT(same(t.params(), reference));
        // The error_code path: ZOO_CALLBACK_FAILED, the what() in last_error.
        std::error_code ec;
        t.step(throwing, ec);
        EXPECT(ec == zoo::make_error_code(ZOO_CALLBACK_FAILED) && ec.category() == zoo::category());
        EXPECT(zoo::last_error().find("candidate 5 exploded") != std::string::npos);
        EXPECT(t.iteration() == static_cast<std::uint64_t>(iters));
    }

    // zoo's own failures: zoo::error with the status and zoo's message.
    {
        bool caught = false;
        try {
            zoo::trainer t(m, zoo::options().set("lrr", 1));
        } catch (const zoo::error &e) {
            caught = e.status() == ZOO_UNKNOWN_OPTION && std::string(e.what()).find("lrr") != std::string::npos;
        }
        EXPECT(caught);
        std::error_code ec;
        zoo::model bad = zoo::model::mlp({1, 4, 1}, "nope", 0, ec);
        EXPECT(ec == zoo::make_error_code(ZOO_INVALID_OPTION) && !bad);
        // A candidate forward of the wrong width throws inside the callable
        // and comes back as zoo::error (ZOO_BAD_SIZE).
        zoo::trainer t(m, opts);
        caught = false;
        try {
            t.step([](zoo::candidate &c) {
                double x[2] = {0, 0}, y[1];
                c.forward(x, 2, y, 1);
                return y[0];
            });
        } catch (const zoo::error &e) {
            caught = e.status() == ZOO_BAD_SIZE;
        }
        EXPECT(caught && t.iteration() == 0);
    }

    // Ask/tell as a range gives step's weights.
    {
        zoo::trainer t(m, opts);
        for (int i = 0; i < iters; i++) {
            bool updated = false;
            for (auto &c : t.ask_batch()) updated = c.tell(mse(c.forward(d.x), d.target));
            EXPECT(updated);
        }
        EXPECT(same(t.params(), reference));
    }

    // Many candidates in one call: candidate i's block equals its own forward.
    {
        zoo::trainer t(m, opts);
        auto batch = t.ask_batch();
        const std::size_t rows = d.x.size() / m.inputs(), outs = rows * m.outputs();
        std::vector<double> each;
        for (std::size_t i = 0; i < batch.size(); i++) each.insert(each.end(), d.x.begin(), d.x.end());
        const std::vector<double> many = t.forward_many(batch, each, rows), shared = t.forward_many(batch, d.x, rows, true);
        for (std::size_t i = 0; i < batch.size(); i++) {
            const std::vector<double> alone = batch[i].forward(d.x);
            EXPECT(std::vector<double>(many.begin() + i * outs, many.begin() + (i + 1) * outs) == alone);
            EXPECT(std::vector<double>(shared.begin() + i * outs, shared.begin() + (i + 1) * outs) == alone);
        }
        bool refused = false;
        try {
            t.forward_many(batch, d.x, rows);  // one block for several candidates
        } catch (const zoo::error &e) {
            refused = e.status() == ZOO_BAD_SIZE;
        }
        EXPECT(refused);
    }

    // Dataset mode: a callable on outputs; its exception comes back too.
    {
        zoo::trainer t(m, opts);
        auto out_loss = [&d](const double *y, std::size_t ny) {
            return mse(std::vector<double>(y, y + ny), d.target);
        };
        for (int i = 0; i < 5; i++) t.step_outputs(d.x, out_loss);
        EXPECT(t.iteration() == 5);
        const std::vector<double> before = t.params();
        bool caught = false;
        try {
            t.step_outputs(d.x, [](zoo::view<const double>) -> double { throw boom("outputs", 1); });
        } catch (const boom &e) {
            caught = std::string(e.what()) == "outputs";
        }
        EXPECT(caught && same(t.params(), before) && t.iteration() == 5);
        t.step_output_samples(d.x, [&d](zoo::view<const double> y, zoo::view<double> losses) {
            for (std::size_t i = 0; i < losses.size(); i++) losses[i] = (y[i] - d.target[i]) * (y[i] - d.target[i]);
        });
        t.step_adjoint(d.x, [&d](zoo::view<const double> y, zoo::view<double> g) {
            double s = 0;
            for (std::size_t i = 0; i < y.size(); i++) {
                s += (y[i] - d.target[i]) * (y[i] - d.target[i]);
                g[i] = 2 * (y[i] - d.target[i]);
            }
            return s;
        });
        EXPECT(t.iteration() == 7);
    }

#if defined(__cpp_lib_span)
    {
        zoo::trainer t(m, opts);
        t.step([&d](zoo::candidate &c) {
            std::vector<double> y(kRows);
            c.forward(std::span<const double>(d.x), std::span<double>(y));
            return mse(y, d.target);
        });
        EXPECT(t.iteration() == 1);
    }
#endif

    // Moves leave an empty handle behind.
    {
        zoo::trainer a(m, opts);
        zoo::trainer b = std::move(a);
        EXPECT(!a && b && b.num_params() == 49);
    }

    std::printf("%d passed, %d failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}
