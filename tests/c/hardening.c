/*
 * Hardening of the C ABI, checked from C: the busy rule (calls on a
 * trainer from inside its own callbacks or from a second thread are
 * ZOO_BUSY and change nothing; a busy trainer is not freed), the
 * candidate lifetime rule (a zoo_candidate* kept beyond its callback is
 * ZOO_BAD_CANDIDATE), host sizes whose products overflow or cannot be
 * allocated (ZOO_OUT_OF_MEMORY, never an abort), the cap on `threads`,
 * options given twice or quoted, and zoo_ask_batch's edge cases.
 * Ends with "N passed, N failed".
 */
#define _POSIX_C_SOURCE 200809L

#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "zoo.h"

/* Options of the trainers whose steps are compared: 4 candidates. */
#define OPTIONS "estimator=rge-central q=2 lr=0.1 seed=3"
#define MESSAGE_MAX 1024
#define HUGE_ROWS (((size_t)1 << 63) | 1) /* times 2 (or any even size) wraps */

/* `message` contains `needle`; `what` says where the message came from. */
#define EXPECT_MESSAGE(message, needle, what) expect_message((message), (needle), (what), __LINE__)

static void expect_message(const char *message, const char *needle, const char *what, int line) {
    if (strstr(message, needle) != NULL) {
        passed++;
        return;
    }
    failed++;
    fprintf(stderr, "FAIL line %d: %s: message \"%s\" does not contain \"%s\"\n", line, what, message, needle);
}

static void copy_message(char *to) {
    strncpy(to, zoo_last_error(), MESSAGE_MAX - 1);
    to[MESSAGE_MAX - 1] = '\0';
}

/* Makes the thread's last error something else, so that a message read
 * afterwards comes from the call in between. */
static void reset_last_error(void) {
    if (zoo_model_num_params(NULL, NULL) != ZOO_NULL_POINTER) abort();
}

static void get_params(const zoo_trainer *t, double params[NPARAMS]) {
    if (zoo_trainer_get_params(t, params, NPARAMS) != ZOO_OK) abort();
}

static uint64_t iteration_of(const zoo_trainer *t) {
    uint64_t k = 0;
    if (zoo_trainer_iteration(t, &k) != ZOO_OK) abort();
    return k;
}

static void forward_loss(zoo_candidate *candidate, double *loss) {
    const double x[2] = {0.3, -0.7};
    double y[1] = {0};
    if (zoo_candidate_forward(candidate, x, 2, y, 1) != ZOO_OK) abort();
    *loss = (y[0] - 1.0) * (y[0] - 1.0);
}

static int32_t plain_loss(void *userdata, zoo_candidate *candidate, double *loss) {
    (void)userdata;
    forward_loss(candidate, loss);
    return 0;
}

static char tmpdir[] = "/tmp/zoo-hardening-XXXXXX";
static char checkpoint_path[256]; /* a valid checkpoint, restorable into OPTIONS trainers */
static char never_written[256];   /* saved to only from inside a callback: must not exist */

/* ---- 1. the busy rule, nested calls from a zoo_step callback ----------- */

#define MAX_CALLS 16

/* What a callback tries on its own trainer, and what came back. */
typedef struct {
    zoo_trainer *trainer;
    zoo_status (*attempt)(zoo_trainer *);
    int calls;
    zoo_status status[MAX_CALLS];
    char message[MAX_CALLS][MESSAGE_MAX];
} nested;

static int32_t nesting_loss(void *userdata, zoo_candidate *candidate, double *loss) {
    nested *n = userdata;
    reset_last_error();
    zoo_status status = n->attempt(n->trainer);
    if (n->calls < MAX_CALLS) {
        n->status[n->calls] = status;
        copy_message(n->message[n->calls]);
    }
    n->calls++;
    forward_loss(candidate, loss);
    return 0;
}

static zoo_status attempt_step(zoo_trainer *t) { return zoo_step(t, plain_loss, NULL, 0, NULL); }

