/*
 * Misuse of every C function: NULL handles and pointers, wrong sizes,
 * calls out of order, unknown options and bad values, failing callbacks
 * and a forced internal panic. Each must return its documented status,
 * leave a message naming the problem, and change nothing (weights are
 * compared before and after). Ends with "N passed, N failed".
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "zoo.h"
#include "zoo_test_hooks.h"

/* Snapshot of a trainer's weights and iteration counter. */
typedef struct {
    double params[NPARAMS];
    uint64_t iteration;
} snapshot;

static snapshot take(const zoo_trainer *t) {
    snapshot s;
    if (zoo_trainer_get_params(t, s.params, NPARAMS) != ZOO_OK) abort();
    if (zoo_trainer_iteration(t, &s.iteration) != ZOO_OK) abort();
    return s;
}

static int same(snapshot a, snapshot b) {
    return a.iteration == b.iteration && memcmp(a.params, b.params, sizeof a.params) == 0;
}

/* A well-behaved loss: squared output at one input. */
static int32_t good_loss(void *userdata, zoo_candidate *candidate, double *loss) {
    (void)userdata;
    const double x[2] = {0.3, -0.7};
    double y[1];
    if (zoo_candidate_forward(candidate, x, 2, y, 1) != ZOO_OK) return 1;
    *loss = (y[0] - 1.0) * (y[0] - 1.0);
    return 0;
}

/* Fails with code 7 on candidate 2. */
static int32_t failing_loss(void *userdata, zoo_candidate *candidate, double *loss) {
    size_t index = 0;
    if (zoo_candidate_index(candidate, &index) != ZOO_OK) return 1;
    if (index == 2) return 7;
    return good_loss(userdata, candidate, loss);
}

static int32_t nan_loss(void *userdata, zoo_candidate *candidate, double *loss) {
    (void)userdata;
    (void)candidate;
    *loss = NAN;
    return 0;
}

/* Misuses the candidate API from inside a callback and records the results. */
typedef struct {
    zoo_status null_candidate, short_x, short_y, short_params, null_out;
    size_t seen;
} inside_results;

static int32_t misuse_inside(void *userdata, zoo_candidate *candidate, double *loss) {
    inside_results *r = userdata;
    const double x[2] = {0.1, 0.2};
    double y[1], params[NPARAMS];
    r->null_candidate = zoo_candidate_forward(NULL, x, 2, y, 1);
    r->short_x = zoo_candidate_forward(candidate, x, 1, y, 1);
    r->short_y = zoo_candidate_forward_batch(candidate, x, 2, 1, y, 0);
    r->short_params = zoo_candidate_get_params(candidate, params, NPARAMS - 1);
    r->null_out = zoo_candidate_index(candidate, NULL);
    r->seen++;
    return good_loss(NULL, candidate, loss);
}

static int32_t always_failing(void *userdata, zoo_candidate *candidate, double *loss) {
    (void)userdata;
    (void)candidate;
    (void)loss;
    return 7;
}

/* Losses that call the scan from inside one: a NULL trainer, and the
 * scanned trainer itself (the busy rule). */
static int32_t rescan_inside(void *userdata, zoo_candidate *candidate, double *loss) {
    zoo_status *inner = userdata;
    double mu;
    *inner = zoo_scan_mu(NULL, good_loss, NULL, 1, &mu, NULL, 0);
    return good_loss(NULL, candidate, loss);
}

static int32_t busy_inside(void *userdata, zoo_candidate *candidate, double *loss) {
    void **args = userdata;
    double mu;
    *(zoo_status *)args[1] = zoo_scan_mu((zoo_trainer *)args[0], good_loss, NULL, 1, &mu, NULL, 0);
    return good_loss(NULL, candidate, loss);
}

static void test_mu_scan(void) {
    zoo_trainer *t = new_trainer("estimator=rge-central q=4 seed=3");
    snapshot before = take(t);
    double mu = -1.0, report[ZOO_MU_SCAN_REPORT];
    EXPECT_STATUS(zoo_scan_mu(NULL, good_loss, NULL, 2, &mu, NULL, 0), ZOO_NULL_POINTER, "trainer");
    EXPECT_STATUS(zoo_scan_mu(t, NULL, NULL, 2, &mu, NULL, 0), ZOO_NULL_POINTER, "loss_fn");
    EXPECT_STATUS(zoo_scan_mu(t, good_loss, NULL, 2, NULL, NULL, 0), ZOO_NULL_POINTER, "mu");
    EXPECT_STATUS(zoo_scan_mu(t, good_loss, NULL, 2, &mu, NULL, ZOO_MU_SCAN_REPORT), ZOO_NULL_POINTER, "report");
    EXPECT_STATUS(zoo_scan_mu(t, good_loss, NULL, 2, &mu, report, 5), ZOO_BAD_SIZE, "report");
    EXPECT_STATUS(zoo_scan_mu(t, good_loss, NULL, 0, &mu, NULL, 0), ZOO_INVALID_ARGUMENT, "directions");
    EXPECT_STATUS(zoo_scan_mu(t, good_loss, NULL, 65, &mu, NULL, 0), ZOO_INVALID_ARGUMENT, "directions");
    EXPECT_STATUS(zoo_scan_mu(t, always_failing, NULL, 2, &mu, NULL, 0), ZOO_CALLBACK_FAILED, "returned 7");
    EXPECT_STATUS(zoo_scan_mu(t, nan_loss, NULL, 2, &mu, NULL, 0), ZOO_INVALID_ARGUMENT, "finite");
    EXPECT(mu == -1.0);
    zoo_status inner = ZOO_OK;
    void *args[2] = {t, &inner};
    EXPECT(zoo_scan_mu(t, busy_inside, args, 1, &mu, NULL, 0) == ZOO_OK);
    EXPECT(inner == ZOO_BUSY);
    EXPECT(zoo_scan_mu(t, rescan_inside, &inner, 1, &mu, NULL, 0) == ZOO_OK);
    EXPECT(inner == ZOO_NULL_POINTER);
    EXPECT(zoo_scan_mu(t, good_loss, NULL, 3, &mu, report, ZOO_MU_SCAN_REPORT) == ZOO_OK);
    EXPECT(mu > 0 && report[7] == 1 + 2 * 3 * ZOO_MU_SCAN_RADII && report[8] == 1e-9);
    EXPECT(same(before, take(t)));
    zoo_trainer_free(t);
}

static void test_library_functions(void) {
    EXPECT(strncmp(zoo_version(), "0.", 2) == 0);
    for (uint32_t code = 0; code <= 13; code++) EXPECT(strncmp(zoo_status_name(code), "ZOO_", 4) == 0);
    EXPECT(strcmp(zoo_status_name(ZOO_BAD_SIZE), "ZOO_BAD_SIZE") == 0);
    EXPECT(strcmp(zoo_status_name(ZOO_NO_CANDIDATE), "ZOO_NO_CANDIDATE") == 0);
    EXPECT(strcmp(zoo_status_name(999), "ZOO_UNKNOWN_STATUS") == 0);
}

