/* The materials example's results: the printed tables and the results file
 * (see materials_report.c). */
#ifndef MATERIALS_REPORT_H
#define MATERIALS_REPORT_H

#define SEEDS 3
#define VARIANT_EXACT 0
#define VARIANT_MODEL_FORM 1

/* One method on one draw: its chosen configuration and, for each seed, its
 * validation, training and test RMS errors. */
typedef struct {
    int variant, size, draw, coupled;
    double val[SEEDS], train[SEEDS], test[SEEDS];
    char hyper[96];
} job;

typedef struct {
    const job *jobs;
    int njobs, variants, draws, seeds;
    const char *protocol;
} report;

/* One line per variant and n: medians and ranges of both methods. */
void print_tables(const report *r);

/* The results file (results/README.md has the schema); exits on failure. */
void write_results(const report *r, const char *path, const char *reproduce);

#endif