static zoo_status attempt_ask(zoo_trainer *t) {
    uint64_t id = 0;
    return zoo_ask(t, &id);
}

static zoo_status attempt_tell(zoo_trainer *t) { return zoo_tell(t, 1, 0.5, NULL); }

static zoo_status attempt_set(zoo_trainer *t) { return zoo_trainer_set(t, "lr", "5"); }

static zoo_status attempt_set_params(zoo_trainer *t) {
    double params[NPARAMS];
    for (int i = 0; i < NPARAMS; i++) params[i] = 9.0;
    return zoo_trainer_set_params(t, params, NPARAMS);
}

static zoo_status attempt_set_mask(zoo_trainer *t) {
    uint8_t mask[NPARAMS];
    memset(mask, 1, sizeof mask);
    mask[0] = 0; /* a valid mask: only the busy rule refuses it */
    return zoo_trainer_set_mask(t, mask, NPARAMS);
}

static zoo_status attempt_save(zoo_trainer *t) { return zoo_trainer_save(t, never_written); }

static zoo_status attempt_restore(zoo_trainer *t) { return zoo_trainer_restore(t, checkpoint_path); }

static zoo_status attempt_get(zoo_trainer *t) {
    char value[64];
    return zoo_trainer_get(t, "lr", value, sizeof value);
}

static zoo_status attempt_get_params(zoo_trainer *t) {
    double params[NPARAMS];
    return zoo_trainer_get_params(t, params, NPARAMS);
}

static zoo_status attempt_free(zoo_trainer *t) {
    zoo_trainer_free(t);
    return ZOO_BUSY; /* void: the message says what happened */
}

/* Steps a trainer whose callback makes `attempt` on its own trainer; the
 * step must succeed with the weights of a plain step, the trainer must
 * stay usable, and every attempt must be refused as busy in zoo_step. */
static void check_nested(const char *call, zoo_status (*attempt)(zoo_trainer *)) {
    zoo_trainer *t = new_trainer(OPTIONS), *reference = new_trainer(OPTIONS);
    size_t candidates = 0;
    if (zoo_trainer_num_candidates(t, &candidates) != ZOO_OK) abort();
    nested n;
    memset(&n, 0, sizeof n);
    n.trainer = t;
    n.attempt = attempt;

    zoo_status outer = zoo_step(t, nesting_loss, &n, 0, NULL);
    if (outer != ZOO_OK) fprintf(stderr, "  (outer zoo_step with nested %s: %s)\n", call, zoo_last_error());
    EXPECT(outer == ZOO_OK);
    EXPECT(zoo_step(reference, plain_loss, NULL, 0, NULL) == ZOO_OK);
    double a[NPARAMS], b[NPARAMS];
    get_params(t, a);
    get_params(reference, b);
    EXPECT(memcmp(a, b, sizeof a) == 0); /* the refused call changed nothing */
    EXPECT(iteration_of(t) == 1);
    EXPECT(n.calls == (int)candidates && candidates == 4);

    char refused[96];
    snprintf(refused, sizeof refused, "%s refused", call);
    for (int i = 0; i < n.calls && i < MAX_CALLS; i++) {
        if (n.status[i] != ZOO_BUSY)
            fprintf(stderr, "  (nested %s returned %s: %s)\n", call, zoo_status_name(n.status[i]), n.message[i]);
        EXPECT(n.status[i] == ZOO_BUSY);
        EXPECT_MESSAGE(n.message[i], "refused", call);
        EXPECT_MESSAGE(n.message[i], refused, call);
        EXPECT_MESSAGE(n.message[i], "busy in zoo_step", call);
    }

    /* After the step the trainer takes calls again. */
    zoo_status after = zoo_step(t, plain_loss, NULL, 0, NULL);
    if (after != ZOO_OK) fprintf(stderr, "  (zoo_step after nested %s: %s)\n", call, zoo_last_error());
    EXPECT(after == ZOO_OK);
    EXPECT(iteration_of(t) == 2);
    zoo_trainer_free(t);
    zoo_trainer_free(reference);
}

