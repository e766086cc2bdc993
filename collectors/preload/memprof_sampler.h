/* The sampler both builds share: the launch library (memprof_preload.c) and the injectable one
 * (memprof_inject.c) include it once, and each provides how a thread finds its own state
 * (memprof_self) and what differs at set-up, thread exit, fork and attach (memprof_front_*).
 *
 * Each thread counts its calls and bytes in a slot of memprof_preload_state, which memprof reads
 * from the process's memory, and keeps a byte countdown drawn from an exponential distribution
 * (the same Poisson process over requested bytes as the kernel path). Only sampled allocations,
 * and frees of sampled blocks, call a marker function: memprof's uprobes sit on the markers'
 * first instruction, a 5-byte nop that kernels from 6.18 turn into a call to a trampoline instead
 * of a trap. Every other call stays in the process at a few nanoseconds.
 *
 * Frees of sampled blocks are recognised by an address set sharded by hash behind a counting
 * filter: a free reads one byte of the filter, and only takes a shard's lock when the filter
 * says the address may be sampled. */
#ifndef MEMPROF_SAMPLER_H
#define MEMPROF_SAMPLER_H

#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>
#include "memprof_preload.h"
#include "../bpf/memprof_shared.h" /* the function ids and flags the markers report */

#define EXPORT __attribute__((visibility("default")))

/* A build that writes events into memprof's shared rings (memprof_ring.h) defines
 * MEMPROF_RING_WRITER and memprof_front_ring (this thread's ring); an event goes to a marker only
 * when the ring cannot take it. */
#ifdef MEMPROF_RING_WRITER
#include "memprof_ring.h"
/* A build whose rings come and go while threads write (the injected one) brings its own. */
#ifndef MEMPROF_RING_EMIT
static inline struct memprof_ring_thread *memprof_front_ring(void);
#define MEMPROF_RING_EMIT(func, flags, address, old, size) \
    (memprof_ring && memprof_ring_write(memprof_front_ring(), (func), (flags), (uint64_t)(uintptr_t)(address), (uint64_t)(uintptr_t)(old), (size)))
#endif
#else
#define MEMPROF_RING_EMIT(func, flags, address, old, size) 0
#endif
#define LIKELY(x) __builtin_expect(!!(x), 1)
#define UNLIKELY(x) __builtin_expect(!!(x), 0)

/* The markers: a 5-byte nop and a return, each alone in 16 bytes. Protected, so the library's own
 * calls bind locally (no PLT) while memprof still finds them in the dynamic symbol table. */
void memprof_preload_sampled_alloc(void *block, size_t size, void *old_block, unsigned long func_and_flags);
void memprof_preload_sampled_free(void *block);
__asm__(
    ".text\n"
    ".globl memprof_preload_sampled_alloc\n"
    ".protected memprof_preload_sampled_alloc\n"
    ".type memprof_preload_sampled_alloc, @function\n"
    ".p2align 4\n"
    "memprof_preload_sampled_alloc:\n"
    ".cfi_startproc\n"
    ".byte 0x0f, 0x1f, 0x44, 0x00, 0x00\n"
    "ret\n"
    ".cfi_endproc\n"
    ".size memprof_preload_sampled_alloc, .-memprof_preload_sampled_alloc\n"
    ".globl memprof_preload_sampled_free\n"
    ".protected memprof_preload_sampled_free\n"
    ".type memprof_preload_sampled_free, @function\n"
    ".p2align 4\n"
    "memprof_preload_sampled_free:\n"
    ".cfi_startproc\n"
    ".byte 0x0f, 0x1f, 0x44, 0x00, 0x00\n"
    "ret\n"
    ".cfi_endproc\n"
    ".size memprof_preload_sampled_free, .-memprof_preload_sampled_free\n"
    ".p2align 4\n");

EXPORT struct memprof_preload_state memprof_preload_state __attribute__((aligned(64)));
/* The library's own accesses bind locally, without a load through the GOT. */
extern struct memprof_preload_state memprof_state __attribute__((visibility("hidden"), alias("memprof_preload_state")));
_Static_assert(offsetof(struct memprof_preload_state, requested_rate) == 64, "PreloadState.RequestedRate");
_Static_assert(offsetof(struct memprof_preload_state, tables) == 192, "PreloadState.TablesOffset");
_Static_assert(sizeof(struct memprof_forward_table) == 192, "PreloadState.TableSize");
_Static_assert(offsetof(struct memprof_preload_state, slots) == 960, "PreloadState.HeaderSize");
_Static_assert(sizeof(struct memprof_preload_slot) == 64, "PreloadState.SlotSize");

struct memprof_preload_thread {
    int64_t countdown;       /* bytes until the next sample */
    int64_t live_delta;      /* usable bytes allocated minus freed, not yet flushed */
    uint64_t rng;
    struct memprof_preload_slot *slot; /* NULL: not set up, past the pool, or exited */
    uint64_t generation;     /* the attach request the countdown was drawn for */
    int initialized;
    int busy;                /* inside the address set: a signal handler's call must not re-enter */
    int exited;
};