static void test_model(void) {
    const size_t sizes[] = {2, 4, 1}, bad_sizes[] = {2, 0, 1};
    zoo_model *sentinel = (zoo_model *)&passed, *out = sentinel;
    EXPECT_STATUS(zoo_model_new_mlp(sizes, 3, "tanh", 1, NULL), ZOO_NULL_POINTER, "out");
    EXPECT_STATUS(zoo_model_new_mlp(NULL, 3, "tanh", 1, &out), ZOO_NULL_POINTER, "sizes");
    EXPECT_STATUS(zoo_model_new_mlp(sizes, 3, NULL, 1, &out), ZOO_NULL_POINTER, "activation");
    EXPECT_STATUS(zoo_model_new_mlp(sizes, 1, "tanh", 1, &out), ZOO_INVALID_ARGUMENT, "at least 2");
    EXPECT_STATUS(zoo_model_new_mlp(bad_sizes, 3, "tanh", 1, &out), ZOO_INVALID_ARGUMENT, "layer size 1 is 0");
    EXPECT_STATUS(zoo_model_new_mlp(sizes, 3, "swish", 1, &out), ZOO_INVALID_OPTION, "swish");
    EXPECT_STATUS(zoo_model_new_mlp(sizes, 3, "\xff", 1, &out), ZOO_INVALID_STRING, "activation");
    EXPECT(out == sentinel); /* out-pointers are written only on success */

    zoo_model *model = new_model();
    size_t n = 0;
    EXPECT_STATUS(zoo_model_num_params(NULL, &n), ZOO_NULL_POINTER, "model");
    EXPECT_STATUS(zoo_model_num_params(model, NULL), ZOO_NULL_POINTER, "out");
    EXPECT_STATUS(zoo_model_num_active(NULL, &n), ZOO_NULL_POINTER, "model");
    EXPECT(zoo_model_num_params(model, &n) == ZOO_OK && n == NPARAMS);
    EXPECT(zoo_model_num_active(model, &n) == ZOO_OK && n == NPARAMS);

    double before[NPARAMS], after[NPARAMS], changed[NPARAMS];
    EXPECT(zoo_model_get_params(model, before, NPARAMS) == ZOO_OK);
    EXPECT_STATUS(zoo_model_get_params(model, before, NPARAMS + 1), ZOO_BAD_SIZE, "expected length 17, got 18");
    EXPECT_STATUS(zoo_model_get_params(model, NULL, NPARAMS), ZOO_NULL_POINTER, "params");
    EXPECT_STATUS(zoo_model_get_params(NULL, before, NPARAMS), ZOO_NULL_POINTER, "model");
    memcpy(changed, before, sizeof changed);
    changed[3] = NAN;
    EXPECT_STATUS(zoo_model_set_params(model, changed, NPARAMS), ZOO_INVALID_ARGUMENT, "parameter 3");
    EXPECT_STATUS(zoo_model_set_params(model, changed, NPARAMS - 1), ZOO_BAD_SIZE, "expected length 17");
    EXPECT_STATUS(zoo_model_set_params(NULL, changed, NPARAMS), ZOO_NULL_POINTER, "model");
    EXPECT_STATUS(zoo_model_set_params(model, NULL, NPARAMS), ZOO_NULL_POINTER, "params");
    EXPECT(zoo_model_get_params(model, after, NPARAMS) == ZOO_OK && memcmp(before, after, sizeof before) == 0);

    const double x[4] = {0.1, 0.2, 0.3, 0.4};
    double y[2] = {42.0, 42.0};
    EXPECT_STATUS(zoo_model_forward(model, x, 3, y, 1), ZOO_BAD_SIZE, "inputs");
    EXPECT_STATUS(zoo_model_forward(model, x, 2, y, 2), ZOO_BAD_SIZE, "outputs");
    EXPECT_STATUS(zoo_model_forward(model, NULL, 2, y, 1), ZOO_NULL_POINTER, "x");
    EXPECT_STATUS(zoo_model_forward(model, x, 2, NULL, 1), ZOO_NULL_POINTER, "y");
    EXPECT_STATUS(zoo_model_forward_batch(model, x, 4, 3, y, 2), ZOO_BAD_SIZE, "expected length 6, got 4");
    EXPECT_STATUS(zoo_model_forward_batch(NULL, x, 4, 2, y, 2), ZOO_NULL_POINTER, "model");
    EXPECT(y[0] == 42.0 && y[1] == 42.0);
    EXPECT(zoo_model_forward_batch(model, x, 4, 2, y, 2) == ZOO_OK && isfinite(y[0]) && isfinite(y[1]));

    /* Supervised fit: failures leave the model as it was. */
    const double targets[2] = {0.5, -0.25}, bad_targets[2] = {0.5, NAN};
    double fit_loss = -1.0;
    EXPECT_STATUS(zoo_model_fit(NULL, x, 4, targets, 2, 2, "", &fit_loss), ZOO_NULL_POINTER, "model");
    EXPECT_STATUS(zoo_model_fit(model, x, 4, NULL, 2, 2, "", &fit_loss), ZOO_NULL_POINTER, "y");
    EXPECT_STATUS(zoo_model_fit(model, x, 4, targets, 1, 2, "", &fit_loss), ZOO_BAD_SIZE, "targets");
    EXPECT_STATUS(zoo_model_fit(model, x, 4, bad_targets, 2, 2, "", &fit_loss), ZOO_INVALID_ARGUMENT, "value 5");
    EXPECT_STATUS(zoo_model_fit(model, x, 4, targets, 2, 2, "epochs=-3", &fit_loss), ZOO_INVALID_OPTION, "'epochs'");
    EXPECT_STATUS(zoo_model_fit(model, x, 4, targets, 2, 2, "lr=0.1 rate=2", &fit_loss), ZOO_UNKNOWN_OPTION, "'rate'");
    EXPECT(fit_loss == -1.0);
    EXPECT(zoo_model_get_params(model, after, NPARAMS) == ZOO_OK && memcmp(before, after, sizeof before) == 0);
    EXPECT(zoo_model_fit(model, x, 4, targets, 2, 2, "epochs=500 lr=0.01", &fit_loss) == ZOO_OK && fit_loss < 1e-4);
    EXPECT(zoo_model_forward_batch(model, x, 4, 2, y, 2) == ZOO_OK && fabs(y[0] - 0.5) < 0.01 && fabs(y[1] + 0.25) < 0.01);
    zoo_model_free(model);
    zoo_model_free(NULL);
}