/* Reads a callback may make: iteration, metric "iteration", num_params. */
typedef struct {
    zoo_trainer *trainer;
    int calls, all_ok;
    uint64_t iteration;
    double metric;
    size_t num_params;
    int metric_tried;
} reads;

static int32_t reading_loss(void *userdata, zoo_candidate *candidate, double *loss) {
    reads *r = userdata;
    uint64_t k = 99;
    double metric = -1;
    size_t np = 0;
    int ok = zoo_trainer_iteration(r->trainer, &k) == ZOO_OK && zoo_trainer_num_params(r->trainer, &np) == ZOO_OK;
    if (r->metric_tried) ok = ok && zoo_trainer_metric(r->trainer, "iteration", &metric) == ZOO_OK;
    if (!ok) fprintf(stderr, "  (a read inside a callback failed: %s)\n", zoo_last_error());
    if (r->calls == 0) {
        r->all_ok = ok;
        r->iteration = k;
        r->metric = metric;
        r->num_params = np;
    } else if (!ok || k != r->iteration || np != r->num_params ||
               (r->metric_tried && memcmp(&metric, &r->metric, sizeof metric) != 0)) {
        r->all_ok = 0;
    }
    r->calls++;
    forward_loss(candidate, loss);
    return 0;
}

static void test_reads_inside_a_callback(void) {
    zoo_trainer *t = new_trainer(OPTIONS);
    reads r;
    memset(&r, 0, sizeof r);
    r.trainer = t;
    /* First step: no iteration completed yet, so no metric. */
    EXPECT(zoo_step(t, reading_loss, &r, 0, NULL) == ZOO_OK);
    EXPECT(r.calls == 4 && r.all_ok && r.iteration == 0 && r.num_params == NPARAMS);

    memset(&r, 0, sizeof r);
    r.trainer = t;
    r.metric_tried = 1;
    EXPECT(zoo_step(t, reading_loss, &r, 0, NULL) == ZOO_OK);
    EXPECT(r.calls == 4 && r.all_ok);
    EXPECT(r.iteration == 1);          /* completed iterations */
    EXPECT(r.metric == 1.0);           /* metric "iteration" agrees */
    EXPECT(r.num_params == NPARAMS);

    double metric = 0;
    EXPECT(zoo_trainer_metric(t, "iteration", &metric) == ZOO_OK && metric == 2.0 && iteration_of(t) == 2);
    zoo_trainer_free(t);
}

/* ZOO_THREADSAFE with threads=2: a nested zoo_step from worker threads. */
typedef struct {
    zoo_trainer *trainer;
    pthread_mutex_t lock;
    int calls, busy, named;
} threadsafe_nested;

static int32_t threadsafe_nesting_loss(void *userdata, zoo_candidate *candidate, double *loss) {
    threadsafe_nested *n = userdata;
    zoo_status status = zoo_step(n->trainer, plain_loss, NULL, 0, NULL);
    int named = strstr(zoo_last_error(), "busy in zoo_step") != NULL; /* this thread's message */
    pthread_mutex_lock(&n->lock);
    n->calls++;
    n->busy += status == ZOO_BUSY;
    n->named += status == ZOO_BUSY && named;
    pthread_mutex_unlock(&n->lock);
    forward_loss(candidate, loss);
    return 0;
}

