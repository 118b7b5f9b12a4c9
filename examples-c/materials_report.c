/* The materials example's results: printed tables and the results file. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "materials_report.h"

static const char *const variant_ids[] = {"exact", "model-form"};
static const char *const variant_titles[] = {
    "labels from the coupled network's own solver (no model-form error); test RMS error on 400 unseen materials",
    "labels from the finely resolved solver, coupled network trained through the coarse one (model-form "
    "error); test RMS error on 400 unseen materials",
};

static const job *find(const report *r, int variant, int size, int draw, int coupled) {
    for (int k = 0; k < r->njobs; k++) {
        const job *j = &r->jobs[k];
        if (j->variant == variant && j->size == size && j->draw == draw && j->coupled == coupled) return j;
    }
    fprintf(stderr, "materials: no run for variant %d, n %d, draw %d\n", variant, size, draw);
    exit(1);
}

/* The sizes present, ascending. */
static int sizes(const report *r, int *out) {
    int count = 0;
    for (int k = 0; k < r->njobs; k++) {
        int i = 0;
        while (i < count && out[i] != r->jobs[k].size) i++;
        if (i == count) out[count++] = r->jobs[k].size;
    }
    for (int i = 1; i < count; i++)
        for (int k = i; k > 0 && out[k] < out[k - 1]; k--) {
            int t = out[k];
            out[k] = out[k - 1], out[k - 1] = t;
        }
    return count;
}

