/*
 * zoo.hpp: a header-only C++17 wrapper over zoo's C ABI (zoo.h).
 *
 * - zoo::model, zoo::trainer, zoo::slot own their C handles (move-only).
 * - Failures throw zoo::error (a std::runtime_error with the zoo_status and
 *   zoo's message). Code built with -fno-exceptions uses the overloads that
 *   take a std::error_code& (category zoo::category(); the message is in
 *   zoo::last_error()); a throwing overload called without exceptions
 *   prints the message and aborts, as the standard library does.
 * - Losses are any callable: trainer.step(loss), step(loss, zoo::threadsafe),
 *   evaluate(loss) take double(zoo::candidate&). An exception thrown by the
 *   callable never reaches zoo: the first one is kept, the iteration is
 *   aborted (weights and iteration unchanged) and the exception is rethrown
 *   on the calling thread, same type and what(). zoo::last_error() then
 *   holds zoo's message followed by that what().
 * - Batch forwards deduce the row count from the model's input width, known
 *   from model::mlp / model::polynomial and carried to the trainer; a model
 *   or trainer loaded from a file has no known shape (inputs() == 0) until
 *   set_shape(inputs, outputs); the overloads taking nrows work regardless.
 * - The busy rule and the candidate lifetime rule of zoo.h apply unchanged:
 *   a zoo::candidate is valid only inside the callable that received it.
 */
#ifndef ZOO_HPP
#define ZOO_HPP

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <initializer_list>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <string>
#include <system_error>
#include <type_traits>
#include <utility>
#include <vector>
#if defined(__has_include)
#if __has_include(<version>)
#include <version>
#endif
#endif
#if defined(__cpp_lib_span)
#include <span>
#endif

#include "zoo.h"

namespace zoo {

// ---- errors ---------------------------------------------------------------

// zoo_status values as std::error_code (value = the status, message = its name).
class error_category_impl : public std::error_category {
public:
    const char *name() const noexcept override { return "zoo"; }
    std::string message(int value) const override { return zoo_status_name(static_cast<uint32_t>(value)); }
};

inline const std::error_category &category() noexcept {
    static const error_category_impl instance;
    return instance;
}

inline std::error_code make_error_code(zoo_status status) noexcept {
    return std::error_code(static_cast<int>(status), category());
}

namespace detail {
inline std::string &last_message() {
    static thread_local std::string message;
    return message;
}
}  // namespace detail

// The message of the last failure the wrapper reported on this thread
// (zoo's message, plus what() of an exception thrown by a loss callable).
inline std::string last_error() { return detail::last_message(); }

// A failed zoo call: status() is the zoo_status, what() zoo's message.
class error : public std::runtime_error {
public:
    error(zoo_status status, const std::string &message) : std::runtime_error(message), status_(status) {}
    zoo_status status() const noexcept { return status_; }
    std::error_code code() const noexcept { return make_error_code(status_); }

private:
    zoo_status status_;
};

namespace detail {
[[noreturn]] inline void raise(zoo_status status, const std::string &message) {
#if defined(__cpp_exceptions)
    throw error(status, message);
#else
    std::fprintf(stderr, "zoo: %s (%s)\n", message.c_str(), zoo_status_name(status));
    std::abort();
#endif
}

// Records a failed status: with ec, stores it there; without, throws.
inline bool check(zoo_status status, std::error_code *ec) {
    if (status == ZOO_OK) {
        if (ec) ec->clear();
        return true;
    }
    last_message() = zoo_last_error();
    if (ec) {
        *ec = make_error_code(status);
        return false;
    }
    raise(status, last_message());
}

inline bool fail(zoo_status status, const std::string &message, std::error_code *ec) {
    last_message() = message;
    if (ec) {
        *ec = make_error_code(status);
        return false;
    }
    raise(status, message);
}
}  // namespace detail

// ---- contiguous views ---------------------------------------------------------

// A pointer and a length, what zoo's callbacks hand to callables (usable
// as a range; converts to std::span in C++20).
template <class T>
class view {
public:
    view() = default;
    view(T *data, std::size_t size) : data_(data), size_(size) {}
    T *data() const noexcept { return data_; }
    std::size_t size() const noexcept { return size_; }
    bool empty() const noexcept { return size_ == 0; }
    T *begin() const noexcept { return data_; }
    T *end() const noexcept { return data_ + size_; }
    T &operator[](std::size_t i) const noexcept { return data_[i]; }
#if defined(__cpp_lib_span)
    operator std::span<T>() const noexcept { return {data_, size_}; }
#endif

private:
    T *data_ = nullptr;
    std::size_t size_ = 0;
};

namespace detail {
// Any contiguous range of doubles: std::vector, std::array, std::span, zoo::view.
template <class R>
auto data_of(R &r) -> decltype(r.data()) { return r.data(); }
template <class R>
std::size_t size_of(const R &r) { return static_cast<std::size_t>(r.size()); }

inline std::size_t rows_of(std::size_t n, std::size_t width, const char *what, std::error_code *ec) {
    if (width == 0) {
        fail(ZOO_BAD_STATE,
             std::string(what) + ": the model's input width is unknown (loaded from a file): call set_shape or pass nrows",
             ec);
        return 0;
    }
    if (n % width != 0) {
        fail(ZOO_BAD_SIZE,
             std::string(what) + ": " + std::to_string(n) + " inputs are not a whole number of rows of " +
                 std::to_string(width),
             ec);
        return 0;
    }
    return n / width;
}
}  // namespace detail

// ---- options ----------------------------------------------------------------

// Builds a trainer's option string with typed setters (see the README's
// option table); set(key, value) for anything else.
class options {
public:
    options() = default;

