/* In-process sampling put into a running process (libmemprof_inject.so); the sampling itself is
 * memprof_sampler.h's.
 *
 * memprof dlopens this library at a safe point, fills a forwarding table in memprof_preload_state
 * with what the program's GOT slots of one allocator point at (glibc's malloc, libjemalloc's…),
 * asks for its rate (memprof_preload.h: the attach protocol), and then points the slots at the
 * table's entry points, memprof_inject<k>_<function>. Those count, sample, and call the table's
 * functions. Nothing interposes by name: the library exports no malloc.
 *
 * dlopen-safe: no TLS of its own (a library dlopen'ed late may find no static TLS left, and
 * dynamic TLS allocates on a thread's first access). A thread finds its state in a table keyed by
 * its thread pointer (%fs:0), claimed on its first call and released by a pthread key's
 * destructor; the key is created by the constructor, which neither allocates through the slots
 * being patched (none points here yet) nor assumes it runs before main. */
#define _GNU_SOURCE
/* Blocks from before the attach are freed through the sampler too: at every rate a free is
 * reported only if its block was sampled. */
#define MEMPROF_FREES_NEED_SET 1
#include "memprof_sampler.h"

/* ---- a thread's state ---- */

#define THREAD_BITS 13
#define THREADS (1 << THREAD_BITS)
/* A thread's entry lies at most this far past its home; past that it has no state of its own. */
#define THREAD_PROBES 32

struct memprof_inject_thread {
    uintptr_t owner;  /* the thread pointer of the thread it belongs to; 0: free */
    struct memprof_preload_thread t;
} __attribute__((aligned(64)));
_Static_assert(sizeof(struct memprof_inject_thread) == 64, "one cache line per thread");

static struct memprof_inject_thread threads[THREADS];

/* Threads without an entry (thousands at once): counted in the shared slot, never sampled, and
 * never written to (initialized == 0 and exited == 1 keep every path off it). */
static struct memprof_preload_thread unkeyed = { .exited = 1 };

static inline uint32_t memprof_inject_home(uintptr_t tp)
{
    /* Thread pointers of stacks of one size differ only in high bits: mix them down. */
    return (uint32_t)((tp * 0x9E3779B97F4A7C15ULL) >> (64 - THREAD_BITS));
}

__attribute__((noinline, cold)) static struct memprof_preload_thread *memprof_inject_self_slow(uintptr_t tp)
{
    uint32_t home = memprof_inject_home(tp);
    for (uint32_t i = 0; i < THREAD_PROBES; i++) {
        struct memprof_inject_thread *e = &threads[(home + i) & (THREADS - 1)];
        if (__atomic_load_n(&e->owner, __ATOMIC_ACQUIRE) == tp)
            return &e->t;
    }
    for (uint32_t i = 0; i < THREAD_PROBES; i++) {
        struct memprof_inject_thread *e = &threads[(home + i) & (THREADS - 1)];
        uintptr_t free_entry = 0;
        if (__atomic_load_n(&e->owner, __ATOMIC_RELAXED) == 0 &&
            __atomic_compare_exchange_n(&e->owner, &free_entry, tp, 0, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED)) {
            memset(&e->t, 0, sizeof(e->t));
            return &e->t;
        }
    }
    return &unkeyed;
}

static inline struct memprof_preload_thread *memprof_self(void)
{
    uintptr_t tp = memprof_thread_pointer();
    struct memprof_inject_thread *e = &threads[memprof_inject_home(tp)];
    if (LIKELY(__atomic_load_n(&e->owner, __ATOMIC_RELAXED) == tp))
        return &e->t;
    return memprof_inject_self_slow(tp);
}

/* The key's destructor: the entry is free for the next thread. A call the thread still makes
 * (a later key's destructor) claims an entry again and registers the destructor again; glibc
 * runs destructors up to PTHREAD_DESTRUCTOR_ITERATIONS rounds, so an entry claimed in the last
 * one stays owned by a thread pointer no live thread has, until a new thread gets that pointer
 * (glibc reuses cached stacks) and simply continues with it. */