/* What each build provides. */
static inline struct memprof_preload_thread *memprof_self(void);
/* The live heap to start counting from when an attach request is carried out; `counted` is the
 * live heap by the library's own counts; `measure`: the allocators may be asked (a safe point).
 * Updates the MEMPROF_STATE_* flags. */
static int64_t memprof_front_base_live(int64_t counted, uint32_t *flags, int measure);
/* A thread's state is done with (its key's destructor ran). */
static void memprof_front_thread_exit(struct memprof_preload_thread *t);
/* In a fork child, before the counters restart. */
static void memprof_front_fork_child(struct memprof_preload_thread *self);
/* At memprof's remote call at a safe point (memprof_preload_apply), before its request is applied. */
static void memprof_front_safe_point(void);

/* Threads flush their running live delta past this, so the peak is off by at most this much per thread. */
#define LIVE_FLUSH (64 * 1024)
#define DEFAULT_RATE (512 * 1024)

static uint64_t rate = DEFAULT_RATE;
static int every_allocation;             /* rate <= 1: every call is reported */
static pthread_key_t thread_key;

/* With every allocation reported, the launch library reports every free too, without the set:
 * every live block was allocated under it. An attached process holds blocks from before the
 * attach, whose frees must pass through unreported (they would be recorded unpaired), so the
 * injected build defines MEMPROF_FREES_NEED_SET and keeps the set at every rate. */
#ifndef MEMPROF_FREES_NEED_SET
#define MEMPROF_FREES_NEED_SET 0
#endif
static inline int memprof_preload_every_free(void) { return !MEMPROF_FREES_NEED_SET && every_allocation; }

/* ---- the sampled-address set ---- */

#define SHARDS 64
#define FILTER_BITS 16

struct shard {
    uintptr_t lock;          /* the holder's thread pointer, 0 when free */
    uint32_t count;
    uint32_t mask;           /* capacity - 1; keys == NULL when empty */
    uintptr_t *keys;
} __attribute__((aligned(64)));

static struct shard shards[SHARDS];
static uint8_t filter[1 << FILTER_BITS];

static inline uint64_t memprof_preload_hash(uintptr_t block)
{
    uint64_t h = (uint64_t)(block >> 4) * 0x9E3779B97F4A7C15ULL;
    return h ^ (h >> 29);
}

/* By address bits, not the hash: consecutive blocks fall in different counters, and a free
 * pays for no multiplication. */
static inline uint8_t *memprof_preload_filter_of(uintptr_t block) { return &filter[(block >> 4) & ((1 << FILTER_BITS) - 1)]; }
static inline struct shard *memprof_preload_shard_of(uint64_t h) { return &shards[(h >> 40) & (SHARDS - 1)]; }

/* The thread pointer (%fs:0 on x86-64) is unique among live threads and needs no TLS of ours. */
static inline uintptr_t memprof_thread_pointer(void) { return (uintptr_t)__builtin_thread_pointer(); }

/* False when this thread holds the lock already: a signal handler interrupted it inside the set
 * (a thread without state of its own has no busy flag to tell), and waiting would never end. */