static void test_threadsafe_nested_step(void) {
    const char *options = "estimator=rge-central q=4 lr=0.1 seed=3 threads=2";
    zoo_trainer *t = new_trainer(options), *reference = new_trainer(options);
    threadsafe_nested n;
    memset(&n, 0, sizeof n);
    n.trainer = t;
    if (pthread_mutex_init(&n.lock, NULL) != 0) abort();
    EXPECT(zoo_step(t, threadsafe_nesting_loss, &n, ZOO_THREADSAFE, NULL) == ZOO_OK);
    EXPECT(zoo_step(reference, plain_loss, NULL, ZOO_THREADSAFE, NULL) == ZOO_OK);
    EXPECT(n.calls == 8);
    EXPECT(n.busy == n.calls);
    EXPECT(n.named == n.calls);
    double a[NPARAMS], b[NPARAMS];
    get_params(t, a);
    get_params(reference, b);
    EXPECT(memcmp(a, b, sizeof a) == 0);
    EXPECT(zoo_step(t, plain_loss, NULL, ZOO_THREADSAFE, NULL) == ZOO_OK && iteration_of(t) == 2);
    pthread_mutex_destroy(&n.lock);
    zoo_trainer_free(t);
    zoo_trainer_free(reference);
}

static void test_busy_rule(void) {
    /* A checkpoint to restore from: another trainer one step ahead, so a
     * restore that went through would change the weights. */
    zoo_trainer *source = new_trainer(OPTIONS);
    if (zoo_step(source, plain_loss, NULL, 0, NULL) != ZOO_OK) abort();
    EXPECT(zoo_trainer_save(source, checkpoint_path) == ZOO_OK);
    zoo_trainer_free(source);

    check_nested("zoo_step", attempt_step);
    check_nested("zoo_ask", attempt_ask); /* and no iteration is left open: the next step works */
    check_nested("zoo_tell", attempt_tell);
    check_nested("zoo_trainer_set", attempt_set);
    check_nested("zoo_trainer_set_params", attempt_set_params);
    check_nested("zoo_trainer_set_mask", attempt_set_mask);
    check_nested("zoo_trainer_save", attempt_save);
    EXPECT(access(never_written, F_OK) != 0);
    check_nested("zoo_trainer_restore", attempt_restore);
    check_nested("zoo_trainer_get", attempt_get);
    check_nested("zoo_trainer_get_params", attempt_get_params);
    /* zoo_trainer_free inside the callback frees nothing: the step goes on,
     * the trainer is stepped and freed afterwards (a use-after-free would
     * show under the sanitizer and valgrind runs of this program). */
    check_nested("zoo_trainer_free", attempt_free);

    test_reads_inside_a_callback();
    test_threadsafe_nested_step();

    /* zoo_ask inside a callback: after the step, a new ask/tell iteration
     * opens normally and no id of a phantom iteration is outstanding. */
    zoo_trainer *t = new_trainer(OPTIONS);
    nested n;
    memset(&n, 0, sizeof n);
    n.trainer = t;
    n.attempt = attempt_ask;
    EXPECT(zoo_step(t, nesting_loss, &n, 0, NULL) == ZOO_OK);
    EXPECT(zoo_step(t, plain_loss, NULL, 0, NULL) == ZOO_OK);
    uint64_t id = 0;
    EXPECT(zoo_ask(t, &id) == ZOO_OK);
    EXPECT(zoo_abort_iteration(t) == ZOO_OK);
    zoo_trainer_free(t);
}

/* ---- 2. the busy rule across two threads ---------------------------------- */

typedef struct {
    zoo_trainer *trainer;
    pthread_mutex_t lock;
    pthread_cond_t changed;
    int entered;  /* a callback of thread A's step is running */
    int released; /* thread B has made its checks */
    zoo_status result;
} rendezvous;

static int32_t waiting_loss(void *userdata, zoo_candidate *candidate, double *loss) {
    rendezvous *r = userdata;
    pthread_mutex_lock(&r->lock);
    r->entered = 1;
    pthread_cond_broadcast(&r->changed);
    while (!r->released) pthread_cond_wait(&r->changed, &r->lock);
    pthread_mutex_unlock(&r->lock);
    forward_loss(candidate, loss);
    return 0;
}

static void *stepper(void *arg) {
    rendezvous *r = arg;
    r->result = zoo_step(r->trainer, waiting_loss, r, 0, NULL);
    return NULL;
}

