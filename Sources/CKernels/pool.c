// A fixed thread pool: threads are created with the session. Between parallel regions they spin briefly (a
// frame has a few hundred regions microseconds apart, and a condition-variable wake-up costs about as much as a
// small region), then sleep on a condition variable, so an idle session costs nothing.
#include "CKernels.h"
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sched.h>
#if defined(__x86_64__)
#include <immintrin.h>
#define CPU_RELAX() _mm_pause()
#elif defined(__aarch64__)
#define CPU_RELAX() __asm__ __volatile__("yield")
#else
#define CPU_RELAX() ((void)0)
#endif

/// Spin iterations before sleeping: a few microseconds, yielding the core half way, so that a worker waiting on a
/// descheduled peer (more threads than free cores) gives way instead of burning its time slice.
/// INSPECTD_POOL_SPIN overrides it (0: sleep at once) for measurements.
static int spin_limit(void) {
    static int limit = -1;
    if (limit < 0) {
        const char *e = getenv("INSPECTD_POOL_SPIN");
        limit = e ? atoi(e) : 300;
        if (limit < 0) limit = 0;
    }
    return limit;
}
#define SPIN spin_limit()
static inline void relax(int spins) {
    if (spins > SPIN / 2 && spins % 64 == 0) sched_yield();
    else CPU_RELAX();
}

struct ck_pool {
    int threads;
    pthread_t *tids;
    pthread_mutex_t mu;
    pthread_cond_t start, done;
    atomic_ulong generation;
    atomic_int stopping;
    atomic_int active;     // workers still busy in the current run
    ck_task_fn fn;
    void *ctx;
    int tasks;
    atomic_int next;
};

static void drain(ck_pool *p) {
    for (;;) {
        int t = atomic_fetch_add(&p->next, 1);
        if (t >= p->tasks) return;
        p->fn(p->ctx, t);
    }
}

static void *worker(void *arg) {
    ck_pool *p = arg;
    unsigned long seen = 0;
    for (;;) {
        int spins = 0;
        while (atomic_load_explicit(&p->generation, memory_order_acquire) == seen && !atomic_load(&p->stopping) && spins < SPIN) {
            relax(spins);
            spins++;
        }
        if (atomic_load_explicit(&p->generation, memory_order_acquire) == seen && !atomic_load(&p->stopping)) {
            pthread_mutex_lock(&p->mu);
            while (atomic_load(&p->generation) == seen && !atomic_load(&p->stopping)) pthread_cond_wait(&p->start, &p->mu);
            pthread_mutex_unlock(&p->mu);
        }
        if (atomic_load(&p->stopping)) break;
        seen = atomic_load_explicit(&p->generation, memory_order_acquire);
        drain(p);
        if (atomic_fetch_sub_explicit(&p->active, 1, memory_order_acq_rel) == 1) {
            pthread_mutex_lock(&p->mu);
            pthread_cond_signal(&p->done);
            pthread_mutex_unlock(&p->mu);
        }
    }
    return NULL;
}

ck_pool *ck_pool_create(int threads) {
    ck_pool *p = calloc(1, sizeof *p);
    if (!p) return NULL;
    p->threads = threads < 1 ? 1 : threads;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->start, NULL);
    pthread_cond_init(&p->done, NULL);
    p->tids = calloc((size_t)p->threads, sizeof(pthread_t));
    int made = 1;
    for (int i = 1; i < p->threads; i++) {
        if (pthread_create(&p->tids[i], NULL, worker, p) != 0) break;
        made++;
    }
    p->threads = made;
    return p;
}

void ck_pool_destroy(ck_pool *p) {
    if (!p) return;
    pthread_mutex_lock(&p->mu);
    atomic_store(&p->stopping, 1);
    pthread_cond_broadcast(&p->start);
    pthread_mutex_unlock(&p->mu);
    for (int i = 1; i < p->threads; i++) pthread_join(p->tids[i], NULL);
    free(p->tids);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->start);
    pthread_cond_destroy(&p->done);
    free(p);
}

int ck_pool_threads(const ck_pool *p) { return p ? p->threads : 1; }

void ck_pool_run(ck_pool *p, int tasks, ck_task_fn fn, void *ctx) {
    if (tasks <= 0) return;
    if (!p || p->threads == 1 || tasks == 1) {
        for (int t = 0; t < tasks; t++) fn(ctx, t);
        return;
    }
    p->fn = fn; p->ctx = ctx; p->tasks = tasks;
    atomic_store(&p->next, 0);
    atomic_store(&p->active, p->threads - 1);
    atomic_fetch_add_explicit(&p->generation, 1, memory_order_release);
    // Sleeping workers check the generation under the mutex, so a broadcast under it cannot be missed.
    pthread_mutex_lock(&p->mu);
    pthread_cond_broadcast(&p->start);
    pthread_mutex_unlock(&p->mu);
    drain(p);
    int spins = 0;
    while (atomic_load_explicit(&p->active, memory_order_acquire) > 0 && spins < SPIN) { relax(spins); spins++; }
    if (atomic_load_explicit(&p->active, memory_order_acquire) > 0) {
        pthread_mutex_lock(&p->mu);
        while (atomic_load(&p->active) > 0) pthread_cond_wait(&p->done, &p->mu);
        pthread_mutex_unlock(&p->mu);
    }
}