static void test_trainer_options(void) {
    zoo_model *model = new_model();
    zoo_trainer *sentinel = (zoo_trainer *)&passed, *out = sentinel;
    EXPECT_STATUS(zoo_trainer_new(NULL, "", &out), ZOO_NULL_POINTER, "model");
    EXPECT_STATUS(zoo_trainer_new(model, "", NULL), ZOO_NULL_POINTER, "out");
    EXPECT_STATUS(zoo_trainer_new(model, "learning_rate=1", &out), ZOO_UNKNOWN_OPTION, "'learning_rate'");
    EXPECT_STATUS(zoo_trainer_new(model, "q=0", &out), ZOO_INVALID_OPTION, "option 'q': bad value '0'");
    EXPECT_STATUS(zoo_trainer_new(model, "estimator=sge", &out), ZOO_INVALID_OPTION, "rge-central");
    EXPECT_STATUS(zoo_trainer_new(model, "lr", &out), ZOO_INVALID_OPTION, "expected key=value");
    EXPECT(out == sentinel);
    EXPECT(zoo_trainer_new(model, NULL, &out) == ZOO_OK && out != sentinel);
    zoo_trainer_free(out);
    zoo_model_free(model);

    zoo_trainer *t = new_trainer("lr=0.01");
    char value[32];
    EXPECT(zoo_trainer_get(t, "lr", value, sizeof value) == ZOO_OK && strcmp(value, "0.01") == 0);
    EXPECT_STATUS(zoo_trainer_set(t, "lr", "-1"), ZOO_INVALID_OPTION, "'-1'");
    EXPECT_STATUS(zoo_trainer_set(t, "nope", "1"), ZOO_UNKNOWN_OPTION, "'nope'");
    EXPECT_STATUS(zoo_trainer_set(t, NULL, "lr=0.5 q=0"), ZOO_INVALID_OPTION, "'q'");
    EXPECT_STATUS(zoo_trainer_set(NULL, "lr", "1"), ZOO_NULL_POINTER, "trainer");
    EXPECT_STATUS(zoo_trainer_set(t, "lr", NULL), ZOO_NULL_POINTER, "value");
    EXPECT(zoo_trainer_get(t, "lr", value, sizeof value) == ZOO_OK && strcmp(value, "0.01") == 0);
    EXPECT(zoo_trainer_set(t, NULL, "lr=0.5 q=4") == ZOO_OK);
    EXPECT(zoo_trainer_get(t, "q", value, sizeof value) == ZOO_OK && strcmp(value, "4") == 0);
    strcpy(value, "untouched");
    EXPECT_STATUS(zoo_trainer_get(t, "estimator", value, 5), ZOO_BAD_SIZE, "expected length 12");
    EXPECT(strcmp(value, "untouched") == 0);
    EXPECT_STATUS(zoo_trainer_get(t, "estimator", NULL, 5), ZOO_NULL_POINTER, "value");
    EXPECT_STATUS(zoo_trainer_get(t, "nope", value, sizeof value), ZOO_UNKNOWN_OPTION, "'nope'");
    EXPECT_STATUS(zoo_trainer_get(t, NULL, value, sizeof value), ZOO_NULL_POINTER, "key");

    double metric = -1.0;
    EXPECT_STATUS(zoo_trainer_metric(t, "loss", &metric), ZOO_BAD_STATE, "no iteration has completed");
    EXPECT(zoo_step(t, good_loss, NULL, 0, NULL) == ZOO_OK);
    EXPECT_STATUS(zoo_trainer_metric(t, "losss", &metric), ZOO_INVALID_ARGUMENT, "'losss'");
    EXPECT_STATUS(zoo_trainer_metric(t, "loss", NULL), ZOO_NULL_POINTER, "value");
    EXPECT(metric == -1.0);
    size_t candidates = 0;
    EXPECT(zoo_trainer_num_candidates(t, &candidates) == ZOO_OK && candidates == 8);
    EXPECT(zoo_trainer_metric(t, "evaluations", &metric) == ZOO_OK && metric == 8.0);
    EXPECT(zoo_trainer_metric(t, "iteration", &metric) == ZOO_OK && metric == 1.0);

    snapshot before = take(t);
    double params[NPARAMS];
    memcpy(params, before.params, sizeof params);
    params[0] = INFINITY;
    EXPECT_STATUS(zoo_trainer_set_params(t, params, NPARAMS), ZOO_INVALID_ARGUMENT, "parameter 0");
    EXPECT_STATUS(zoo_trainer_set_params(t, params, 3), ZOO_BAD_SIZE, "expected length 17, got 3");
    EXPECT_STATUS(zoo_trainer_get_params(t, params, 3), ZOO_BAD_SIZE, "expected length 17, got 3");
    EXPECT(same(before, take(t)));

    zoo_model *copy = NULL;
    EXPECT_STATUS(zoo_trainer_copy_model(NULL, &copy), ZOO_NULL_POINTER, "trainer");
    EXPECT(zoo_trainer_copy_model(t, &copy) == ZOO_OK);
    double copied[NPARAMS];
    EXPECT(zoo_model_get_params(copy, copied, NPARAMS) == ZOO_OK && memcmp(copied, before.params, sizeof copied) == 0);
    zoo_model_free(copy);
    zoo_trainer_free(t);
    zoo_trainer_free(NULL);
}

static void test_step_failures(void) {
    zoo_trainer *t = new_trainer("estimator=rge-forward q=4 optimizer=adam lr=0.05 threads=2");
    EXPECT(zoo_step(t, good_loss, NULL, 0, NULL) == ZOO_OK);
    snapshot before = take(t);
    double loss = -1.0;
    EXPECT_STATUS(zoo_step(NULL, good_loss, NULL, 0, &loss), ZOO_NULL_POINTER, "trainer");
    EXPECT_STATUS(zoo_step(t, NULL, NULL, 0, &loss), ZOO_NULL_POINTER, "loss_fn");
    EXPECT_STATUS(zoo_step(t, good_loss, NULL, 6, &loss), ZOO_INVALID_ARGUMENT, "unknown flag bits 0x6");
    EXPECT_STATUS(zoo_step(t, failing_loss, NULL, 0, &loss), ZOO_CALLBACK_FAILED, "returned 7");
    EXPECT_STATUS(zoo_step(t, failing_loss, NULL, ZOO_THREADSAFE, &loss), ZOO_CALLBACK_FAILED, "candidate 2");
    EXPECT_STATUS(zoo_step(t, nan_loss, NULL, 0, &loss), ZOO_ITERATION_FAILED, "base point");
    EXPECT_STATUS(zoo_evaluate(t, failing_loss, NULL, NULL), ZOO_NULL_POINTER, "loss");
    EXPECT(loss == -1.0);
    EXPECT(same(before, take(t)));

    /* The trainer works after aborted iterations, exactly as an untouched one. */
    zoo_trainer *fresh = new_trainer("estimator=rge-forward q=4 optimizer=adam lr=0.05 threads=2");
    EXPECT(zoo_step(fresh, good_loss, NULL, 0, NULL) == ZOO_OK);
    EXPECT(zoo_step(fresh, good_loss, NULL, 0, NULL) == ZOO_OK);
    EXPECT(zoo_step(t, good_loss, NULL, ZOO_THREADSAFE, &loss) == ZOO_OK && isfinite(loss));
    EXPECT(same(take(fresh), take(t)));
    zoo_trainer_free(fresh);

    EXPECT(zoo_trainer_set(t, "nonfinite", "error") == ZOO_OK);
    before = take(t);
    EXPECT_STATUS(zoo_step(t, nan_loss, NULL, 0, &loss), ZOO_NONFINITE_LOSS, "non-finite");
    EXPECT(same(before, take(t)));

    inside_results r = {0};
    EXPECT(zoo_step(t, misuse_inside, &r, 0, NULL) == ZOO_OK);
    EXPECT(r.seen == 5);
    EXPECT(r.null_candidate == ZOO_NULL_POINTER);
    EXPECT(r.short_x == ZOO_BAD_SIZE);
    EXPECT(r.short_y == ZOO_BAD_SIZE);
    EXPECT(r.short_params == ZOO_BAD_SIZE);
    EXPECT(r.null_out == ZOO_NULL_POINTER);
    zoo_trainer_free(t);
}