static void test_two_threads(void) {
    const char *options = "estimator=rge-central q=1 lr=0.1 seed=3";
    zoo_trainer *t = new_trainer(options), *reference = new_trainer(options);
    char lr_before[64] = "", lr_after[64] = "";
    EXPECT(zoo_trainer_get(t, "lr", lr_before, sizeof lr_before) == ZOO_OK);

    rendezvous r;
    memset(&r, 0, sizeof r);
    r.trainer = t;
    r.result = ZOO_PANIC;
    if (pthread_mutex_init(&r.lock, NULL) != 0 || pthread_cond_init(&r.changed, NULL) != 0) abort();
    pthread_t a;
    if (pthread_create(&a, NULL, stepper, &r) != 0) abort();

    /* Thread B (this one): wait until A is inside its callback. */
    pthread_mutex_lock(&r.lock);
    while (!r.entered) pthread_cond_wait(&r.changed, &r.lock);
    pthread_mutex_unlock(&r.lock);

    EXPECT_STATUS(zoo_step(t, plain_loss, NULL, 0, NULL), ZOO_BUSY, "busy in zoo_step");
    double params[NPARAMS];
    for (int i = 0; i < NPARAMS; i++) params[i] = 42.0;
    EXPECT_STATUS(zoo_trainer_get_params(t, params, NPARAMS), ZOO_BUSY, "busy in zoo_step");
    EXPECT(params[0] == 42.0 && params[NPARAMS - 1] == 42.0);
    EXPECT_STATUS(zoo_trainer_set(t, "lr", "0.5"), ZOO_BUSY, "busy in zoo_step");
    reset_last_error();
    zoo_trainer_free(t);
    EXPECT_MESSAGE(zoo_last_error(), "zoo_trainer_free refused", "zoo_trainer_free from thread B");
    EXPECT_MESSAGE(zoo_last_error(), "busy in zoo_step", "zoo_trainer_free from thread B");

    pthread_mutex_lock(&r.lock);
    r.released = 1;
    pthread_cond_broadcast(&r.changed);
    pthread_mutex_unlock(&r.lock);
    if (pthread_join(a, NULL) != 0) abort();

    EXPECT(r.result == ZOO_OK);
    /* The trainer was not freed and nothing B tried took effect. */
    EXPECT(zoo_step(reference, plain_loss, NULL, 0, NULL) == ZOO_OK);
    double got[NPARAMS], want[NPARAMS];
    get_params(t, got);
    get_params(reference, want);
    EXPECT(memcmp(got, want, sizeof got) == 0);
    EXPECT(zoo_trainer_get(t, "lr", lr_after, sizeof lr_after) == ZOO_OK && strcmp(lr_before, lr_after) == 0);
    EXPECT(zoo_step(t, plain_loss, NULL, 0, NULL) == ZOO_OK && iteration_of(t) == 2);
    pthread_cond_destroy(&r.changed);
    pthread_mutex_destroy(&r.lock);
    zoo_trainer_free(t);
    zoo_trainer_free(reference);
}

/* ---- 3. candidate lifetime ----------------------------------------------- */

static zoo_candidate *kept_first = NULL, *kept_last = NULL;
static zoo_status stale_status = ZOO_OK;
static size_t stale_index = 0;
static char stale_message[MESSAGE_MAX];
static int stale_tried = 0;

static int32_t keeping_loss(void *userdata, zoo_candidate *candidate, double *loss) {
    (void)userdata;
    size_t index = 0;
    if (zoo_candidate_index(candidate, &index) != ZOO_OK) abort();
    if (index == 0) kept_first = candidate;
    if (index == 1 && kept_first != NULL) {
        /* The first candidate's pointer, inside the second's callback. */
        stale_index = 777;
        reset_last_error();
        stale_status = zoo_candidate_index(kept_first, &stale_index);
        copy_message(stale_message);
        stale_tried = 1;
    }
    kept_last = candidate;
    forward_loss(candidate, loss);
    return 0;
}