    options &set(const std::string &key, const std::string &value) {
        for (auto &kv : items_)
            if (kv.first == key) {
                kv.second = value;
                return *this;
            }
        items_.emplace_back(key, value);
        return *this;
    }
    options &set(const std::string &key, const char *value) { return set(key, std::string(value)); }
    template <class T, class = std::enable_if_t<std::is_arithmetic<T>::value>>
    options &set(const std::string &key, T value) {
        return set(key, number(value));
    }

    options &estimator(const std::string &v) { return set("estimator", v); }
    options &q(std::uint64_t v) { return set("q", v); }
    options &directions(const std::string &v) { return set("directions", v); }
    options &mu(double v) { return set("mu", v); }
    options &cge_coords(std::uint64_t v) { return set("cge_coords", v); }
    options &base_loss(bool on) { return set("base_loss", on ? "on" : "off"); }
    options &optimizer(const std::string &v) { return set("optimizer", v); }
    options &lr(double v) { return set("lr", v); }
    options &momentum(double v) { return set("momentum", v); }
    options &beta1(double v) { return set("beta1", v); }
    options &beta2(double v) { return set("beta2", v); }
    options &eps(double v) { return set("eps", v); }
    options &weight_decay(double v) { return set("weight_decay", v); }
    options &clip(double v) { return set("clip", v); }
    options &schedule(const std::string &v) { return set("schedule", v); }
    options &schedule_iterations(std::uint64_t v) { return set("schedule_iterations", v); }
    options &lr_min(double v) { return set("lr_min", v); }
    options &step_size(std::uint64_t v) { return set("step_size", v); }
    options &gamma(double v) { return set("gamma", v); }
    options &seed(std::uint64_t v) { return set("seed", v); }
    options &threads(std::uint64_t v) { return set("threads", v); }
    options &gradient_density(double v) { return set("gradient_density", v); }
    options &redraw_every(std::uint64_t v) { return set("redraw_every", v); }
    options &feature_reuse(bool on) { return set("feature_reuse", on ? "on" : "off"); }
    options &partition(const std::string &v) { return set("partition", v); }
    options &space(const std::string &v) { return set("space", v); }
    options &metrics_file(const std::string &v) { return set("metrics_file", v); }
    options &progress_every(std::uint64_t v) { return set("progress_every", v); }
    options &nonfinite(const std::string &v) { return set("nonfinite", v); }

    // "key=value ..." with values quoted where they need it.
    std::string str() const {
        std::string out;
        for (const auto &kv : items_) {
            if (!out.empty()) out += ' ';
            out += kv.first;
            out += '=';
            out += quote(kv.second);
        }
        return out;
    }

private:
    template <class T>
    static std::string number(T value) {
        if (std::is_same<T, bool>::value) return value ? "1" : "0";
        std::ostringstream s;
        s.imbue(std::locale::classic());
        s.precision(17);
        s << +value;
        return s.str();
    }
    static std::string quote(const std::string &v) {
        bool plain = !v.empty();
        for (char c : v)
            if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '"' || c == '\'') plain = false;
        if (plain) return v;
        if (v.find('"') == std::string::npos) return "\"" + v + "\"";
        return "'" + v + "'";
    }
    std::vector<std::pair<std::string, std::string>> items_;
};

// ---- model ------------------------------------------------------------------

class trainer;

class model {
public:
    model() = default;
    explicit model(zoo_model *owned, std::size_t inputs = 0, std::size_t outputs = 0) noexcept
        : handle_(owned), inputs_(inputs), outputs_(outputs) {}
    model(model &&o) noexcept : handle_(std::exchange(o.handle_, nullptr)), inputs_(o.inputs_), outputs_(o.outputs_) {}
    model &operator=(model &&o) noexcept {
        if (this != &o) {
            zoo_model_free(handle_);
            handle_ = std::exchange(o.handle_, nullptr);
            inputs_ = o.inputs_;
            outputs_ = o.outputs_;
        }
        return *this;
    }
    model(const model &) = delete;
    model &operator=(const model &) = delete;
    ~model() { zoo_model_free(handle_); }