static void test_ask_tell_order(void) {
    zoo_trainer *t = new_trainer("estimator=rge-forward q=2 lr=0.1");
    snapshot before = take(t);
    uint64_t id = 0, ids[8];
    size_t count = 0;
    int32_t updated = -1;
    EXPECT_STATUS(zoo_tell(t, 1, 0.5, &updated), ZOO_BAD_CANDIDATE, "no iteration is open");
    EXPECT_STATUS(zoo_ask(NULL, &id), ZOO_NULL_POINTER, "trainer");
    EXPECT_STATUS(zoo_ask(t, NULL), ZOO_NULL_POINTER, "id");
    EXPECT(zoo_ask(t, &id) == ZOO_OK);
    EXPECT(zoo_ask_batch(t, ids, 8, &count) == ZOO_OK && count == 2);
    uint64_t held = 12345;
    EXPECT(zoo_ask(t, &held) == ZOO_NO_CANDIDATE && held == 12345);
    count = 99;
    EXPECT(zoo_ask_batch(t, ids + 2, 8, &count) == ZOO_NO_CANDIDATE && count == 99);
    EXPECT_STATUS(zoo_ask_batch(t, ids, 0, &count), ZOO_INVALID_ARGUMENT, "max is 0");
    EXPECT_STATUS(zoo_ask_batch(t, NULL, 8, &count), ZOO_NULL_POINTER, "ids");

    const double x[2] = {0.5, 0.5};
    double y[1], params[NPARAMS];
    EXPECT_STATUS(zoo_forward(t, id ^ 0xFFFF, x, 2, y, 1), ZOO_BAD_CANDIDATE, "unknown");
    EXPECT_STATUS(zoo_forward(t, id, x, 1, y, 1), ZOO_BAD_SIZE, "inputs");
    EXPECT_STATUS(zoo_forward_batch(t, id, x, 2, 1, NULL, 1), ZOO_NULL_POINTER, "y");
    EXPECT_STATUS(zoo_candidate_params(t, id, params, NPARAMS + 2), ZOO_BAD_SIZE, "expected length 17");
    EXPECT(zoo_forward(t, id, x, 2, y, 1) == ZOO_OK);

    /* Many candidates in one call: each gets what its own zoo_forward_batch gives. */
    {
        const uint64_t both[2] = {ids[0], ids[1]}, twice[2] = {ids[0], ids[0]};
        const double xs[4] = {0.5, 0.5, -0.25, 0.75};
        double many[2] = {0, 0}, one[1], other[1];
        EXPECT(zoo_forward_many(t, both, 2, xs, 4, 0, 1, many, 2) == ZOO_OK);
        EXPECT(zoo_forward_batch(t, ids[0], xs, 2, 1, one, 1) == ZOO_OK);
        EXPECT(zoo_forward_batch(t, ids[1], xs + 2, 2, 1, other, 1) == ZOO_OK);
        EXPECT(memcmp(&many[0], one, sizeof one) == 0 && memcmp(&many[1], other, sizeof other) == 0);
        EXPECT(zoo_forward_many(t, both, 2, xs, 2, 1, 1, many, 2) == ZOO_OK);
        EXPECT(zoo_forward_batch(t, ids[1], xs, 2, 1, other, 1) == ZOO_OK);
        EXPECT(memcmp(&many[0], one, sizeof one) == 0 && memcmp(&many[1], other, sizeof other) == 0);
        EXPECT_STATUS(zoo_forward_many(NULL, both, 2, xs, 4, 0, 1, many, 2), ZOO_NULL_POINTER, "trainer");
        EXPECT_STATUS(zoo_forward_many(t, NULL, 2, xs, 4, 0, 1, many, 2), ZOO_NULL_POINTER, "ids");
        EXPECT_STATUS(zoo_forward_many(t, both, 2, xs, 4, 0, 1, NULL, 2), ZOO_NULL_POINTER, "y");
        EXPECT_STATUS(zoo_forward_many(t, both, 0, xs, 4, 0, 1, many, 2), ZOO_INVALID_ARGUMENT, "count is 0");
        EXPECT_STATUS(zoo_forward_many(t, both, 2, xs, 4, 2, 1, many, 2), ZOO_INVALID_ARGUMENT, "shared_inputs");
        EXPECT_STATUS(zoo_forward_many(t, both, 2, xs, 3, 0, 1, many, 2), ZOO_BAD_SIZE, "inputs");
        EXPECT_STATUS(zoo_forward_many(t, both, 2, xs, 2, 0, 1, many, 2), ZOO_BAD_SIZE, "inputs");
        EXPECT_STATUS(zoo_forward_many(t, both, 2, xs, 4, 0, 1, many, 1), ZOO_BAD_SIZE, "outputs");
        EXPECT_STATUS(zoo_forward_many(t, both, 2, xs, 4, 0, SIZE_MAX, many, 2), ZOO_OUT_OF_MEMORY, "overflows");
        EXPECT_STATUS(zoo_forward_many(t, twice, 2, xs, 4, 0, 1, many, 2), ZOO_BAD_CANDIDATE, "twice");
        const uint64_t unknown[2] = {ids[0], ids[1] ^ 0xFFFF};
        EXPECT_STATUS(zoo_forward_many(t, unknown, 2, xs, 4, 0, 1, many, 2), ZOO_BAD_CANDIDATE, "unknown");
    }
    EXPECT_STATUS(zoo_trainer_set(t, "lr", "0.2"), ZOO_BAD_STATE, "outstanding");
    EXPECT_STATUS(zoo_trainer_set_params(t, before.params, NPARAMS), ZOO_BAD_STATE, "outstanding");
    EXPECT_STATUS(zoo_step(t, good_loss, NULL, 0, NULL), ZOO_BAD_STATE, "outstanding");

    EXPECT(zoo_tell(t, id, 1.0, &updated) == ZOO_OK && updated == 0);
    EXPECT_STATUS(zoo_tell(t, id, 2.0, &updated), ZOO_BAD_CANDIDATE, "already told");
    EXPECT_STATUS(zoo_tell(NULL, ids[0], 2.0, &updated), ZOO_NULL_POINTER, "trainer");
    EXPECT(same(before, take(t)));

    /* Aborting makes every id of the iteration stale; nothing else changes. */
    EXPECT(zoo_abort_iteration(t) == ZOO_OK);
    EXPECT_STATUS(zoo_tell(t, ids[0], 1.0, NULL), ZOO_BAD_CANDIDATE, "no iteration is open");
    EXPECT(same(before, take(t)));
    uint64_t first = 0;
    EXPECT(zoo_ask(t, &first) == ZOO_OK);
    EXPECT_STATUS(zoo_tell(t, ids[0], 1.0, NULL), ZOO_BAD_CANDIDATE, "stale");

    /* Complete the reopened iteration; its ids are then stale too. */
    EXPECT(zoo_ask_batch(t, ids, 8, &count) == ZOO_OK && count == 2);
    EXPECT(zoo_tell(t, ids[1], 0.9, &updated) == ZOO_OK && updated == 0);
    EXPECT(zoo_tell(t, first, 1.0, &updated) == ZOO_OK && updated == 0);
    EXPECT(zoo_tell(t, ids[0], 1.1, &updated) == ZOO_OK && updated == 1);
    EXPECT_STATUS(zoo_tell(t, ids[0], 1.1, &updated), ZOO_BAD_CANDIDATE, "no iteration is open");
    snapshot after = take(t);
    EXPECT(after.iteration == 1 && memcmp(after.params, before.params, sizeof after.params) != 0);
    EXPECT(zoo_ask(t, &id) == ZOO_OK);
    EXPECT_STATUS(zoo_candidate_params(t, first, params, NPARAMS), ZOO_BAD_CANDIDATE, "stale");

    /* A non-finite tell under nonfinite=error aborts the iteration. */
    EXPECT(zoo_abort_iteration(t) == ZOO_OK);
    EXPECT(zoo_trainer_set(t, "nonfinite", "error") == ZOO_OK);
    EXPECT(zoo_ask(t, &id) == ZOO_OK);
    EXPECT_STATUS(zoo_tell(t, id, INFINITY, NULL), ZOO_NONFINITE_LOSS, "non-finite");
    EXPECT(same(after, take(t)));
    EXPECT(zoo_abort_iteration(NULL) == ZOO_NULL_POINTER);
    zoo_trainer_free(t);
}