static void check_kept_after_step(zoo_candidate *kept, const char *which) {
    const double x[2] = {0.3, -0.7};
    double y[1] = {42.0}, params[NPARAMS];
    size_t index = 7;
    for (int i = 0; i < NPARAMS; i++) params[i] = 42.0;
    EXPECT_STATUS(zoo_candidate_forward(kept, x, 2, y, 1), ZOO_BAD_CANDIDATE, "callback has returned");
    EXPECT(y[0] == 42.0);
    EXPECT_STATUS(zoo_candidate_index(kept, &index), ZOO_BAD_CANDIDATE, "callback has returned");
    EXPECT(index == 7);
    EXPECT_STATUS(zoo_candidate_get_params(kept, params, NPARAMS), ZOO_BAD_CANDIDATE, "callback has returned");
    int untouched = 1;
    for (int i = 0; i < NPARAMS; i++) untouched &= params[i] == 42.0;
    if (!untouched) fprintf(stderr, "  (%s candidate: get_params wrote its output)\n", which);
    EXPECT(untouched);
}

static void test_candidate_lifetime(void) {
    zoo_trainer *t = new_trainer(OPTIONS);
    EXPECT(zoo_step(t, keeping_loss, NULL, 0, NULL) == ZOO_OK);
    EXPECT(kept_first != NULL && kept_last != NULL && kept_first != kept_last);
    EXPECT(stale_tried);
    EXPECT(stale_status == ZOO_BAD_CANDIDATE);
    EXPECT(stale_index == 777);
    EXPECT_MESSAGE(stale_message, "callback has returned", "first candidate used in the second's callback");
    check_kept_after_step(kept_last, "last");
    check_kept_after_step(kept_first, "first");
    zoo_trainer_free(t);
}

/* ---- 4. sizes that overflow or cannot be allocated ------------------------ */

static int32_t sum_of_outputs(void *userdata, const double *y, size_t ny, double *loss) {
    (void)userdata;
    double sum = 0;
    for (size_t i = 0; i < ny; i++) sum += y[i];
    *loss = sum;
    return 0;
}

static void test_sizes(void) {
    const size_t sizes[] = {2, 3, 2};
    zoo_model *m = NULL;
    if (zoo_model_new_mlp(sizes, 3, "tanh", 1, &m) != ZOO_OK) abort();
    const double x[2] = {0.5, -0.5};
    double y[2] = {7.0, 7.0};
    size_t n = 0;
    EXPECT(zoo_model_num_params(m, &n) == ZOO_OK && n == 17); /* 2*3 + 3 + 3*2 + 2 */
    /* (2^63 + 1) x 2 wraps to 2: the lengths would seem to match. */
    EXPECT_STATUS(zoo_model_forward_batch(m, x, 2, HUGE_ROWS, y, 2), ZOO_OUT_OF_MEMORY, NULL);
    EXPECT(y[0] == 7.0 && y[1] == 7.0);

    zoo_trainer *t = NULL;
    EXPECT(zoo_trainer_new(m, "estimator=rge-central q=2", &t) == ZOO_OK);
    double before[17], after[17], loss = -1;
    EXPECT(zoo_trainer_get_params(t, before, 17) == ZOO_OK);
    EXPECT_STATUS(zoo_step_outputs(t, x, 2, HUGE_ROWS, sum_of_outputs, NULL, &loss), ZOO_OUT_OF_MEMORY, NULL);
    EXPECT(iteration_of(t) == 0 && loss == -1);
    EXPECT(zoo_trainer_get_params(t, after, 17) == ZOO_OK && memcmp(before, after, sizeof before) == 0);
    zoo_trainer_free(t);

    double model_before[17], model_after[17], fit_loss = -1;
    EXPECT(zoo_model_get_params(m, model_before, 17) == ZOO_OK);
    EXPECT_STATUS(zoo_model_fit(m, x, 2, y, 2, HUGE_ROWS, NULL, &fit_loss), ZOO_OUT_OF_MEMORY, NULL);
    EXPECT(fit_loss == -1);
    EXPECT(zoo_model_get_params(m, model_after, 17) == ZOO_OK && memcmp(model_before, model_after, sizeof model_before) == 0);
    zoo_model_free(m);

    /* 32-4-32: (2^59 + 1) x 32 wraps to 32. */
    const size_t wide[] = {32, 4, 32};
    double x32[32];
    for (int i = 0; i < 32; i++) x32[i] = 0.1;
    if (zoo_model_new_mlp(wide, 3, "tanh", 1, &m) != ZOO_OK) abort();
    t = NULL;
    EXPECT(zoo_trainer_new(m, "estimator=cge-central", &t) == ZOO_OK);
    EXPECT_STATUS(zoo_trainer_set_batch(t, x32, 32, ((size_t)1 << 59) + 1, 1), ZOO_OUT_OF_MEMORY, NULL);
    uint64_t id = 0;
    EXPECT(zoo_ask(t, &id) == ZOO_OK); /* no batch was set: weight space */
    double y32[32];
    EXPECT(zoo_forward(t, id, x32, 32, y32, 32) == ZOO_OK); /* a weight-space candidate */
    EXPECT(zoo_abort_iteration(t) == ZOO_OK);
    zoo_trainer_free(t);
    zoo_model_free(m);

    /* 3 x 2^40 parameters: no allocation can hold them. */
    const size_t huge[] = {1, (size_t)1 << 40, 1};
    m = NULL;
    EXPECT_STATUS(zoo_model_new_mlp(huge, 3, "tanh", 1, &m), ZOO_OUT_OF_MEMORY, NULL);
    EXPECT(m == NULL);
    zoo_model_free(m);
}