    static model mlp(const std::vector<std::size_t> &sizes, const std::string &activation, std::uint64_t seed,
                     std::error_code &ec) {
        return mlp_impl(sizes, activation, seed, &ec);
    }
    static model mlp(const std::vector<std::size_t> &sizes, const std::string &activation = "tanh",
                     std::uint64_t seed = 0) {
        return mlp_impl(sizes, activation, seed, nullptr);
    }
    static model polynomial(std::size_t inputs, std::size_t degree, std::size_t outputs, std::uint64_t seed = 0) {
        zoo_model *m = nullptr;
        detail::check(zoo_model_new_polynomial(inputs, degree, outputs, seed, &m), nullptr);
        return model(m, inputs, outputs);
    }
    static model load(const std::string &path, std::error_code &ec) { return load_impl(path, &ec); }
    static model load(const std::string &path) { return load_impl(path, nullptr); }

    void save(const std::string &path) const { detail::check(zoo_model_save(handle_, path.c_str()), nullptr); }
    bool save(const std::string &path, std::error_code &ec) const {
        return detail::check(zoo_model_save(handle_, path.c_str()), &ec);
    }

    std::size_t num_params() const {
        std::size_t n = 0;
        detail::check(zoo_model_num_params(handle_, &n), nullptr);
        return n;
    }
    std::vector<double> params() const {
        std::vector<double> p(num_params());
        detail::check(zoo_model_get_params(handle_, p.data(), p.size()), nullptr);
        return p;
    }
    template <class R>
    void set_params(const R &p) {
        detail::check(zoo_model_set_params(handle_, detail::data_of(p), detail::size_of(p)), nullptr);
    }

    // Runs the model on rows = x.size() / inputs() row-major inputs.
    template <class X, class Y>
    void forward(const X &x, Y &&y) const {
        const std::size_t rows = detail::rows_of(detail::size_of(x), inputs_, "model::forward", nullptr);
        forward(x, rows, y);
    }
    template <class X, class Y>
    void forward(const X &x, std::size_t nrows, Y &&y) const {
        detail::check(zoo_model_forward_batch(handle_, detail::data_of(x), detail::size_of(x), nrows,
                                              detail::data_of(y), detail::size_of(y)),
                      nullptr);
    }
    std::vector<double> forward(const std::vector<double> &x) const {
        const std::size_t rows = detail::rows_of(x.size(), inputs_, "model::forward", nullptr);
        std::vector<double> y(rows * outputs_);
        forward(x, rows, y);
        return y;
    }

    std::size_t inputs() const noexcept { return inputs_; }
    std::size_t outputs() const noexcept { return outputs_; }
    void set_shape(std::size_t inputs, std::size_t outputs) noexcept {
        inputs_ = inputs;
        outputs_ = outputs;
    }

    zoo_model *get() const noexcept { return handle_; }
    zoo_model *release() noexcept { return std::exchange(handle_, nullptr); }
    explicit operator bool() const noexcept { return handle_ != nullptr; }

private:
    static model mlp_impl(const std::vector<std::size_t> &sizes, const std::string &activation, std::uint64_t seed,
                          std::error_code *ec) {
        zoo_model *m = nullptr;
        if (!detail::check(zoo_model_new_mlp(sizes.data(), sizes.size(), activation.c_str(), seed, &m), ec))
            return model();
        return model(m, sizes.front(), sizes.back());
    }
    static model load_impl(const std::string &path, std::error_code *ec) {
        zoo_model *m = nullptr;
        if (!detail::check(zoo_model_load(path.c_str(), &m), ec)) return model();
        return model(m);
    }

    zoo_model *handle_ = nullptr;
    std::size_t inputs_ = 0, outputs_ = 0;
};

// ---- candidate (inside a loss callable) ---------------------------------

// A borrowed view of one candidate, valid only inside the callable that received it.
class candidate {
public:
    candidate(zoo_candidate *c, std::size_t inputs, std::size_t outputs, std::size_t nparams) noexcept
        : c_(c), inputs_(inputs), outputs_(outputs), nparams_(nparams) {}