static void test_forced_panic(void) {
    zoo_trainer *t = new_trainer("");
    snapshot before = take(t);
    uint64_t k = 99;
    zoo_debug_panic_next_call();
    EXPECT_STATUS(zoo_trainer_iteration(t, &k), ZOO_PANIC, "panic");
    EXPECT(k == 99);
    EXPECT(zoo_trainer_iteration(t, &k) == ZOO_OK && k == 0);
    zoo_debug_panic_next_call();
    EXPECT_STATUS(zoo_step(t, good_loss, NULL, 0, NULL), ZOO_PANIC, "panic");
    EXPECT(same(before, take(t)));
    EXPECT(zoo_step(t, good_loss, NULL, 0, NULL) == ZOO_OK);
    zoo_trainer_free(t);
}

/* Dataset mode: the black box sees the outputs of 3 rows, target 0.5. */
static int32_t outputs_loss(void *userdata, const double *y, size_t ny, double *loss) {
    (void)userdata;
    double sum = 0;
    for (size_t i = 0; i < ny; i++) sum += (y[i] - 0.5) * (y[i] - 0.5);
    *loss = sum / ny;
    return 0;
}

static int32_t outputs_adjoint(void *userdata, const double *y, size_t ny, double *loss, double *grad_y) {
    int *mode = userdata;
    outputs_loss(NULL, y, ny, loss);
    for (size_t i = 0; i < ny; i++) grad_y[i] = 2 * (y[i] - 0.5) / ny;
    if (*mode == 1) grad_y[1] = NAN;
    return *mode == 2 ? 5 : 0;
}

static void test_dataset_mode(void) {
    zoo_trainer *t = new_trainer("q=8 optimizer=adam lr=0.05");
    const double x[6] = {0.1, 0.2, -0.3, 0.4, 0.9, -0.8};
    snapshot before = take(t);
    double loss = -1;
    int mode = 0;
    EXPECT_STATUS(zoo_step_outputs(NULL, x, 6, 3, outputs_loss, NULL, &loss), ZOO_NULL_POINTER, "trainer");
    EXPECT_STATUS(zoo_step_outputs(t, NULL, 6, 3, outputs_loss, NULL, &loss), ZOO_NULL_POINTER, "x");
    EXPECT_STATUS(zoo_step_outputs(t, x, 6, 3, NULL, NULL, &loss), ZOO_NULL_POINTER, "loss_fn");
    EXPECT_STATUS(zoo_step_outputs(t, x, 5, 3, outputs_loss, NULL, &loss), ZOO_BAD_SIZE, "inputs");
    EXPECT_STATUS(zoo_step_adjoint(t, x, 6, 3, NULL, &mode, &loss), ZOO_NULL_POINTER, "adjoint_fn");
    mode = 1;
    EXPECT_STATUS(zoo_step_adjoint(t, x, 6, 3, outputs_adjoint, &mode, &loss), ZOO_INVALID_ARGUMENT, "[1]");
    mode = 2;
    EXPECT_STATUS(zoo_step_adjoint(t, x, 6, 3, outputs_adjoint, &mode, &loss), ZOO_CALLBACK_FAILED, "returned 5");
    EXPECT(loss == -1 && same(before, take(t)));
    double first = 0, last = 0;
    mode = 0;
    for (int k = 0; k < 60; k++) {
        EXPECT(zoo_step_outputs(t, x, 6, 3, outputs_loss, NULL, &last) == ZOO_OK);
        if (k == 0) first = last;
    }
    EXPECT(last < 0.1 * first);
    for (int k = 0; k < 20; k++) EXPECT(zoo_step_adjoint(t, x, 6, 3, outputs_adjoint, &mode, &last) == ZOO_OK);
    double evaluations = 0;
    EXPECT(zoo_trainer_metric(t, "evaluations", &evaluations) == ZOO_OK && evaluations == 1);
    zoo_trainer_free(t);
}

/* Per-row losses of the same black box: row i has one output. */
static int32_t row_losses(void *userdata, const double *y, size_t ny, double *losses, size_t nrows) {
    int *mode = userdata;
    for (size_t i = 0; i < nrows && i < ny; i++) losses[i] = (y[i] - 0.5) * (y[i] - 0.5) / nrows;
    if (mode && *mode == 1) losses[1] = NAN;
    return mode && *mode == 2 ? 7 : 0;
}