static void memprof_front_thread_exit(struct memprof_preload_thread *t)
{
    memprof_preload_thread_done(t);
    struct memprof_inject_thread *e = (struct memprof_inject_thread *)((char *)t - offsetof(struct memprof_inject_thread, t));
    if (t != &unkeyed)
        __atomic_store_n(&e->owner, 0, __ATOMIC_RELEASE);
}

static void memprof_front_fork_child(struct memprof_preload_thread *self)
{
    for (int i = 0; i < THREADS; i++)
        if (&threads[i].t != self)
            threads[i].owner = 0;
}

/* ---- the allocators' live heaps ---- */

static int64_t memprof_inject_glibc_live(const struct memprof_forward_table *table)
{
    struct mallinfo2 info = table->mallinfo2();
    /* Chunks in use (with their 8-byte headers, and blocks parked in tcache) and mmapped chunks. */
    return (int64_t)(info.uordblks + info.hblkhd);
}

static int memprof_inject_jemalloc_live(const struct memprof_forward_table *table, int64_t *live)
{
    uint64_t epoch = 1;
    size_t size = sizeof(epoch);
    /* Statistics are a snapshot refreshed by advancing the epoch. */
    if (table->mallctl("epoch", &epoch, &size, &epoch, size) != 0)
        return 0;
    size_t allocated = 0;
    size = sizeof(allocated);
    if (table->mallctl("stats.allocated", &allocated, &size, NULL, 0) != 0)
        return 0;
    *live = (int64_t)allocated;
    return 1;
}

/* At a safe point: the sum of every filled table's allocator's live heap. A table whose allocator
 * cannot tell leaves its heap out (BASE_UNKNOWN); with no table able to tell, what the library
 * counted so far goes on. Elsewhere the counted live heap goes on, and so does whether the base
 * it grew from was measured. */
static int64_t memprof_front_base_live(int64_t counted, uint32_t *flags, int measure)
{
    *flags &= ~(uint32_t)MEMPROF_STATE_USABLE_UNKNOWN;
    int64_t base = 0;
    int known = 0, unknown = 0;
    for (int i = 0; i < MEMPROF_FORWARD_TABLES; i++) {
        const struct memprof_forward_table *table = &memprof_state.tables[i];
        uint32_t kind = __atomic_load_n(&table->kind, __ATOMIC_ACQUIRE);
        if (kind == MEMPROF_ALLOCATOR_NONE)
            continue;
        if (kind != MEMPROF_ALLOCATOR_GLIBC && !table->usable_size)
            *flags |= MEMPROF_STATE_USABLE_UNKNOWN;
        if (!measure)
            continue;
        int64_t live = 0;
        if (kind == MEMPROF_ALLOCATOR_GLIBC && table->mallinfo2) {
            base += memprof_inject_glibc_live(table);
            known++;
        } else if (kind == MEMPROF_ALLOCATOR_JEMALLOC && table->mallctl && memprof_inject_jemalloc_live(table, &live)) {
            base += live;
            known++;
        } else {
            unknown++;
        }
    }
    if (!measure || known == 0)
        return counted;
    if (unknown)
        *flags |= MEMPROF_STATE_BASE_UNKNOWN;
    else
        *flags &= ~(uint32_t)MEMPROF_STATE_BASE_UNKNOWN;
    return base;
}

/* ---- set-up ---- */

/* At dlopen, in whichever thread memprof's loader runs it, with the program's threads running.
 * Sampling starts at the default rate; memprof's first request sets its own before any slot
 * points here. The base is unknown until memprof_preload_apply measures it. */
__attribute__((constructor)) static void memprof_inject_init(void)
{
    memprof_preload_setup_state(DEFAULT_RATE, MEMPROF_STATE_INJECTED | MEMPROF_STATE_BASE_UNKNOWN, MEMPROF_FORWARD_TABLES);
}

#include "memprof_forward.h"