    // One input x into y, or rows = x.size() / inputs row-major inputs.
    void forward(const double *x, std::size_t nx, double *y, std::size_t ny) const {
        detail::check(zoo_candidate_forward(c_, x, nx, y, ny), nullptr);
    }
    bool forward(const double *x, std::size_t nx, double *y, std::size_t ny, std::error_code &ec) const noexcept {
        return detail::check(zoo_candidate_forward(c_, x, nx, y, ny), &ec);
    }
    void forward_batch(const double *x, std::size_t nx, std::size_t nrows, double *y, std::size_t ny) const {
        detail::check(zoo_candidate_forward_batch(c_, x, nx, nrows, y, ny), nullptr);
    }
    bool forward_batch(const double *x, std::size_t nx, std::size_t nrows, double *y, std::size_t ny,
                       std::error_code &ec) const {
        return detail::check(zoo_candidate_forward_batch(c_, x, nx, nrows, y, ny), &ec);
    }
    // Contiguous ranges (std::vector, std::array, std::span, zoo::view):
    // the row count is x.size() / inputs.
    template <class X, class Y>
    void forward(const X &x, Y &&y) const {
        const std::size_t n = detail::size_of(x);
        const std::size_t rows = detail::rows_of(n, inputs_, "candidate::forward", nullptr);
        forward_batch(detail::data_of(x), n, rows, detail::data_of(y), detail::size_of(y));
    }
    template <class X, class Y>
    bool forward(const X &x, Y &&y, std::error_code &ec) const {
        const std::size_t n = detail::size_of(x);
        const std::size_t rows = detail::rows_of(n, inputs_, "candidate::forward", &ec);
        if (rows == 0 && ec) return false;
        return forward_batch(detail::data_of(x), n, rows, detail::data_of(y), detail::size_of(y), ec);
    }
    std::vector<double> forward(const std::vector<double> &x) const {
        const std::size_t rows = detail::rows_of(x.size(), inputs_, "candidate::forward", nullptr);
        std::vector<double> y(rows * outputs_);
        forward_batch(x.data(), x.size(), rows, y.data(), y.size());
        return y;
    }

    // The candidate's position in its iteration (0-based).
    std::size_t index() const {
        std::size_t i = 0;
        detail::check(zoo_candidate_index(c_, &i), nullptr);
        return i;
    }
    std::vector<double> params() const {
        std::vector<double> p(nparams_);
        detail::check(zoo_candidate_get_params(c_, p.data(), p.size()), nullptr);
        return p;
    }
    std::size_t inputs() const noexcept { return inputs_; }
    std::size_t outputs() const noexcept { return outputs_; }
    zoo_candidate *get() const noexcept { return c_; }

private:
    zoo_candidate *c_;
    std::size_t inputs_, outputs_, nparams_;
};

// Flag for trainer::step: the callable may run on several of zoo's threads at once.
struct threadsafe_t {
    explicit constexpr threadsafe_t() = default;
};
inline constexpr threadsafe_t threadsafe{};

// Metrics of the last completed iteration (zoo_trainer_metric).
struct metrics {
    std::uint64_t iteration = 0;
    double loss = 0, base_loss = 0, mean_loss = 0;
    std::uint64_t evaluations = 0, dropped = 0;
    double grad_norm = 0, lr = 0, wall_time = 0;
};

namespace detail {
// The first exception thrown by a callable, kept for the calling thread.
struct failure {
    std::mutex mutex;
    std::exception_ptr first;
    void keep(std::exception_ptr e) noexcept {
        std::lock_guard<std::mutex> lock(mutex);
        if (!first) first = std::move(e);
    }
};

inline std::string what_of(const std::exception_ptr &e) {
#if defined(__cpp_exceptions)
    try {
        std::rethrow_exception(e);
    } catch (const std::exception &x) {
        return x.what();
    } catch (...) {
        return "a non-standard exception";
    }
#else
    (void)e;
    return std::string();
#endif
}

struct loss_context {
    double (*call)(void *fn, candidate &c);
    void *fn;
    std::size_t inputs, outputs, nparams;
    failure fail;
};

struct outputs_context {
    double (*call)(void *fn, const double *y, std::size_t ny);
    void (*call_samples)(void *fn, const double *y, std::size_t ny, double *losses, std::size_t nrows);
    double (*call_adjoint)(void *fn, const double *y, std::size_t ny, double *grad);
    void *fn;
    failure fail;
};

template <class F>
double call_loss(void *fn, candidate &c) {
    return static_cast<double>((*static_cast<F *>(fn))(c));
}

template <class F>
double call_outputs(void *fn, const double *y, std::size_t ny) {
    F &f = *static_cast<F *>(fn);
    if constexpr (std::is_invocable<F &, const double *, std::size_t>::value)
        return static_cast<double>(f(y, ny));
    else
        return static_cast<double>(f(view<const double>(y, ny)));
}

template <class F>
void call_samples(void *fn, const double *y, std::size_t ny, double *losses, std::size_t nrows) {
    F &f = *static_cast<F *>(fn);
    if constexpr (std::is_invocable<F &, const double *, std::size_t, double *, std::size_t>::value)
        f(y, ny, losses, nrows);
    else
        f(view<const double>(y, ny), view<double>(losses, nrows));
}

template <class F>
double call_adjoint(void *fn, const double *y, std::size_t ny, double *grad) {
    F &f = *static_cast<F *>(fn);
    if constexpr (std::is_invocable<F &, const double *, std::size_t, double *>::value)
        return static_cast<double>(f(y, ny, grad));
    else
        return static_cast<double>(f(view<const double>(y, ny), view<double>(grad, ny)));
}

// Runs body, keeping any exception: nothing unwinds into zoo.
template <class Body>
int32_t guarded(failure &fail, Body &&body) noexcept {
#if defined(__cpp_exceptions)
    try {
        body();
        return 0;
    } catch (...) {
        fail.keep(std::current_exception());
        return 1;
    }
#else
    (void)fail;
    body();
    return 0;
#endif
}
}  // namespace detail