static void test_dataset_ask_tell(void) {
    const double x[6] = {0.1, 0.2, -0.3, 0.4, 0.9, -0.8};
    const char *options = "estimator=cge-central lr=0.05";
    zoo_trainer *t = new_trainer(options), *reference = new_trainer(options);
    snapshot before = take(t);
    double y[3], losses[3], loss = -1;
    uint64_t id = 0;
    int32_t updated = -1;
    int mode = 0;

    /* Per-sample callback: errors first, then a run to compare with. */
    EXPECT_STATUS(zoo_step_output_samples(t, x, 6, 3, NULL, NULL, &loss), ZOO_NULL_POINTER, "losses_fn");
    EXPECT_STATUS(zoo_step_output_samples(t, x, 6, 0, row_losses, NULL, &loss), ZOO_INVALID_ARGUMENT, "no rows");
    mode = 2;
    EXPECT_STATUS(zoo_step_output_samples(t, x, 6, 3, row_losses, &mode, &loss), ZOO_CALLBACK_FAILED, "returned 7");
    mode = 1;
    EXPECT_STATUS(zoo_step_output_samples(t, x, 6, 3, row_losses, &mode, &loss), ZOO_ITERATION_FAILED, "batch row 1");
    EXPECT(loss == -1 && same(before, take(t)));

    /* The batch for ask/tell. */
    EXPECT_STATUS(zoo_trainer_set_batch(NULL, x, 6, 3, 1), ZOO_NULL_POINTER, "trainer");
    EXPECT_STATUS(zoo_trainer_set_batch(t, NULL, 6, 3, 1), ZOO_NULL_POINTER, "x");
    EXPECT_STATUS(zoo_trainer_set_batch(t, x, 5, 3, 1), ZOO_BAD_SIZE, "batch inputs");
    EXPECT_STATUS(zoo_trainer_set_batch(t, x, 6, 3, 2), ZOO_INVALID_ARGUMENT, "per_sample");
    EXPECT_STATUS(zoo_candidate_outputs(t, 1, y, 3), ZOO_BAD_CANDIDATE, "no iteration is open");
    EXPECT(zoo_ask(t, &id) == ZOO_OK);
    EXPECT_STATUS(zoo_candidate_outputs(t, id, y, 3), ZOO_BAD_STATE, "set_batch");
    EXPECT_STATUS(zoo_trainer_set_batch(t, x, 6, 3, 1), ZOO_BAD_STATE, "outstanding");
    EXPECT(zoo_abort_iteration(t) == ZOO_OK);
    EXPECT(zoo_trainer_set_batch(t, x, 6, 3, 1) == ZOO_OK);

    /* ask/tell with per-row losses, told in reverse, equals the callback. */
    size_t count = 0;
    EXPECT(zoo_trainer_num_candidates(t, &count) == ZOO_OK && count == 2);
    for (int k = 0; k < 5; k++) {
        uint64_t ids[2];
        double told[2][3];
        size_t got = 0;
        EXPECT(zoo_ask_batch(t, ids, 2, &got) == ZOO_OK && got == 2);
        for (int c = 0; c < 2; c++) {
            EXPECT(zoo_candidate_outputs(t, ids[c], y, 3) == ZOO_OK);
            row_losses(NULL, y, 3, told[c], 3);
        }
        if (k == 0) {
            double params[NPARAMS];
            EXPECT_STATUS(zoo_candidate_outputs(t, ids[0], y, 2), ZOO_BAD_SIZE, "candidate outputs");
            EXPECT_STATUS(zoo_candidate_params(t, ids[0], params, NPARAMS), ZOO_BAD_STATE, "candidate_outputs");
            EXPECT_STATUS(zoo_tell(t, ids[0], 1.0, &updated), ZOO_BAD_STATE, "tell_samples");
            EXPECT_STATUS(zoo_tell_samples(t, ids[0], told[0], 2, &updated), ZOO_BAD_SIZE, "one per batch row");
            EXPECT_STATUS(zoo_tell_samples(t, ids[0], NULL, 3, &updated), ZOO_NULL_POINTER, "losses");
        }
        EXPECT(zoo_tell_samples(t, ids[1], told[1], 3, &updated) == ZOO_OK && updated == 0);
        EXPECT(zoo_tell_samples(t, ids[0], told[0], 3, &updated) == ZOO_OK && updated == 1);
        EXPECT(zoo_step_output_samples(reference, x, 6, 3, row_losses, NULL, &loss) == ZOO_OK);
    }
    double a[NPARAMS], b[NPARAMS];
    EXPECT(zoo_trainer_get_params(t, a, NPARAMS) == ZOO_OK && zoo_trainer_get_params(reference, b, NPARAMS) == ZOO_OK);
    EXPECT(memcmp(a, b, sizeof a) == 0);
    EXPECT(zoo_trainer_clear_batch(NULL) == ZOO_NULL_POINTER);
    EXPECT(zoo_trainer_clear_batch(t) == ZOO_OK);
    EXPECT(zoo_ask(t, &id) == ZOO_OK);
    EXPECT_STATUS(zoo_tell_samples(t, id, losses, 3, &updated), ZOO_BAD_STATE, "per-sample");
    EXPECT_STATUS(zoo_trainer_clear_batch(t), ZOO_BAD_STATE, "outstanding");
    EXPECT(zoo_abort_iteration(t) == ZOO_OK);

    /* The data term of the mixed loss. */
    const double targets[3] = {0.5, 0.5, 0.5};
    before = take(t);
    EXPECT_STATUS(zoo_trainer_set_data_term(NULL, x, 6, targets, 3, 3, 1.0), ZOO_NULL_POINTER, "trainer");
    EXPECT_STATUS(zoo_trainer_set_data_term(t, x, 6, NULL, 3, 3, 1.0), ZOO_NULL_POINTER, "targets");
    EXPECT_STATUS(zoo_trainer_set_data_term(t, x, 6, targets, 2, 3, 1.0), ZOO_BAD_SIZE, "targets");
    EXPECT_STATUS(zoo_trainer_set_data_term(t, x, 4, targets, 3, 3, 1.0), ZOO_BAD_SIZE, "inputs");
    EXPECT_STATUS(zoo_trainer_set_data_term(t, x, 6, targets, 3, 3, -1.0), ZOO_INVALID_ARGUMENT, "weight");
    EXPECT_STATUS(zoo_trainer_set_data_term(t, x, 6, targets, 3, 3, NAN), ZOO_INVALID_ARGUMENT, "weight");
    double metric = 0;
    EXPECT(zoo_step_outputs(t, x, 6, 3, outputs_loss, NULL, &loss) == ZOO_OK);
    EXPECT(zoo_trainer_metric(t, "data_loss", &metric) == ZOO_OK && isnan(metric));
    EXPECT(zoo_trainer_set_data_term(t, x, 6, targets, 3, 3, 2.0) == ZOO_OK);
    EXPECT(zoo_step_outputs(t, x, 6, 3, outputs_loss, NULL, &loss) == ZOO_OK);
    /* Same rows, same targets: the data term is twice the black-box loss. */
    EXPECT(zoo_trainer_metric(t, "data_loss", &metric) == ZOO_OK && fabs(metric - 2 * loss) < 1e-5);
    EXPECT(zoo_trainer_clear_data_term(NULL) == ZOO_NULL_POINTER);
    EXPECT(zoo_trainer_clear_data_term(t) == ZOO_OK);
    EXPECT(zoo_step_outputs(t, x, 6, 3, outputs_loss, NULL, &loss) == ZOO_OK);
    EXPECT(zoo_trainer_metric(t, "data_loss", &metric) == ZOO_OK && isnan(metric));
    zoo_trainer_free(t);
    zoo_trainer_free(reference);
}