/* ---- 5. the cap on threads ------------------------------------------------ */

static double seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* The process's number of threads (Linux), or -1. */
static long thread_count(void) {
    FILE *f = fopen("/proc/self/status", "r");
    if (!f) return -1;
    char line[256];
    long n = -1;
    while (fgets(line, sizeof line, f))
        if (strncmp(line, "Threads:", 8) == 0) n = strtol(line + 8, NULL, 10);
    fclose(f);
    return n;
}

static void test_threads(void) {
    zoo_model *m = new_model();
    const char *too_many[] = {"threads=4000", "threads=18446744073709551615"};
    for (int i = 0; i < 2; i++) {
        zoo_trainer *t = NULL;
        double start = seconds();
        EXPECT_STATUS(zoo_trainer_new(m, too_many[i], &t), ZOO_INVALID_OPTION, "1024");
        double took = seconds() - start;
        if (took >= 5.0) fprintf(stderr, "  (%s took %.2f s)\n", too_many[i], took);
        EXPECT(took < 5.0);
        EXPECT(t == NULL);
    }
    EXPECT(ZOO_MAX_THREADS == 1024);

    /* The largest value is accepted, and its threads start only when a
     * thread-safe step first needs them. */
    long threads_before = thread_count();
    zoo_trainer *t = NULL;
    EXPECT(zoo_trainer_new(m, "threads=1024", &t) == ZOO_OK && t != NULL);
    char value[32] = "";
    EXPECT(zoo_trainer_get(t, "threads", value, sizeof value) == ZOO_OK && strcmp(value, "1024") == 0);
    long threads_after = thread_count();
    if (threads_before >= 0 && threads_after >= 0) {
        if (threads_after - threads_before > 2)
            fprintf(stderr, "  (threads=1024 started %ld threads at once)\n", threads_after - threads_before);
        EXPECT(threads_after - threads_before <= 2);
    }
    zoo_trainer_free(t);
    zoo_model_free(m);
}

/* ---- 6. options: keys given twice, quoted values ------------------------- */

static int count_lines(const char *path) {
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    int lines = 0, c;
    while ((c = fgetc(f)) != EOF) lines += c == '\n';
    fclose(f);
    return lines;
}