extern "C" {
inline int32_t zoo_hpp_loss_trampoline(void *userdata, zoo_candidate *c, double *loss) {
    auto *ctx = static_cast<detail::loss_context *>(userdata);
    return detail::guarded(ctx->fail, [&] {
        candidate view_(c, ctx->inputs, ctx->outputs, ctx->nparams);
        *loss = ctx->call(ctx->fn, view_);
    });
}
inline int32_t zoo_hpp_outputs_trampoline(void *userdata, const double *y, size_t ny, double *loss) {
    auto *ctx = static_cast<detail::outputs_context *>(userdata);
    return detail::guarded(ctx->fail, [&] { *loss = ctx->call(ctx->fn, y, ny); });
}
inline int32_t zoo_hpp_samples_trampoline(void *userdata, const double *y, size_t ny, double *losses,
                                          size_t nrows) {
    auto *ctx = static_cast<detail::outputs_context *>(userdata);
    return detail::guarded(ctx->fail, [&] { ctx->call_samples(ctx->fn, y, ny, losses, nrows); });
}
inline int32_t zoo_hpp_adjoint_trampoline(void *userdata, const double *y, size_t ny, double *loss,
                                          double *grad) {
    auto *ctx = static_cast<detail::outputs_context *>(userdata);
    return detail::guarded(ctx->fail, [&] { *loss = ctx->call_adjoint(ctx->fn, y, ny, grad); });
}
}

namespace detail {
// After a zoo call that ran callables: rethrows the kept exception (or,
// with ec, reports ZOO_CALLBACK_FAILED with its what()), else checks status.
inline bool finish(zoo_status status, failure &fail, std::error_code *ec) {
    if (status == ZOO_OK) {
        if (ec) ec->clear();
        return true;
    }
    std::string message = zoo_last_error();
    if (fail.first) {
        message += ": " + what_of(fail.first);
        last_message() = message;
        if (ec) {
            *ec = make_error_code(status);
            return false;
        }
#if defined(__cpp_exceptions)
        std::rethrow_exception(fail.first);
#endif
    }
    return detail::fail(status, message, ec);
}
}  // namespace detail

// ---- ask/tell -----------------------------------------------------------------

// One candidate handed out by trainer::ask_batch: forward it, then tell its loss.
class asked {
public:
    asked(zoo_trainer *t, std::uint64_t id, std::size_t inputs, std::size_t outputs, std::size_t nparams) noexcept
        : t_(t), id_(id), inputs_(inputs), outputs_(outputs), nparams_(nparams) {}
    std::uint64_t id() const noexcept { return id_; }

    template <class X, class Y>
    void forward(const X &x, Y &&y) const {
        const std::size_t n = detail::size_of(x);
        forward(x, detail::rows_of(n, inputs_, "asked::forward", nullptr), y);
    }
    template <class X, class Y>
    void forward(const X &x, std::size_t nrows, Y &&y) const {
        detail::check(zoo_forward_batch(t_, id_, detail::data_of(x), detail::size_of(x), nrows, detail::data_of(y),
                                        detail::size_of(y)),
                      nullptr);
    }
    std::vector<double> forward(const std::vector<double> &x) const {
        std::vector<double> y(detail::rows_of(x.size(), inputs_, "asked::forward", nullptr) * outputs_);
        forward(x, y);
        return y;
    }
    std::vector<double> params() const {
        std::vector<double> p(nparams_);
        detail::check(zoo_candidate_params(t_, id_, p.data(), p.size()), nullptr);
        return p;
    }
    // Records the loss; true when it completed the iteration (the update was applied).
    bool tell(double loss) const {
        int32_t updated = 0;
        detail::check(zoo_tell(t_, id_, loss, &updated), nullptr);
        return updated != 0;
    }
    bool tell(double loss, std::error_code &ec) const {
        int32_t updated = 0;
        return detail::check(zoo_tell(t_, id_, loss, &updated), &ec) && updated != 0;
    }

private:
    zoo_trainer *t_;
    std::uint64_t id_;
    std::size_t inputs_, outputs_, nparams_;
};