static void test_checkpoints(void) {
    char dir[] = "/tmp/zoo-misuse-XXXXXX", path[64], text[64], missing[96];
    if (!mkdtemp(dir)) abort();
    snprintf(path, sizeof path, "%s/t.safetensors", dir);
    snprintf(text, sizeof text, "%s/notes.txt", dir);
    snprintf(missing, sizeof missing, "%s/no/such/dir/t.safetensors", dir);
    FILE *f = fopen(text, "w");
    fputs("not a checkpoint", f);
    fclose(f);

    zoo_trainer *t = new_trainer("q=2 lr=0.1"), *loaded = NULL;
    zoo_model *model = NULL;
    EXPECT(zoo_step(t, good_loss, NULL, 0, NULL) == ZOO_OK);
    EXPECT_STATUS(zoo_trainer_save(NULL, path), ZOO_NULL_POINTER, "trainer");
    EXPECT_STATUS(zoo_trainer_save(t, NULL), ZOO_NULL_POINTER, "path");
    EXPECT_STATUS(zoo_trainer_save(t, ""), ZOO_INVALID_ARGUMENT, "empty");
    EXPECT_STATUS(zoo_trainer_save(t, missing), ZOO_IO_ERROR, "no/such/dir");
    uint64_t id = 0;
    EXPECT(zoo_ask(t, &id) == ZOO_OK);
    EXPECT_STATUS(zoo_trainer_save(t, path), ZOO_BAD_STATE, "save a checkpoint");
    EXPECT(zoo_abort_iteration(t) == ZOO_OK);
    EXPECT(zoo_trainer_save(t, path) == ZOO_OK);

    EXPECT_STATUS(zoo_trainer_load(path, NULL), ZOO_NULL_POINTER, "out");
    EXPECT_STATUS(zoo_trainer_load(NULL, &loaded), ZOO_NULL_POINTER, "path");
    EXPECT_STATUS(zoo_trainer_load(missing, &loaded), ZOO_IO_ERROR, "cannot read");
    EXPECT_STATUS(zoo_trainer_load(text, &loaded), ZOO_BAD_CHECKPOINT, "safetensors");
    EXPECT(loaded == NULL);
    EXPECT(zoo_trainer_load(path, &loaded) == ZOO_OK);
    snapshot a = take(t), b = take(loaded);
    EXPECT(same(a, b));
    zoo_trainer_free(loaded);

    /* A model checkpoint is no trainer checkpoint, and vice versa works. */
    EXPECT_STATUS(zoo_model_save(NULL, text), ZOO_NULL_POINTER, "model");
    EXPECT(zoo_trainer_copy_model(t, &model) == ZOO_OK);
    EXPECT(zoo_model_save(model, text) == ZOO_OK);
    zoo_model_free(model);
    model = NULL;
    EXPECT_STATUS(zoo_trainer_load(text, &loaded), ZOO_BAD_CHECKPOINT, "holds a model");
    EXPECT_STATUS(zoo_model_load(NULL, &model), ZOO_NULL_POINTER, "path");
    EXPECT(zoo_model_load(path, &model) == ZOO_OK && model != NULL);
    zoo_model_free(model);

    /* Restoring another architecture fails and changes nothing. */
    const size_t sizes[] = {2, 5, 1};
    zoo_model *other_model = NULL;
    zoo_trainer *other = NULL;
    EXPECT(zoo_model_new_mlp(sizes, 3, "tanh", 1, &other_model) == ZOO_OK);
    EXPECT(zoo_trainer_new(other_model, "q=3", &other) == ZOO_OK);
    zoo_model_free(other_model);
    double before[21], after[21];
    EXPECT(zoo_trainer_get_params(other, before, 21) == ZOO_OK);
    EXPECT_STATUS(zoo_trainer_restore(other, path), ZOO_BAD_CHECKPOINT, "does not match");
    EXPECT_STATUS(zoo_trainer_restore(NULL, path), ZOO_NULL_POINTER, "trainer");
    EXPECT(zoo_trainer_get_params(other, after, 21) == ZOO_OK && memcmp(before, after, sizeof before) == 0);
    zoo_trainer_free(other);

    /* A restored trainer continues as the saved one does. */
    zoo_trainer *fresh = new_trainer("q=7");
    EXPECT(zoo_trainer_restore(fresh, path) == ZOO_OK);
    EXPECT(zoo_step(t, good_loss, NULL, 0, NULL) == ZOO_OK && zoo_step(fresh, good_loss, NULL, 0, NULL) == ZOO_OK);
    a = take(t), b = take(fresh);
    EXPECT(same(a, b));
    zoo_trainer_free(fresh);
    zoo_trainer_free(t);
    remove(path);
    remove(text);
    rmdir(dir);
}

/* Faults from C: every 7th call returns an error code, every 5th NaN,
 * every 17th +inf. */
static int32_t flaky_loss(void *userdata, zoo_candidate *candidate, double *loss) {
    unsigned *calls = userdata;
    unsigned call = (*calls)++;
    if (call % 7 == 3) return 42;
    good_loss(NULL, candidate, loss);
    if (call % 13 == 1) *loss = NAN;
    if (call % 17 == 2) *loss = INFINITY;
    return 0;
}

static void test_faults(void) {
    for (int policy = 0; policy < 2; policy++) {
        zoo_trainer *t = new_trainer(policy ? "q=3 lr=0.05 nonfinite=error" : "q=3 lr=0.05");
        unsigned calls = 0;
        int completed = 0, failed = 0;
        for (int k = 0; k < 60; k++) {
            snapshot before = take(t);
            zoo_status status = zoo_step(t, flaky_loss, &calls, 0, NULL);
            if (status == ZOO_OK) {
                completed++;
            } else {
                failed++;
                EXPECT(status == ZOO_CALLBACK_FAILED || status == ZOO_NONFINITE_LOSS || status == ZOO_ITERATION_FAILED);
                EXPECT(same(before, take(t)));
            }
            snapshot now = take(t);
            for (int i = 0; i < NPARAMS; i++) EXPECT(isfinite(now.params[i]));
        }
        EXPECT(completed > 0 && failed > 0 && completed + failed == 60);
        zoo_trainer_free(t);
    }
}

static void test_polynomial_models(void) {
    zoo_model *model = NULL;
    EXPECT_STATUS(zoo_model_new_polynomial(3, 2, 3, 1, NULL), ZOO_NULL_POINTER, "out");
    EXPECT_STATUS(zoo_model_new_polynomial(0, 2, 3, 1, &model), ZOO_INVALID_ARGUMENT, "inputs");
    EXPECT_STATUS(zoo_model_new_polynomial(3, 0, 3, 1, &model), ZOO_INVALID_ARGUMENT, "degree");
    EXPECT_STATUS(zoo_model_new_polynomial(200, 4, 1, 1, &model), ZOO_INVALID_ARGUMENT, "monomials");
    EXPECT(model == NULL);
    EXPECT(zoo_model_new_polynomial(3, 2, 3, 1, &model) == ZOO_OK);
    size_t n = 0;
    EXPECT(zoo_model_num_params(model, &n) == ZOO_OK && n == 30);
    /* y = W m(x) + b with m = x, y, z, x^2, xy, xz, y^2, yz, z^2. */
    double params[30] = {0}, x[3] = {2, -1, 3}, y[3];
    params[0 * 9 + 5] = 1.5;  /* 1.5 xz in output 0 */
    params[1 * 9 + 3] = -2;   /* -2 x^2 in output 1 */
    params[27 + 2] = 0.25;    /* constant in output 2 */
    EXPECT(zoo_model_set_params(model, params, 30) == ZOO_OK);
    EXPECT(zoo_model_forward(model, x, 3, y, 3) == ZOO_OK);
    EXPECT(y[0] == 9 && y[1] == -8 && y[2] == 0.25);

    zoo_trainer *t = NULL;
    EXPECT(zoo_trainer_new(model, "q=2", &t) == ZOO_OK);
    size_t pruned = 0;
    EXPECT_STATUS(zoo_trainer_threshold(NULL, 0.1, 1, &pruned), ZOO_NULL_POINTER, "trainer");
    EXPECT_STATUS(zoo_trainer_threshold(t, -1, 1, &pruned), ZOO_INVALID_ARGUMENT, "threshold");
    EXPECT_STATUS(zoo_trainer_threshold(t, 0.1, 2, &pruned), ZOO_INVALID_ARGUMENT, "include_biases");
    EXPECT_STATUS(zoo_trainer_threshold(t, 10, 1, &pruned), ZOO_INVALID_ARGUMENT, "every parameter");
    EXPECT(zoo_trainer_threshold(t, 0.1, 0, &pruned) == ZOO_OK && pruned == 25); /* 27 weights, 2 kept */
    EXPECT(zoo_trainer_threshold(t, 0.1, 1, NULL) == ZOO_OK);
    EXPECT(zoo_trainer_num_active(t, &n) == ZOO_OK && n == 3);
    zoo_trainer_free(t);
    zoo_model_free(model);
}