static void test_options(void) {
    zoo_model *m = new_model();
    zoo_trainer *t = NULL;
    EXPECT_STATUS(zoo_trainer_new(m, "lr=0.1 q=4 lr=0.2", &t), ZOO_INVALID_OPTION, "'lr'");
    EXPECT_STATUS(zoo_trainer_new(m, "lr=0.1 q=4 lr=0.2", &t), ZOO_INVALID_OPTION, "given twice");
    EXPECT(t == NULL);

    t = new_trainer("lr=0.05");
    char before[64] = "", after[64] = "";
    EXPECT(zoo_trainer_get(t, "lr", before, sizeof before) == ZOO_OK && strtod(before, NULL) == 0.05);
    EXPECT_STATUS(zoo_trainer_set(t, NULL, "lr=0.1 lr=0.2"), ZOO_INVALID_OPTION, "given twice");
    EXPECT(zoo_trainer_get(t, "lr", after, sizeof after) == ZOO_OK && strcmp(before, after) == 0);
    zoo_trainer_free(t);

    /* A quoted value holds a space. */
    char path[512], options[600], got[512] = "";
    snprintf(path, sizeof path, "%s/my run.jsonl", tmpdir);
    snprintf(options, sizeof options, "metrics_file=\"%s\" q=2", path);
    t = NULL;
    EXPECT(zoo_trainer_new(m, options, &t) == ZOO_OK && t != NULL);
    if (t) {
        EXPECT(zoo_step(t, plain_loss, NULL, 0, NULL) == ZOO_OK);
        EXPECT(access(path, F_OK) == 0);
        EXPECT(count_lines(path) == 1);
        EXPECT(zoo_trainer_get(t, "metrics_file", got, sizeof got) == ZOO_OK && strcmp(got, path) == 0);
        zoo_trainer_free(t);
    }
    remove(path);

    /* An unclosed quote. */
    snprintf(options, sizeof options, "q=2 metrics_file=\"%s", path);
    t = NULL;
    EXPECT_STATUS(zoo_trainer_new(m, options, &t), ZOO_INVALID_OPTION, "not closed");
    EXPECT(t == NULL);
    EXPECT(access(path, F_OK) != 0);
    zoo_model_free(m);
}

/* ---- 7. zoo_ask_batch ------------------------------------------------------ */

static void test_ask_batch(void) {
    zoo_trainer *t = new_trainer(OPTIONS);
    size_t candidates = 0, count = 99;
    uint64_t ids[8] = {0};
    EXPECT(zoo_trainer_num_candidates(t, &candidates) == ZOO_OK && candidates == 4);
    EXPECT_STATUS(zoo_ask_batch(t, ids, 0, &count), ZOO_INVALID_ARGUMENT, NULL);
    EXPECT(count == 99);

    EXPECT(zoo_ask_batch(t, ids, 8, &count) == ZOO_OK && count == candidates);
    uint64_t held[8];
    memcpy(held, ids, sizeof held);
    count = 99;
    EXPECT(zoo_ask_batch(t, ids, 8, &count) == ZOO_NO_CANDIDATE);
    EXPECT(count == 99);
    EXPECT(memcmp(held, ids, sizeof ids) == 0);
    uint64_t id = 12345;
    EXPECT(zoo_ask(t, &id) == ZOO_NO_CANDIDATE && id == 12345);
    EXPECT(zoo_abort_iteration(t) == ZOO_OK);
    zoo_trainer_free(t);
}

int main(void) {
    if (!mkdtemp(tmpdir)) abort();
    snprintf(checkpoint_path, sizeof checkpoint_path, "%s/source.safetensors", tmpdir);
    snprintf(never_written, sizeof never_written, "%s/never-written.safetensors", tmpdir);

    test_busy_rule();
    test_two_threads();
    test_candidate_lifetime();
    test_sizes();
    test_threads();
    test_options();
    test_ask_batch();

    remove(checkpoint_path);
    remove(never_written);
    rmdir(tmpdir);
    printf("%d passed, %d failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}