// ---- trainer ----------------------------------------------------------------

class trainer {
public:
    trainer() = default;
    trainer(const model &m, const options &opts = options()) { init(m, opts.str(), nullptr); }
    trainer(const model &m, const std::string &opts) { init(m, opts, nullptr); }
    trainer(const model &m, const options &opts, std::error_code &ec) { init(m, opts.str(), &ec); }
    explicit trainer(zoo_trainer *owned, std::size_t inputs = 0, std::size_t outputs = 0)
        : handle_(owned), inputs_(inputs), outputs_(outputs) {
        if (handle_) zoo_trainer_num_params(handle_, &nparams_);
    }
    trainer(trainer &&o) noexcept
        : handle_(std::exchange(o.handle_, nullptr)), inputs_(o.inputs_), outputs_(o.outputs_), nparams_(o.nparams_) {}
    trainer &operator=(trainer &&o) noexcept {
        if (this != &o) {
            zoo_trainer_free(handle_);
            handle_ = std::exchange(o.handle_, nullptr);
            inputs_ = o.inputs_;
            outputs_ = o.outputs_;
            nparams_ = o.nparams_;
        }
        return *this;
    }
    trainer(const trainer &) = delete;
    trainer &operator=(const trainer &) = delete;
    ~trainer() { zoo_trainer_free(handle_); }

    static trainer load(const std::string &path, std::error_code &ec) { return load_impl(path, &ec); }
    static trainer load(const std::string &path) { return load_impl(path, nullptr); }
    void save(const std::string &path) const { detail::check(zoo_trainer_save(handle_, path.c_str()), nullptr); }
    bool save(const std::string &path, std::error_code &ec) const {
        return detail::check(zoo_trainer_save(handle_, path.c_str()), &ec);
    }
    void restore(const std::string &path) { detail::check(zoo_trainer_restore(handle_, path.c_str()), nullptr); }

    // One iteration with a callable double(zoo::candidate&).
    template <class F>
    metrics step(F &&loss) {
        run_step(loss, 0, nullptr);
        return last_metrics();
    }
    template <class F>
    metrics step(F &&loss, threadsafe_t) {
        run_step(loss, ZOO_THREADSAFE, nullptr);
        return last_metrics();
    }
    template <class F>
    metrics step(F &&loss, std::error_code &ec) {
        return run_step(loss, 0, &ec) ? last_metrics() : metrics();
    }
    template <class F>
    metrics step(F &&loss, threadsafe_t, std::error_code &ec) {
        return run_step(loss, ZOO_THREADSAFE, &ec) ? last_metrics() : metrics();
    }

    // The loss at the current weights (the candidate has index 0); nothing changes.
    template <class F>
    double evaluate(F &&loss) {
        return run_evaluate(loss, nullptr);
    }
    template <class F>
    double evaluate(F &&loss, std::error_code &ec) {
        return run_evaluate(loss, &ec);
    }

    // Dataset mode: zoo runs the network on rows = x.size() / inputs and the
    // callable maps the outputs to a loss: double(const double* y, size_t ny)
    // or double(zoo::view<const double> y).
    template <class X, class F>
    metrics step_outputs(const X &x, F &&loss) {
        return step_outputs(x, detail::rows_of(detail::size_of(x), inputs_, "trainer::step_outputs", nullptr), loss);
    }
    template <class X, class F>
    metrics step_outputs(const X &x, std::size_t nrows, F &&loss) {
        using Fn = std::remove_reference_t<F>;
        detail::outputs_context ctx{&detail::call_outputs<Fn>, nullptr, nullptr, const_cast<void *>(static_cast<const void *>(&loss)), {}};
        detail::finish(zoo_step_outputs(handle_, detail::data_of(x), detail::size_of(x), nrows,
                                        zoo_hpp_outputs_trampoline, &ctx, nullptr),
                       ctx.fail, nullptr);
        return last_metrics();
    }
    // Per-row losses: void(view<const double> y, view<double> losses) or
    // void(const double* y, size_t ny, double* losses, size_t nrows).
    template <class X, class F>
    metrics step_output_samples(const X &x, F &&losses) {
        const std::size_t rows = detail::rows_of(detail::size_of(x), inputs_, "trainer::step_output_samples", nullptr);
        using Fn = std::remove_reference_t<F>;
        detail::outputs_context ctx{nullptr, &detail::call_samples<Fn>, nullptr, const_cast<void *>(static_cast<const void *>(&losses)), {}};
        detail::finish(zoo_step_output_samples(handle_, detail::data_of(x), detail::size_of(x), rows,
                                               zoo_hpp_samples_trampoline, &ctx, nullptr),
                       ctx.fail, nullptr);
        return last_metrics();
    }
    // Exact gradients: double(view<const double> y, view<double> grad_y) or
    // double(const double* y, size_t ny, double* grad_y), returning the loss.
    template <class X, class F>
    metrics step_adjoint(const X &x, F &&adjoint) {
        const std::size_t rows = detail::rows_of(detail::size_of(x), inputs_, "trainer::step_adjoint", nullptr);
        using Fn = std::remove_reference_t<F>;
        detail::outputs_context ctx{nullptr, nullptr, &detail::call_adjoint<Fn>, const_cast<void *>(static_cast<const void *>(&adjoint)), {}};
        detail::finish(zoo_step_adjoint(handle_, detail::data_of(x), detail::size_of(x), rows,
                                        zoo_hpp_adjoint_trampoline, &ctx, nullptr),
                       ctx.fail, nullptr);
        return last_metrics();
    }