static int ascending(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Median, min and max of x[0..n] (sorted in place). */
static void summary(double *x, int n, double out[3]) {
    qsort(x, (size_t)n, sizeof *x, ascending);
    out[0] = n % 2 ? x[n / 2] : (x[n / 2 - 1] + x[n / 2]) / 2;
    out[1] = x[0], out[2] = x[n - 1];
}

void print_tables(const report *r) {
    int n[16], count = sizes(r, n), runs = r->draws * r->seeds;
    double dd[64], cp[64], ratio[64], dd_train[64], cp_train[64];
    for (int v = 0; v < r->variants; v++) {
        printf("\n%s: %s\n", variant_ids[v], variant_titles[v]);
        printf("%5s  %-30s  %-30s  %-18s  %7s  %9s  %9s\n", "n", "data-driven median [min, max]",
               "coupled median [min, max]", "dd / coupled", "coupled", "dd train", "cp train");
        for (int i = 0; i < count; i++) {
            int m = 0, wins = 0;
            for (int d = 1; d <= r->draws; d++) {
                const job *a = find(r, v, n[i], d, 0), *b = find(r, v, n[i], d, 1);
                for (int s = 0; s < r->seeds; s++, m++) {
                    dd[m] = a->test[s], cp[m] = b->test[s], ratio[m] = a->test[s] / b->test[s];
                    dd_train[m] = a->train[s], cp_train[m] = b->train[s];
                    wins += b->test[s] < a->test[s];
                }
            }
            double x[3], y[3], z[3], p[3], q[3];
            summary(dd, m, x), summary(cp, m, y), summary(ratio, m, z), summary(dd_train, m, p);
            summary(cp_train, m, q);
            printf("%5d  %.2e [%.2e, %.2e]  %.2e [%.2e, %.2e]  %.2f [%.2f, %.2f]  %3d/%-3d  %.2e   %.2e\n", n[i], x[0],
                   x[1], x[2], y[0], y[1], y[2], z[0], z[1], z[2], wins, runs, p[0], q[0]);
        }
    }
    printf("\nchosen on validation (seed 1 of each draw):\n");
    for (int k = 0; k < r->njobs; k++) {
        const job *j = &r->jobs[k];
        printf("  %-10s n %3d draw %d %-11s %s\n", variant_ids[j->variant], j->size, j->draw,
               j->coupled ? "coupled" : "data-driven", j->hyper);
    }
}

/* A JSON number; a run that diverged (infinite error) is null. */
static void number(FILE *f, const char *key, double value) {
    if (isfinite(value)) fprintf(f, "\"%s\": %.6e", key, value);
    else fprintf(f, "\"%s\": null", key);
}

static void string(FILE *f, const char *text) {
    fputc('"', f);
    for (const char *c = text; *c; c++) {
        if (*c == '"' || *c == '\\') fputc('\\', f);
        fputc(*c, f);
    }
    fputc('"', f);
}

static const char *const columns =
    "        {\"key\": \"n_train\", \"label\": \"n_train\"},\n"
    "        {\"key\": \"data_driven\", \"label\": \"data-driven\", \"agg\": \"median-range\", \"format\": \".2e\"},\n"
    "        {\"key\": \"coupled\", \"label\": \"coupled\", \"agg\": \"median-range\", \"format\": \".2e\"},\n"
    "        {\"key\": \"ratio\", \"label\": \"data-driven / coupled\", \"agg\": \"median-range\", \"format\": "
    "\".2f\"},\n"
    "        {\"key\": \"coupled_better\", \"label\": \"coupled better\", \"agg\": \"count-true\"},\n"
    "        {\"key\": \"dd_train\", \"label\": \"data-driven train fit\", \"agg\": \"median\", \"format\": "
    "\".2e\"}\n";

void write_results(const report *r, const char *path, const char *reproduce) {
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f) {
        fprintf(stderr, "materials: cannot write %s (run from the repository root)\n", tmp);
        exit(1);
    }
    int n[16], count = sizes(r, n);
    fprintf(f, "{\n  \"name\": \"materials\",\n  \"reproduce\": ");
    string(f, reproduce);
    fprintf(f, ",\n  \"protocol\": ");
    string(f, r->protocol);
    fprintf(f, ",\n  \"tables\": [\n");
    for (int v = 0; v < r->variants; v++) {
        fprintf(f, "    {\n      \"id\": \"%s\",\n      \"title\": ", variant_ids[v]);
        string(f, variant_titles[v]);
        fprintf(f, ",\n      \"columns\": [\n%s      ],\n      \"rows\": [\n", columns);
        for (int i = 0; i < count; i++) {
            fprintf(f, "        {\"n_train\": %d, \"runs\": [\n", n[i]);
            for (int d = 1; d <= r->draws; d++) {
                const job *a = find(r, v, n[i], d, 0), *b = find(r, v, n[i], d, 1);
                for (int s = 0; s < r->seeds; s++) {
                    fprintf(f, "          {\"draw\": %d, \"seed\": %d, ", d, s + 1);
                    number(f, "data_driven", a->test[s]), fputs(", ", f);
                    number(f, "coupled", b->test[s]), fputs(", ", f);
                    number(f, "ratio", a->test[s] / b->test[s]);
                    fprintf(f, ", \"coupled_better\": %s, ", b->test[s] < a->test[s] ? "true" : "false");
                    number(f, "dd_train", a->train[s]), fputs(", ", f);
                    number(f, "coupled_train", b->train[s]), fputs(", ", f);
                    number(f, "dd_validation", a->val[s]), fputs(", ", f);
                    number(f, "coupled_validation", b->val[s]), fputs(", \"dd_hyper\": ", f);
                    string(f, a->hyper), fputs(", \"coupled_hyper\": ", f);
                    string(f, b->hyper);
                    fprintf(f, "}%s\n", d == r->draws && s == r->seeds - 1 ? "" : ",");
                }
            }
            fprintf(f, "        ]}%s\n", i == count - 1 ? "" : ",");
        }
        fprintf(f, "      ]\n    }%s\n", v == r->variants - 1 ? "" : ",");
    }
    fprintf(f, "  ]\n}\n");
    if (fclose(f) != 0 || rename(tmp, path) != 0) {
        fprintf(stderr, "materials: cannot write %s\n", path);
        exit(1);
    }
    printf("wrote %s\n", path);
}
