// A fixed thread pool: threads are created with the session. Between parallel regions they spin briefly (a
// frame has a few hundred regions microseconds apart, and a condition-variable wake-up costs about as much as a
// small region), then sleep on a condition variable, so an idle session costs nothing.
//
// A region ends when its tasks are done, not when every worker has checked in: tasks are claimed from one
// ticket word (generation, task count, next task), so the caller runs whatever no worker has claimed, and a
// worker that was descheduled or asleep joins the region that is current when it wakes, or none. The count is
// in the ticket so that a claim checks it in the same atomic step: a worker holding a finished region's ticket
// cannot claim a task while the caller is writing the next region. With more runnable
// threads than free cores (other processes, or more workers than cores), a region never waits for a thread that
// is not running.
#include "CKernels.h"
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
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

/// Spin iterations before sleeping (workers between regions, the caller waiting for claimed tasks), yielding the
/// core every 64 after the first half. INSPECTD_POOL_SPIN overrides it (0: sleep at once) for measurements.
static int spin_limit(void) {
    static int limit = -1;
    if (limit < 0) {
        const char *e = getenv("INSPECTD_POOL_SPIN");
        limit = e ? atoi(e) : 2000;
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
    atomic_uint_fast64_t ticket;   // generation << 32 | task count << 16 | next unclaimed task
    atomic_int stopping;
    atomic_int sleepers;           // workers waiting on `start`
    atomic_int completed;          // tasks of the current region finished
    atomic_int waiting;            // the caller sleeps on `done`
    // The current region's function, written by the caller before it publishes the ticket; read by workers
    // before claiming, and a claim succeeds only if the region is still current and unfinished, so the caller
    // cannot have moved on to write the next one.
    _Atomic(ck_task_fn) fn;
    _Atomic(void *) ctx;
};

// Up to 65535 tasks a region (a few per thread in practice); 32 bits of generation: a worker would have to be
// preempted between loading the ticket and claiming for 2^32 regions for a stale claim to match.
#define MAX_TASKS 0xFFFF
static inline uint64_t gen_of(uint64_t t) { return t >> 32; }
static inline int tasks_of(uint64_t t) { return (int)((t >> 16) & 0xFFFF); }
static inline int task_of(uint64_t t) { return (int)(t & 0xFFFF); }

/// Claims and runs tasks of the region `ticket` belongs to until none is left or a newer region started.
static void drain(ck_pool *p, uint64_t ticket) {
    ck_task_fn fn = atomic_load_explicit(&p->fn, memory_order_relaxed);
    void *ctx = atomic_load_explicit(&p->ctx, memory_order_relaxed);
    const int tasks = tasks_of(ticket);
    const uint64_t gen = gen_of(ticket);
    for (;;) {
        // After a task the ticket may already be a newer region's (this thread finished the last task of its
        // region and the caller moved on): fn and ctx loaded here are not for it.
        int next = task_of(ticket);
        if (gen_of(ticket) != gen || next >= tasks) return;
        if (!atomic_compare_exchange_weak_explicit(&p->ticket, &ticket, ticket + 1, memory_order_acq_rel, memory_order_acquire)) {
            if (gen_of(ticket) != gen) return;   // the caller started a newer region: its tasks are not ours
            continue;                            // another thread claimed that task
        }
        fn(ctx, next);
        if (atomic_fetch_add(&p->completed, 1) + 1 == tasks && atomic_load(&p->waiting)) {
            pthread_mutex_lock(&p->mu);
            pthread_cond_signal(&p->done);
            pthread_mutex_unlock(&p->mu);
        }
        ticket = atomic_load_explicit(&p->ticket, memory_order_acquire);
    }
}

static void *worker(void *arg) {
    ck_pool *p = arg;
    uint64_t seen = 0;
    for (;;) {
        int spins = 0;
        while (gen_of(atomic_load_explicit(&p->ticket, memory_order_acquire)) == seen && !atomic_load(&p->stopping) && spins < SPIN) {
            relax(spins);
            spins++;
        }
        if (gen_of(atomic_load(&p->ticket)) == seen && !atomic_load(&p->stopping)) {
            pthread_mutex_lock(&p->mu);
            atomic_fetch_add(&p->sleepers, 1);
            while (gen_of(atomic_load(&p->ticket)) == seen && !atomic_load(&p->stopping)) pthread_cond_wait(&p->start, &p->mu);
            atomic_fetch_sub(&p->sleepers, 1);
            pthread_mutex_unlock(&p->mu);
        }
        if (atomic_load(&p->stopping)) break;
        uint64_t t = atomic_load_explicit(&p->ticket, memory_order_acquire);
        seen = gen_of(t);
        drain(p, t);
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
    for (int i = 1; p->tids && i < p->threads; i++) {
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
    if (!p || p->threads == 1 || tasks == 1 || tasks > MAX_TASKS) {
        for (int t = 0; t < tasks; t++) fn(ctx, t);
        return;
    }
    // Every task of the previous region is done, so no worker can claim anything until the new ticket is out.
    atomic_store_explicit(&p->fn, fn, memory_order_relaxed);
    atomic_store_explicit(&p->ctx, ctx, memory_order_relaxed);
    atomic_store(&p->completed, 0);
    uint64_t ticket = ((gen_of(atomic_load(&p->ticket)) + 1) << 32) | ((uint64_t)tasks << 16);
    atomic_store(&p->ticket, ticket);
    // A worker going to sleep counts itself under the mutex before its last look at the ticket, so either it
    // sees the new generation or this broadcast reaches it.
    if (atomic_load(&p->sleepers) > 0) {
        pthread_mutex_lock(&p->mu);
        pthread_cond_broadcast(&p->start);
        pthread_mutex_unlock(&p->mu);
    }
    drain(p, ticket);
    // Only tasks a worker has claimed and is running are left.
    int spins = 0;
    while (atomic_load_explicit(&p->completed, memory_order_acquire) < tasks && spins < SPIN) { relax(spins); spins++; }
    if (atomic_load(&p->completed) < tasks) {
        pthread_mutex_lock(&p->mu);
        atomic_store(&p->waiting, 1);
        while (atomic_load(&p->completed) < tasks) pthread_cond_wait(&p->done, &p->mu);
        atomic_store(&p->waiting, 0);
        pthread_mutex_unlock(&p->mu);
    }
}