    // Ask/tell: up to max (default: the iteration's candidate count)
    // candidates; empty when every one is out and losses are awaited.
    std::vector<asked> ask_batch(std::size_t max = 0) {
        if (max == 0) max = num_candidates();
        std::vector<std::uint64_t> ids(max);
        std::size_t count = 0;
        const zoo_status s = zoo_ask_batch(handle_, ids.data(), max, &count);
        std::vector<asked> out;
        if (s == ZOO_NO_CANDIDATE) return out;
        detail::check(s, nullptr);
        out.reserve(count);
        for (std::size_t i = 0; i < count; i++) out.emplace_back(handle_, ids[i], inputs_, outputs_, nparams_);
        return out;
    }
    // Runs asked candidates in one call, each on `rows` rows: x holds a block
    // per candidate, or with shared = true one block they all read. Returns
    // the outputs candidate after candidate, each as asked::forward gives it.
    std::vector<double> forward_many(const std::vector<asked> &batch, const std::vector<double> &x, std::size_t rows,
                                     bool shared = false) const {
        std::vector<std::uint64_t> ids;
        ids.reserve(batch.size());
        for (const auto &a : batch) ids.push_back(a.id());
        std::vector<double> y(batch.size() * rows * outputs_);
        detail::check(zoo_forward_many(handle_, ids.data(), ids.size(), x.data(), x.size(), shared ? 1 : 0, rows,
                                       y.data(), y.size()),
                      nullptr);
        return y;
    }
    void abort_iteration() { detail::check(zoo_abort_iteration(handle_), nullptr); }

    // Options.
    void set(const std::string &key, const std::string &value) {
        detail::check(zoo_trainer_set(handle_, key.c_str(), value.c_str()), nullptr);
    }
    void set(const options &opts) { detail::check(zoo_trainer_set(handle_, nullptr, opts.str().c_str()), nullptr); }
    std::string get(const std::string &key) const {
        std::size_t size = 0;
        detail::check(zoo_trainer_get_size(handle_, key.c_str(), &size), nullptr);
        std::string value(size, '\0');
        detail::check(zoo_trainer_get(handle_, key.c_str(), &value[0], size), nullptr);
        value.resize(size ? size - 1 : 0);
        return value;
    }

    std::size_t num_params() const noexcept { return nparams_; }
    std::size_t num_candidates() const {
        std::size_t n = 0;
        detail::check(zoo_trainer_num_candidates(handle_, &n), nullptr);
        return n;
    }
    std::uint64_t iteration() const {
        std::uint64_t it = 0;
        detail::check(zoo_trainer_iteration(handle_, &it), nullptr);
        return it;
    }
    std::vector<double> params() const {
        std::vector<double> p(nparams_);
        detail::check(zoo_trainer_get_params(handle_, p.data(), p.size()), nullptr);
        return p;
    }
    template <class R>
    void set_params(const R &p) {
        detail::check(zoo_trainer_set_params(handle_, detail::data_of(p), detail::size_of(p)), nullptr);
    }
    model copy_model() const {
        zoo_model *m = nullptr;
        detail::check(zoo_trainer_copy_model(handle_, &m), nullptr);
        return model(m, inputs_, outputs_);
    }
    double metric(const std::string &name) const {
        double v = 0;
        detail::check(zoo_trainer_metric(handle_, name.c_str(), &v), nullptr);
        return v;
    }
    // The metrics of the last completed iteration.
    metrics last_metrics() const {
        metrics m;
        m.iteration = static_cast<std::uint64_t>(metric("iteration"));
        m.loss = metric("loss");
        m.base_loss = metric("base_loss");
        m.mean_loss = metric("mean_loss");
        m.evaluations = static_cast<std::uint64_t>(metric("evaluations"));
        m.dropped = static_cast<std::uint64_t>(metric("dropped"));
        m.grad_norm = metric("grad_norm");
        m.lr = metric("lr");
        m.wall_time = metric("wall_time");
        return m;
    }