/* The entry points of table k. */
#define MEMPROF_INJECT_TABLE(k)                                                                                             \
    __attribute__((optimize("omit-frame-pointer"))) EXPORT void *memprof_inject##k##_malloc(size_t size)                    \
    {                                                                                                                       \
        return memprof_forward_malloc(&memprof_state.tables[k], size);                                                      \
    }                                                                                                                       \
    __attribute__((optimize("omit-frame-pointer"))) EXPORT void memprof_inject##k##_free(void *block)                       \
    {                                                                                                                       \
        memprof_forward_free(&memprof_state.tables[k], RELEASE_FREE, block, 0, 0);                                          \
    }                                                                                                                       \
    EXPORT void *memprof_inject##k##_calloc(size_t count, size_t size)                                                      \
    {                                                                                                                       \
        return memprof_forward_calloc(&memprof_state.tables[k], count, size);                                               \
    }                                                                                                                       \
    EXPORT void *memprof_inject##k##_realloc(void *old, size_t size)                                                        \
    {                                                                                                                       \
        return memprof_forward_resize(&memprof_state.tables[k], RESIZE_REALLOC, old, size, 0, 0, NULL);                     \
    }                                                                                                                       \
    EXPORT void *memprof_inject##k##_reallocarray(void *old, size_t count, size_t size)                                     \
    {                                                                                                                       \
        return memprof_forward_reallocarray(&memprof_state.tables[k], old, count, size);                                    \
    }                                                                                                                       \
    EXPORT int memprof_inject##k##_posix_memalign(void **out, size_t alignment, size_t size)                                \
    {                                                                                                                       \
        return memprof_forward_posix_memalign(&memprof_state.tables[k], out, alignment, size);                              \
    }                                                                                                                       \
    EXPORT void *memprof_inject##k##_aligned_alloc(size_t alignment, size_t size)                                           \
    {                                                                                                                       \
        return memprof_forward_aligned(&memprof_state.tables[k], alignment, size, MEMPROF_ALIGNED_ALLOC);                   \
    }                                                                                                                       \
    EXPORT void *memprof_inject##k##_memalign(size_t alignment, size_t size)                                                \
    {                                                                                                                       \
        return memprof_forward_aligned(&memprof_state.tables[k], alignment, size, MEMPROF_MEMALIGN);                        \
    }                                                                                                                       \
    EXPORT void *memprof_inject##k##_valloc(size_t size)                                                                    \
    {                                                                                                                       \
        return memprof_forward_aligned(&memprof_state.tables[k], 0, size, MEMPROF_VALLOC);                                  \
    }                                                                                                                       \
    EXPORT void *memprof_inject##k##_pvalloc(size_t size)                                                                   \
    {                                                                                                                       \
        return memprof_forward_aligned(&memprof_state.tables[k], 0, size, MEMPROF_PVALLOC);                                 \
    }                                                                                                                       \
    EXPORT void *memprof_inject##k##_mallocx(size_t size, int flags)                                                        \
    {                                                                                                                       \
        return memprof_forward_mallocx(&memprof_state.tables[k], size, flags);                                              \
    }                                                                                                                       \
    EXPORT void *memprof_inject##k##_rallocx(void *old, size_t size, int flags)                                             \
    {                                                                                                                       \
        return memprof_forward_resize(&memprof_state.tables[k], RESIZE_RALLOCX, old, size, 0, flags, NULL);                 \
    }                                                                                                                       \
    EXPORT size_t memprof_inject##k##_xallocx(void *block, size_t size, size_t extra, int flags)                            \
    {                                                                                                                       \
        return memprof_forward_xallocx(&memprof_state.tables[k], block, size, extra, flags);                                \
    }                                                                                                                       \
    __attribute__((optimize("omit-frame-pointer"))) EXPORT void memprof_inject##k##_sdallocx(void *block, size_t size,      \
                                                                                              int flags)                    \
    {                                                                                                                       \
        memprof_forward_free(&memprof_state.tables[k], RELEASE_SDALLOCX, block, size, flags);                               \
    }                                                                                                                       \
    __attribute__((optimize("omit-frame-pointer"))) EXPORT void memprof_inject##k##_dallocx(void *block, int flags)         \
    {                                                                                                                       \
        memprof_forward_free(&memprof_state.tables[k], RELEASE_DALLOCX, block, 0, flags);                                   \
    }

MEMPROF_INJECT_TABLE(0)
MEMPROF_INJECT_TABLE(1)
MEMPROF_INJECT_TABLE(2)
MEMPROF_INJECT_TABLE(3)
_Static_assert(MEMPROF_FORWARD_TABLES == 4, "one MEMPROF_INJECT_TABLE per table");