static void test_sparsity(void) {
    zoo_model *model = new_model();
    uint8_t mask[NPARAMS], bad[NPARAMS];
    double before[NPARAMS], after[NPARAMS];
    EXPECT(zoo_model_get_params(model, before, NPARAMS) == ZOO_OK);
    EXPECT_STATUS(zoo_model_prune(model, "snip", 0.5, 0), ZOO_INVALID_OPTION, "magnitude-global");
    EXPECT_STATUS(zoo_model_prune(model, "magnitude", 1.5, 0), ZOO_INVALID_ARGUMENT, "sparsity 1.5");
    EXPECT_STATUS(zoo_model_prune(model, NULL, 0.5, 0), ZOO_NULL_POINTER, "method");
    EXPECT_STATUS(zoo_model_get_mask(model, mask, NPARAMS - 1), ZOO_BAD_SIZE, "mask");
    memset(bad, 1, sizeof bad);
    bad[4] = 7;
    EXPECT_STATUS(zoo_model_set_mask(model, bad, NPARAMS), ZOO_INVALID_ARGUMENT, "mask[4] is 7");
    EXPECT(zoo_model_get_params(model, after, NPARAMS) == ZOO_OK && memcmp(before, after, sizeof before) == 0);

    const double ratios[2] = {0.5, 0.5}, bad_ratios[2] = {0.5, 2.0};
    EXPECT_STATUS(zoo_model_prune_layers(model, "magnitude", ratios, 3, 0), ZOO_BAD_SIZE, "layer sparsities");
    EXPECT_STATUS(zoo_model_prune_layers(model, "magnitude", bad_ratios, 2, 0), ZOO_INVALID_ARGUMENT, "sparsity 2");
    EXPECT_STATUS(zoo_model_prune_layers(model, "magnitude", NULL, 2, 0), ZOO_NULL_POINTER, "sparsities");
    EXPECT(zoo_model_get_params(model, after, NPARAMS) == ZOO_OK && memcmp(before, after, sizeof before) == 0);
    EXPECT(zoo_model_prune_layers(model, "magnitude", ratios, 2, 0) == ZOO_OK);
    size_t active = 0;
    EXPECT(zoo_model_num_active(model, &active) == ZOO_OK && active == NPARAMS - 4 - 2);
    EXPECT(zoo_model_get_mask(model, mask, NPARAMS) == ZOO_OK);
    EXPECT(zoo_model_get_params(model, after, NPARAMS) == ZOO_OK);
    int zeros_ok = 1;
    for (int i = 0; i < NPARAMS; i++)
        if (!mask[i] && after[i] != 0.0) zeros_ok = 0;
    EXPECT(zeros_ok);

    zoo_trainer *t = NULL;
    EXPECT(zoo_trainer_new(model, "estimator=cge-central lr=0.05", &t) == ZOO_OK);
    size_t candidates = 0;
    EXPECT(zoo_trainer_num_candidates(t, &candidates) == ZOO_OK && candidates == 2 * active);
    for (int k = 0; k < 20; k++) EXPECT(zoo_step(t, good_loss, NULL, 0, NULL) == ZOO_OK);
    double trained[NPARAMS];
    EXPECT(zoo_trainer_get_params(t, trained, NPARAMS) == ZOO_OK);
    zeros_ok = 1;
    for (int i = 0; i < NPARAMS; i++)
        if (!mask[i] && trained[i] != 0.0) zeros_ok = 0;
    EXPECT(zeros_ok); /* pruned weights stay exactly zero through training */

    EXPECT_STATUS(zoo_trainer_begin_zo_grasp(t, 0.8, 0.01, 2), ZOO_INVALID_ARGUMENT, "global is 2");
    EXPECT_STATUS(zoo_trainer_begin_zo_grasp(t, 0.8, -1.0, 0), ZOO_INVALID_ARGUMENT, "mu_h");
    EXPECT(zoo_trainer_begin_zo_grasp(t, 0.75, 0.01, 0) == ZOO_OK);
    EXPECT_STATUS(zoo_trainer_prune(t, "random", 0.9, 1), ZOO_BAD_STATE, "ZO-GraSP");
    uint64_t k0 = 0, k1 = 0;
    EXPECT(zoo_trainer_iteration(t, &k0) == ZOO_OK);
    EXPECT(zoo_step(t, good_loss, NULL, 0, NULL) == ZOO_OK);
    EXPECT(zoo_step(t, good_loss, NULL, 0, NULL) == ZOO_OK);
    EXPECT(zoo_trainer_iteration(t, &k1) == ZOO_OK && k1 == k0);
    size_t after_grasp = 0;
    EXPECT(zoo_trainer_num_active(t, &after_grasp) == ZOO_OK && after_grasp == NPARAMS - 6 - 3);
    uint8_t tmask[NPARAMS];
    EXPECT(zoo_trainer_get_mask(t, tmask, NPARAMS) == ZOO_OK);
    memset(bad, 0, sizeof bad);
    EXPECT_STATUS(zoo_trainer_set_mask(t, bad, NPARAMS), ZOO_INVALID_ARGUMENT, "no active");
    EXPECT_STATUS(zoo_trainer_get_mask(NULL, tmask, NPARAMS), ZOO_NULL_POINTER, "trainer");
    EXPECT(zoo_trainer_get_mask(t, mask, NPARAMS) == ZOO_OK && memcmp(mask, tmask, sizeof mask) == 0);
    zoo_trainer_free(t);
    zoo_model_free(model);
}

int main(void) {
    test_mu_scan();
    test_library_functions();
    test_model();
    test_trainer_options();
    test_step_failures();
    test_ask_tell_order();
    test_forced_panic();
    test_sparsity();
    test_dataset_mode();
    test_dataset_ask_tell();
    test_checkpoints();
    test_faults();
    test_polynomial_models();
    printf("%d passed, %d failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}