    std::size_t inputs() const noexcept { return inputs_; }
    std::size_t outputs() const noexcept { return outputs_; }
    void set_shape(std::size_t inputs, std::size_t outputs) noexcept {
        inputs_ = inputs;
        outputs_ = outputs;
    }
    zoo_trainer *get() const noexcept { return handle_; }
    explicit operator bool() const noexcept { return handle_ != nullptr; }

private:
    void init(const model &m, const std::string &opts, std::error_code *ec) {
        zoo_trainer *t = nullptr;
        if (!detail::check(zoo_trainer_new(m.get(), opts.c_str(), &t), ec)) return;
        handle_ = t;
        inputs_ = m.inputs();
        outputs_ = m.outputs();
        zoo_trainer_num_params(handle_, &nparams_);
    }
    static trainer load_impl(const std::string &path, std::error_code *ec) {
        zoo_trainer *t = nullptr;
        if (!detail::check(zoo_trainer_load(path.c_str(), &t), ec)) return trainer();
        return trainer(t);
    }
    template <class F>
    bool run_step(F &loss, uint32_t flags, std::error_code *ec) {
        using Fn = std::remove_reference_t<F>;
        detail::loss_context ctx{&detail::call_loss<Fn>, const_cast<void *>(static_cast<const void *>(&loss)),
                                 inputs_, outputs_, nparams_, {}};
        return detail::finish(zoo_step(handle_, zoo_hpp_loss_trampoline, &ctx, flags, nullptr), ctx.fail, ec);
    }
    template <class F>
    double run_evaluate(F &loss, std::error_code *ec) {
        using Fn = std::remove_reference_t<F>;
        detail::loss_context ctx{&detail::call_loss<Fn>, const_cast<void *>(static_cast<const void *>(&loss)),
                                 inputs_, outputs_, nparams_, {}};
        double value = 0;
        if (!detail::finish(zoo_evaluate(handle_, zoo_hpp_loss_trampoline, &ctx, &value), ctx.fail, ec)) return 0;
        return value;
    }

    zoo_trainer *handle_ = nullptr;
    std::size_t inputs_ = 0, outputs_ = 0, nparams_ = 0;
};

// ---- slot -------------------------------------------------------------------

// A network slot (zoo_slot_new / zoo_slot_new_model): runs the candidate
// the calling thread evaluates, else the trainer's weights, else the model.
class slot {
public:
    slot() = default;
    explicit slot(trainer &t) : inputs_(t.inputs()), outputs_(t.outputs()) {
        detail::check(zoo_slot_new(t.get(), &handle_), nullptr);
    }
    explicit slot(const model &m) : inputs_(m.inputs()), outputs_(m.outputs()) {
        detail::check(zoo_slot_new_model(m.get(), &handle_), nullptr);
    }
    slot(slot &&o) noexcept : handle_(std::exchange(o.handle_, nullptr)), inputs_(o.inputs_), outputs_(o.outputs_) {}
    slot &operator=(slot &&o) noexcept {
        if (this != &o) {
            zoo_slot_free(handle_);
            handle_ = std::exchange(o.handle_, nullptr);
            inputs_ = o.inputs_;
            outputs_ = o.outputs_;
        }
        return *this;
    }
    slot(const slot &) = delete;
    slot &operator=(const slot &) = delete;
    ~slot() { zoo_slot_free(handle_); }

    template <class X, class Y>
    void forward(const X &x, Y &&y) const {
        forward(x, detail::rows_of(detail::size_of(x), inputs_, "slot::forward", nullptr), y);
    }
    template <class X, class Y>
    void forward(const X &x, std::size_t nrows, Y &&y) const {
        detail::check(zoo_slot_forward(handle_, detail::data_of(x), detail::size_of(x), nrows, detail::data_of(y),
                                       detail::size_of(y)),
                      nullptr);
    }
    bool forward(const double *x, std::size_t nx, std::size_t nrows, double *y, std::size_t ny,
                 std::error_code &ec) const {
        return detail::check(zoo_slot_forward(handle_, x, nx, nrows, y, ny), &ec);
    }
    zoo_slot *get() const noexcept { return handle_; }

private:
    zoo_slot *handle_ = nullptr;
    std::size_t inputs_ = 0, outputs_ = 0;
};

}  // namespace zoo

#endif  // ZOO_HPP