static int memprof_preload_lock(uintptr_t *lock)
{
    uintptr_t self = memprof_thread_pointer();
    for (;;) {
        uintptr_t holder = 0;
        if (__atomic_compare_exchange_n(lock, &holder, self, 0, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
            return 1;
        if (holder == self)
            return 0;
        while (__atomic_load_n(lock, __ATOMIC_RELAXED))
            __builtin_ia32_pause();
    }
}

static void memprof_preload_unlock(uintptr_t *lock) { __atomic_store_n(lock, 0, __ATOMIC_RELEASE); }

static void memprof_preload_place(uintptr_t *keys, uint32_t mask, uintptr_t key, uint64_t h)
{
    uint32_t i = (uint32_t)h & mask;
    while (keys[i] != 0)
        i = (i + 1) & mask;
    keys[i] = key;
}

/* Doubles a shard's table; memory comes from mmap, never from the allocator being traced. */
static int memprof_preload_grow(struct shard *s)
{
    uint32_t capacity = s->keys ? (s->mask + 1) * 2 : 256;
    uintptr_t *keys = mmap(NULL, capacity * sizeof(uintptr_t), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (keys == MAP_FAILED)
        return 0;
    if (s->keys) {
        for (uint32_t i = 0; i <= s->mask; i++)
            if (s->keys[i] != 0)
                memprof_preload_place(keys, capacity - 1, s->keys[i], memprof_preload_hash(s->keys[i]));
        munmap(s->keys, (s->mask + 1) * sizeof(uintptr_t));
    }
    s->keys = keys;
    s->mask = capacity - 1;
    return 1;
}

static int memprof_preload_insert(uintptr_t key)
{
    uint64_t h = memprof_preload_hash(key);
    struct shard *s = memprof_preload_shard_of(h);
    if (!memprof_preload_lock(&s->lock))
        return 0;
    int ok = 1;
    if ((!s->keys || (s->count + 1) * 2 > s->mask + 1) && !memprof_preload_grow(s)) {
        ok = 0;
    } else {
        uint32_t i = (uint32_t)h & s->mask;
        while (s->keys[i] != 0 && s->keys[i] != key)
            i = (i + 1) & s->mask;
        if (s->keys[i] == 0) {
            s->keys[i] = key;
            s->count++;
            uint8_t *f = memprof_preload_filter_of(key);
            /* A saturated counter stays "maybe" for good. */
            if (__atomic_load_n(f, __ATOMIC_RELAXED) != 255)
                __atomic_fetch_add(f, 1, __ATOMIC_RELAXED);
        }
    }
    memprof_preload_unlock(&s->lock);
    return ok;
}

static int memprof_preload_remove(uintptr_t key, uint64_t h)
{
    struct shard *s = memprof_preload_shard_of(h);
    if (!memprof_preload_lock(&s->lock))
        return 0;
    int found = 0;
    if (s->keys) {
        uint32_t i = (uint32_t)h & s->mask;
        while (s->keys[i] != 0 && s->keys[i] != key)
            i = (i + 1) & s->mask;
        if (s->keys[i] == key) {
            found = 1;
            s->count--;
            /* Backward-shift deletion keeps every probe sequence unbroken without tombstones. */
            for (uint32_t j = (i + 1) & s->mask; s->keys[j] != 0; j = (j + 1) & s->mask) {
                uint32_t home = (uint32_t)memprof_preload_hash(s->keys[j]) & s->mask;
                if (((j - home) & s->mask) >= ((j - i) & s->mask)) {
                    s->keys[i] = s->keys[j];
                    i = j;
                }
            }
            s->keys[i] = 0;
            uint8_t *f = memprof_preload_filter_of(key);
            if (__atomic_load_n(f, __ATOMIC_RELAXED) != 255)
                __atomic_fetch_sub(f, 1, __ATOMIC_RELAXED);
        }
    }
    memprof_preload_unlock(&s->lock);
    return found;
}

/* False (and nothing held) when this thread is inside the set already. */
static int memprof_preload_lock_all(void)
{
    for (int i = 0; i < SHARDS; i++) {
        if (!memprof_preload_lock(&shards[i].lock)) {
            while (--i >= 0)
                memprof_preload_unlock(&shards[i].lock);
            return 0;
        }
    }
    return 1;
}

static void memprof_preload_unlock_all(void)
{
    for (int i = 0; i < SHARDS; i++)
        memprof_preload_unlock(&shards[i].lock);
}

/* Forgets every sampled block; the caller holds every shard's lock (or is a fork child). */
static void memprof_preload_forget_all(int keep_tables)
{
    for (int i = 0; i < SHARDS; i++) {
        struct shard *s = &shards[i];
        if (s->keys && keep_tables) {
            memset(s->keys, 0, (s->mask + 1) * sizeof(uintptr_t));
        } else if (s->keys) {
            munmap(s->keys, (s->mask + 1) * sizeof(uintptr_t));
            s->keys = NULL;
            s->mask = 0;
        }
        s->count = 0;
    }
    memset(filter, memprof_preload_every_free() ? 255 : 0, sizeof(filter));
}

/* ---- sampling ---- */

/* ln(x) for x in (0, 1]: this library must not pull libm into every target. */
static double memprof_preload_ln(double x)
{
    union { double d; uint64_t u; } v = { x };
    int e = (int)((v.u >> 52) & 0x7ff) - 1023;
    v.u = (v.u & 0x000fffffffffffffULL) | 0x3ff0000000000000ULL;
    double m = v.d;
    if (m > 1.4142135623730951) {
        m *= 0.5;
        e++;
    }
    double t = (m - 1) / (m + 1), t2 = t * t;
    double s = t * (2 + t2 * (2.0 / 3 + t2 * (2.0 / 5 + t2 * (2.0 / 7 + t2 * (2.0 / 9 + t2 * (2.0 / 11 + t2 * (2.0 / 13)))))));
    return e * 0.6931471805599453 + s;
}

/* The next gap of a Poisson process with mean `rate` bytes (xorshift64* uniforms). */
static int64_t memprof_preload_gap(struct memprof_preload_thread *t)
{
    if (every_allocation)
        return 0;
    t->rng ^= t->rng >> 12;
    t->rng ^= t->rng << 25;
    t->rng ^= t->rng >> 27;
    uint64_t r = t->rng * 0x2545F4914F6CDD1DULL;
    double u = ((r >> 11) + 1) * (1.0 / 9007199254740992.0);
    double gap = -memprof_preload_ln(u) * (double)rate;
    return gap < 1 ? 1 : (int64_t)gap;
}

static uint64_t memprof_preload_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* ---- live bytes ---- */

__attribute__((noinline, cold)) static void memprof_preload_flush(struct memprof_preload_thread *t)
{
    struct memprof_preload_state *st = &memprof_state;
    int64_t live = __atomic_add_fetch(&st->flushed_live, t->live_delta, __ATOMIC_RELAXED);
    t->live_delta = 0;
    int64_t peak = __atomic_load_n(&st->peak_live, __ATOMIC_RELAXED);
    while (live > peak) {
        if (__atomic_compare_exchange_n(&st->peak_live, &peak, live, 1, __ATOMIC_RELAXED, __ATOMIC_RELAXED)) {
            __atomic_store_n(&st->peak_time_ns, memprof_preload_now_ns(), __ATOMIC_RELAXED);
            break;
        }
    }
}

struct memprof_preload_sums {
    uint64_t allocations, allocated_bytes, allocated_usable, frees, freed_usable;
};

static struct memprof_preload_sums memprof_preload_sum_slots(void)
{
    struct memprof_preload_sums sum = { 0, 0, 0, 0, 0 };
    for (int i = 0; i < MEMPROF_PRELOAD_SLOTS; i++) {
        struct memprof_preload_slot *s = &memprof_state.slots[i];
        sum.allocations += __atomic_load_n(&s->allocations, __ATOMIC_RELAXED);
        sum.allocated_bytes += __atomic_load_n(&s->allocated_bytes, __ATOMIC_RELAXED);
        sum.allocated_usable += __atomic_load_n(&s->allocated_usable, __ATOMIC_RELAXED);
        sum.frees += __atomic_load_n(&s->frees, __ATOMIC_RELAXED);
        sum.freed_usable += __atomic_load_n(&s->freed_usable, __ATOMIC_RELAXED);
    }
    return sum;
}

/* Live usable bytes by the library's own counts: what counting started from, plus what it saw since. */
static int64_t memprof_preload_counted_live(const struct memprof_preload_sums *sum)
{
    const struct memprof_preload_state *st = &memprof_state;
    return st->base_live + (int64_t)(sum->allocated_usable - st->start_allocated_usable) -
           (int64_t)(sum->freed_usable - st->start_freed_usable);
}

/* Counting starts again from `base` now: the slots' sums now are the new start. */
static void memprof_preload_restart_counting(const struct memprof_preload_sums *sum, int64_t base)
{
    struct memprof_preload_state *st = &memprof_state;
    st->start_allocations = sum->allocations;
    st->start_allocated_bytes = sum->allocated_bytes;
    st->start_allocated_usable = sum->allocated_usable;
    st->start_frees = sum->frees;
    st->start_freed_usable = sum->freed_usable;
    st->base_live = base;
    __atomic_store_n(&st->flushed_live, base, __ATOMIC_RELAXED);
    __atomic_store_n(&st->peak_live, base, __ATOMIC_RELAXED);
    uint64_t now = memprof_preload_now_ns();
    __atomic_store_n(&st->peak_time_ns, now, __ATOMIC_RELAXED);
    st->start_time_ns = now;
    __atomic_store_n(&st->untracked_samples, 0, __ATOMIC_RELAXED);
}

/* ---- the attach protocol ---- */

static int applying;  /* a thread is carrying out a request: others go on without waiting */

/* Carries out memprof's latest request (memprof_preload.h): the rate and an empty address set
 * when one is pending, and counting from now. `measure`: the base is the allocators' own live
 * heap (only at a safe point: their statistics take their locks, which a signal handler's call
 * may interrupt); else what the library counted goes on as the base. Returns whether it ran:
 * it never waits for another thread (memprof_preload_sync does). 1: done; 0: another thread is
 * applying; -1: this thread is inside the address set (a signal handler interrupted it there). */
__attribute__((noinline, cold)) static int memprof_preload_apply_request(struct memprof_preload_thread *t, int measure)
{
    struct memprof_preload_state *st = &memprof_state;
    int expected = 0;
    if (!__atomic_compare_exchange_n(&applying, &expected, 1, 0, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
        return 0;
    /* A thread without state of its own (initialized == 0) is never written to. */
    int own = t->initialized, was_busy = t->busy, done = 1;
    if (own)
        t->busy = 1;
    uint64_t requested = __atomic_load_n(&st->requested_generation, __ATOMIC_ACQUIRE);
    int pending = requested != __atomic_load_n(&st->applied_generation, __ATOMIC_ACQUIRE);
    /* Under every shard's lock no thread is inside the set; a free that read the filter before
     * it is cleared finds nothing, an insert waits and lands in the empty set. */
    if (pending && !memprof_preload_lock_all()) {
        done = -1;
    } else if (pending || measure) {
        if (pending) {
            uint64_t new_rate = __atomic_load_n(&st->requested_rate, __ATOMIC_RELAXED);
            if (new_rate == 0)
                new_rate = rate;
            __atomic_store_n(&every_allocation, new_rate <= 1, __ATOMIC_RELAXED);
            __atomic_store_n(&rate, new_rate, __ATOMIC_RELAXED);
            memprof_preload_forget_all(1);
            memprof_preload_unlock_all();
            st->rate = new_rate;
        }
        /* The allocators' statistics before the sums: an allocation in between is then in
         * neither (lost) rather than in both. */
        struct memprof_preload_sums before = memprof_preload_sum_slots();
        uint32_t flags = st->flags;
        int64_t base = memprof_front_base_live(memprof_preload_counted_live(&before), &flags, measure);
        struct memprof_preload_sums sum = memprof_preload_sum_slots();
        base += (int64_t)(sum.allocated_usable - before.allocated_usable) - (int64_t)(sum.freed_usable - before.freed_usable);
        memprof_preload_restart_counting(&sum, base);
        st->flags = flags;
        __atomic_store_n(&st->applied_generation, requested, __ATOMIC_RELEASE);
    }
    if (own)
        t->busy = was_busy;
    __atomic_store_n(&applying, 0, __ATOMIC_RELEASE);
    return done;
}

/* How long a call waits at most for another thread carrying a request out (a debugger may have
 * stopped that one): far longer than a preempted thread needs on a loaded machine. */
#define APPLY_WAIT_NS (2000ULL * 1000000ULL)

/* Carries the pending request out, or waits until the thread doing so is done. A request holds
 * from the moment memprof wrote it: memprof counts every call from there on and expects each one
 * sampled at the requested rate. A call that went on at the old rate while another thread was
 * applying (when memprof starts counting after an attach: not sampling, to rate 1) lost its
 * event; threads woken together (blocked in epoll_wait, read…) all call at once. Only a thread
 * with state of its own that is not inside the set or an apply waits (busy: a signal handler's
 * call that interrupted the applier itself would wait forever); a thread without (past the
 * thread table) is never sampled anyway. */
__attribute__((noinline, cold)) static void memprof_preload_carry_out(struct memprof_preload_thread *t)
{
    int saved_errno = errno;
    uint64_t deadline = 0;
    for (uint32_t spins = 0; memprof_preload_apply_request(t, 0) == 0 && t->initialized; spins++) {
        if (spins < 200) {
            __builtin_ia32_pause();
            continue;
        }
        uint64_t now = memprof_preload_now_ns();
        if (!deadline)
            deadline = now + APPLY_WAIT_NS;
        else if (now > deadline)
            break;
        /* The applier may be preempted: give it the CPU. */
        struct timespec pause = { 0, 20000 };
        nanosleep(&pause, NULL);
    }
    errno = saved_errno;
}

/* The thread saw a request it has not drawn its countdown for. */
__attribute__((noinline, cold)) static void memprof_preload_sync(struct memprof_preload_thread *t)
{
    struct memprof_preload_state *st = &memprof_state;
    if (__atomic_load_n(&st->requested_generation, __ATOMIC_ACQUIRE) != __atomic_load_n(&st->applied_generation, __ATOMIC_ACQUIRE) &&
        !t->busy)
        memprof_preload_carry_out(t);
    uint64_t applied = __atomic_load_n(&st->applied_generation, __ATOMIC_ACQUIRE);
    /* A thread without state of its own (initialized == 0) is never written to. */
    if (t->initialized && t->generation != applied) {
        t->generation = applied;
        /* Memoryless: a fresh gap at the new rate from here is exact, whatever was left. */
        t->countdown = memprof_preload_gap(t);
    }
}

static inline int memprof_preload_stale(const struct memprof_preload_thread *t)
{
    return UNLIKELY(t->generation != __atomic_load_n(&memprof_state.requested_generation, __ATOMIC_RELAXED));
}

/* For memprof's remote call at a safe point (a thread stopped at an allocator's entry holds none
 * of its locks): carries out a pending request, and starts counting again from now with the
 * allocators' live heap as the base (MEMPROF_STATE_BASE_UNKNOWN cleared if they could tell).
 * Waits (boundedly) for another thread that is applying. Returns the generation applied, or 0
 * when it could not run. */
EXPORT uint64_t memprof_preload_apply(void)
{
    if (__atomic_load_n(&memprof_state.magic, __ATOMIC_ACQUIRE) != MEMPROF_PRELOAD_MAGIC)
        return 0;
    memprof_front_safe_point();
    struct memprof_preload_thread *t = memprof_self();
    if (t->busy)
        return 0;
    int done;
    for (long tries = 0; (done = memprof_preload_apply_request(t, 1)) == 0; tries++) {
        if (tries > 10000000L)
            return 0;
        __builtin_ia32_pause();
    }
    if (done < 0)
        return 0;
    memprof_preload_sync(t);
    return __atomic_load_n(&memprof_state.applied_generation, __ATOMIC_ACQUIRE);
}

/* ---- set-up ---- */

static void memprof_preload_fork_prepare(void) { (void)memprof_preload_lock_all(); }
static void memprof_preload_fork_parent(void) { memprof_preload_unlock_all(); }

/* Kernels from 6.18 turn a probed marker's nop5 into a call to a trampoline page they map into
 * the process. fork copies the rewritten code but not that page (it is never inherited), so a
 * child memprof does not follow would jump to an unmapped address at its first sample. A marker
 * whose call leads nowhere in this process gets its nop back. A followed child is stopped at
 * fork and re-probed before this runs: its marker then traps or calls a page it has, and stays.
 * Only syscalls here: this runs in the child of a possibly multi-threaded fork. */
static void memprof_preload_unhook_marker(uint8_t *marker)
{
    static const uint8_t nop5[5] = { 0x0f, 0x1f, 0x44, 0x00, 0x00 };
    if (marker[0] != 0xe8)
        return;
    int32_t displacement;
    memcpy(&displacement, marker + 1, sizeof(displacement));
    uintptr_t page_size = (uintptr_t)sysconf(_SC_PAGESIZE);
    uintptr_t target = (uintptr_t)marker + 5 + (intptr_t)displacement;
    /* msync fails with ENOMEM exactly when nothing is mapped there. */
    if (msync((void *)(target & ~(page_size - 1)), page_size, MS_ASYNC) == 0 || errno != ENOMEM)
        return;
    /* /proc/self/mem writes through the code's protection, as the kernel's own probe writes do. */
    int fd = open("/proc/self/mem", O_RDWR | O_CLOEXEC);
    if (fd >= 0) {
        ssize_t written = pwrite(fd, nop5, sizeof(nop5), (off_t)(uintptr_t)marker);
        close(fd);
        if (written == (ssize_t)sizeof(nop5))
            return;
    }
    void *page = (void *)((uintptr_t)marker & ~(page_size - 1));
    size_t span = ((uintptr_t)marker + sizeof(nop5) > (uintptr_t)page + page_size) ? 2 * page_size : page_size;
    if (mprotect(page, span, PROT_READ | PROT_WRITE | PROT_EXEC) == 0) {
        memcpy(marker, nop5, sizeof(nop5));
        mprotect(page, span, PROT_READ | PROT_EXEC);
    }
}

/* The child is a new process to memprof: its counters start at zero (its inherited heap is
 * carried as base_live), it has no sampled blocks, and only the forking thread survives. */
static void memprof_preload_fork_child(void)
{
    int saved_errno = errno;
    memprof_preload_unhook_marker((uint8_t *)(uintptr_t)memprof_preload_sampled_alloc);
    memprof_preload_unhook_marker((uint8_t *)(uintptr_t)memprof_preload_sampled_free);
    errno = saved_errno;
    struct memprof_preload_thread *self = memprof_self();
    memprof_front_fork_child(self);
    struct memprof_preload_state *st = &memprof_state;
    struct memprof_preload_sums sum = memprof_preload_sum_slots();
    int64_t live = memprof_preload_counted_live(&sum);
    for (int i = 0; i < MEMPROF_PRELOAD_SLOTS; i++) {
        struct memprof_preload_slot *s = &st->slots[i];
        s->allocations = s->allocated_bytes = s->allocated_usable = s->frees = s->freed_usable = 0;
        if (s != self->slot)
            s->in_use = 0;
    }
    /* The exact live bytes above already hold the unflushed delta. */
    if (self->initialized)
        self->live_delta = 0;
    struct memprof_preload_sums zero = { 0, 0, 0, 0, 0 };
    memprof_preload_restart_counting(&zero, live);
    applying = 0;
    memprof_preload_forget_all(0);
    memprof_preload_unlock_all();
}

static void memprof_preload_key_destructor(void *state) { memprof_front_thread_exit(state); }

/* Common set-up of either build, at the rate to start with. */
static void memprof_preload_setup_state(uint64_t initial_rate, uint32_t flags, uint32_t table_count)
{
    struct memprof_preload_state *st = &memprof_state;
    rate = initial_rate;
    every_allocation = rate <= 1;
    /* Every free must then be reported: a full filter sends each one to the slow path. */
    if (memprof_preload_every_free())
        memset(filter, 255, sizeof(filter));
    st->rate = rate;
    st->slot_count = MEMPROF_PRELOAD_SLOTS;
    st->version = MEMPROF_PRELOAD_VERSION;
    st->flags = flags;
    st->table_count = table_count;
    st->start_time_ns = memprof_preload_now_ns();
    pthread_key_create(&thread_key, memprof_preload_key_destructor);
    pthread_atfork(memprof_preload_fork_prepare, memprof_preload_fork_parent, memprof_preload_fork_child);
    __atomic_store_n(&st->magic, MEMPROF_PRELOAD_MAGIC, __ATOMIC_RELEASE);
}

static void memprof_preload_thread_init(struct memprof_preload_thread *t)
{
    /* Set first: what set-up allocates (a second-level key block) is counted, never sampled
     * (busy), and does not come back here. */
    t->busy = 1;
    t->initialized = 1;
    t->generation = __atomic_load_n(&memprof_state.applied_generation, __ATOMIC_ACQUIRE);
    t->rng = (uint64_t)(uintptr_t)t ^ (memprof_preload_now_ns() * 0x9E3779B97F4A7C15ULL) ^ (uint64_t)gettid() << 32;
    if (t->rng == 0)
        t->rng = 1;
    t->countdown = memprof_preload_gap(t);
    struct memprof_preload_slot *slots = memprof_state.slots;
    for (int i = 1; i < MEMPROF_PRELOAD_SLOTS; i++) {
        uint64_t free_slot = 0;
        if (__atomic_load_n(&slots[i].in_use, __ATOMIC_RELAXED) == 0 &&
            __atomic_compare_exchange_n(&slots[i].in_use, &free_slot, 1, 0, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED)) {
            t->slot = &slots[i];
            break;
        }
    }
    /* Any non-NULL value makes the key's destructor run at thread exit. */
    pthread_setspecific(thread_key, t);
    t->busy = 0;
}

/* A thread's slot outlives it: a later thread continues its sums. */
static void memprof_preload_thread_done(struct memprof_preload_thread *t)
{
    memprof_preload_flush(t);
    if (t->slot)
        __atomic_store_n(&t->slot->in_use, 0, __ATOMIC_RELEASE);
    t->slot = NULL;
}

/* ---- accounting ---- */

/* glibc's usable size of a block, from its chunk header (malloc_usable_size's arithmetic). */
static inline uint64_t memprof_preload_glibc_usable(void *block)
{
    uint64_t header = ((uint64_t *)block)[-1];
    /* mmapped chunks carry a two-word header; every chunk is larger than its header. */
    return (header & ~7ULL) - 8 - ((header & 2) << 2);
}

/* Calls that find no slot of their own: before set-up, past the pool, after the thread's exit. */
__attribute__((noinline, cold)) static struct memprof_preload_slot *memprof_preload_shared_slot(struct memprof_preload_thread *t)
{
    if (!t->initialized && !t->exited) {
        memprof_preload_thread_init(t);
        if (t->slot)
            return t->slot;
    }
    return NULL;
}

/* Adds to a thread's own slot (no other thread writes it). */
static inline void memprof_preload_add(struct memprof_preload_thread *t, struct memprof_preload_slot *s, uint64_t allocs,
                                       uint64_t bytes, uint64_t usable, uint64_t frees, uint64_t freed)
{
    s->allocations += allocs;
    s->allocated_bytes += bytes;
    s->allocated_usable += usable;
    s->frees += frees;
    s->freed_usable += freed;
    t->live_delta += (int64_t)(usable - freed);
    if (UNLIKELY(t->live_delta > LIVE_FLUSH || t->live_delta < -LIVE_FLUSH))
        memprof_preload_flush(t);
}

static inline void memprof_preload_count(struct memprof_preload_thread *t, uint64_t allocs, uint64_t bytes, uint64_t usable,
                                         uint64_t frees, uint64_t freed)
{
    struct memprof_preload_slot *s = t->slot;
    if (UNLIKELY(!s) && !(s = memprof_preload_shared_slot(t))) {
        s = &memprof_state.slots[0];
        __atomic_fetch_add(&s->allocations, allocs, __ATOMIC_RELAXED);
        __atomic_fetch_add(&s->allocated_bytes, bytes, __ATOMIC_RELAXED);
        __atomic_fetch_add(&s->allocated_usable, usable, __ATOMIC_RELAXED);
        __atomic_fetch_add(&s->frees, frees, __ATOMIC_RELAXED);
        __atomic_fetch_add(&s->freed_usable, freed, __ATOMIC_RELAXED);
        __atomic_add_fetch(&memprof_state.flushed_live, (int64_t)(usable - freed), __ATOMIC_RELAXED);
        return;
    }
    /* A request not carried out yet is first (or waited for): the call is counted from it, as it
     * is sampled at its rate. Counted before, it fell before the counters' new start while its
     * event was recorded: the thread carrying the request out, and each one waiting for it. */
    if (UNLIKELY(memprof_preload_stale(t)))
        memprof_preload_sync(t);
    memprof_preload_add(t, s, allocs, bytes, usable, frees, freed);
}

/* The countdown ran out: this allocation is sampled (unless a signal handler interrupted the
 * address set), and the next gap is drawn. */
__attribute__((noinline, cold)) static int memprof_preload_take(struct memprof_preload_thread *t)
{
    if (!t->initialized)
        return 0;
    t->countdown = memprof_preload_gap(t);
    return !t->busy;
}

/* A block of at least the rate is always sampled and weighs its own size (heapprofd's rule), and
 * it does not touch the countdown. Why the estimate stays unbiased: the countdown is drawn from an
 * exponential distribution, which is memoryless, so at every small allocation the bytes left to the
 * next sample are Exp(rate) whatever came before — large blocks skipped or not. A small block of s
 * bytes is thus sampled with probability 1 - e^(-s/rate), independently of the others, and its
 * weight s / (1 - e^(-s/rate)) has expectation s; a large block is taken with probability 1 at
 * weight s. Letting large blocks consume the countdown would be unbiased too, but would spend
 * samples of small blocks on bytes already counted exactly. */
__attribute__((noinline, cold)) static int memprof_preload_take_large(struct memprof_preload_thread *t)
{
    return t->initialized && !t->busy;
}

/* A thread without state of its own (initialized == 0) is never sampled and never written to. */
static inline int memprof_preload_sample(struct memprof_preload_thread *t, size_t size)
{
    if (UNLIKELY(memprof_preload_stale(t)))
        memprof_preload_sync(t);
    if (UNLIKELY(size >= rate))
        return memprof_preload_take_large(t);
    if (UNLIKELY(!t->initialized))
        return 0;
    t->countdown -= (int64_t)size;
    return UNLIKELY(t->countdown <= 0) && memprof_preload_take(t);
}

__attribute__((noinline)) static void memprof_preload_report(struct memprof_preload_thread *t, void *block, size_t size,
                                                            void *old_block, unsigned func, unsigned flags)
{
    if ((flags & MEMPROF_EVENT_NEW_SAMPLED) && !memprof_preload_every_free()) {
        t->busy = 1;
        if (!memprof_preload_insert((uintptr_t)block))
            __atomic_fetch_add(&memprof_state.untracked_samples, 1, __ATOMIC_RELAXED);
        t->busy = 0;
    }
    if (!MEMPROF_RING_EMIT(func, flags, block, old_block, size))
        memprof_preload_sampled_alloc(block, size, old_block, func | ((unsigned long)flags << MEMPROF_MARKER_FLAGS_SHIFT));
}

/* Whether a block being freed was sampled (and forget it). */
static inline int memprof_preload_was_sampled(struct memprof_preload_thread *t, void *block)
{
    if (memprof_preload_every_free())
        return 1;
    if (LIKELY(__atomic_load_n(memprof_preload_filter_of((uintptr_t)block), __ATOMIC_RELAXED) == 0) || t->busy)
        return 0;
    /* A request not carried out yet (no allocation call since it came) empties the set first:
     * a block sampled for an earlier recording is not this one's. */
    if (UNLIKELY(__atomic_load_n(&memprof_state.requested_generation, __ATOMIC_ACQUIRE) !=
                 __atomic_load_n(&memprof_state.applied_generation, __ATOMIC_ACQUIRE)))
        memprof_preload_apply_request(t, 0);
    /* A thread without state of its own relies on the lock's owner check alone. */
    if (!t->initialized)
        return memprof_preload_remove((uintptr_t)block, memprof_preload_hash((uintptr_t)block));
    t->busy = 1;
    int found = memprof_preload_remove((uintptr_t)block, memprof_preload_hash((uintptr_t)block));
    t->busy = 0;
    return found;
}

/* The old block lives on after a failed resize, still sampled. */
static void memprof_preload_still_sampled(struct memprof_preload_thread *t, void *old)
{
    if (memprof_preload_every_free())
        return;
    int was_busy = t->busy;
    if (t->initialized)
        t->busy = 1;
    memprof_preload_insert((uintptr_t)old);
    if (t->initialized)
        t->busy = was_busy;
}

static inline void *memprof_preload_allocated(struct memprof_preload_thread *t, void *block, size_t size, uint64_t usable, unsigned func)
{
    if (UNLIKELY(!block))
        return block;
    memprof_preload_count(t, 1, size, usable, 0, 0);
    if (memprof_preload_sample(t, size))
        memprof_preload_report(t, block, size, NULL, func, MEMPROF_EVENT_NEW_SAMPLED);
    return block;
}

static inline void memprof_preload_freeing(struct memprof_preload_thread *t, void *block, uint64_t usable)
{
    memprof_preload_count(t, 0, 0, 0, 1, usable);
    /* Reported before the block is released, so no other thread can be handed its address first. */
    if (memprof_preload_was_sampled(t, block) && !MEMPROF_RING_EMIT(MEMPROF_FREE, MEMPROF_EVENT_OLD_SAMPLED, block, 0, 0))
        memprof_preload_sampled_free(block);
}

#endif
