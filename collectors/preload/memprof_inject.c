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

/* ---- forwarding ---- */

typedef const struct memprof_forward_table table_t;

static inline uint64_t memprof_inject_usable(table_t *table, void *block)
{
    if (LIKELY(table->kind == MEMPROF_ALLOCATOR_GLIBC))
        return memprof_preload_glibc_usable(block);
    return table->usable_size ? table->usable_size(block) : 0;
}

static inline void *memprof_inject_allocated(table_t *table, void *block, size_t size, unsigned func)
{
    if (UNLIKELY(!block))
        return block;
    return memprof_preload_allocated(memprof_self(), block, size, memprof_inject_usable(table, block), func);
}

/* Counts a free and reports it if sampled: before the block goes back to its allocator. */
static inline void memprof_inject_freeing(table_t *table, void *block)
{
    memprof_preload_freeing(memprof_self(), block, memprof_inject_usable(table, block));
}

/* malloc and free have fast paths without a frame of their own for the common case, as in the
 * launch library; the general path is entered by a tail call, so a frame-pointer walk from the
 * marker finds the program's call site. */
__attribute__((noinline)) static void *memprof_inject_malloc_slow(table_t *table, size_t size, int countdown_passed)
{
    if (UNLIKELY(!table->malloc))
        return NULL;
    void *block = table->malloc(size);
    if (UNLIKELY(!block))
        return block;
    struct memprof_preload_thread *t = memprof_self();
    memprof_preload_count(t, 1, size, memprof_inject_usable(table, block), 0, 0);
    int sampled = countdown_passed && !memprof_preload_stale(t) ? memprof_preload_take(t) : memprof_preload_sample(t, size);
    if (sampled)
        memprof_preload_report(t, block, size, NULL, MEMPROF_MALLOC, MEMPROF_EVENT_NEW_SAMPLED);
    return block;
}

static inline __attribute__((always_inline)) void *memprof_inject_malloc(table_t *table, size_t size)
{
    struct memprof_preload_thread *t = memprof_self();
    struct memprof_preload_slot *s = t->slot;
    if (UNLIKELY(!s || size >= rate || memprof_preload_stale(t) || !table->malloc))
        return memprof_inject_malloc_slow(table, size, 0);
    t->countdown -= (int64_t)size;
    if (UNLIKELY(t->countdown <= 0))
        return memprof_inject_malloc_slow(table, size, 1);
    void *block = table->malloc(size);
    if (UNLIKELY(!block))
        return block;
    memprof_preload_add(t, s, 1, size, memprof_inject_usable(table, block), 0, 0);
    return block;
}

/* How a block goes back: free, sdallocx, dallocx. */
enum memprof_inject_release { RELEASE_FREE, RELEASE_SDALLOCX, RELEASE_DALLOCX };

static inline __attribute__((always_inline)) int memprof_inject_can_release(table_t *table, enum memprof_inject_release how)
{
    return how == RELEASE_FREE ? table->free != NULL : how == RELEASE_SDALLOCX ? table->sdallocx != NULL : table->dallocx != NULL;
}

static inline __attribute__((always_inline)) void memprof_inject_release(table_t *table, enum memprof_inject_release how, void *block,
                                                                        size_t size, int flags)
{
    if (how == RELEASE_FREE)
        table->free(block);
    else if (how == RELEASE_SDALLOCX)
        table->sdallocx(block, size, flags);
    else
        table->dallocx(block, flags);
}

__attribute__((noinline)) static void memprof_inject_free_slow(table_t *table, enum memprof_inject_release how, void *block,
                                                              size_t size, int flags)
{
    if (!block)
        return;
    memprof_inject_freeing(table, block);
    /* Without the function the block is left to leak rather than handed to another allocator. */
    if (memprof_inject_can_release(table, how))
        memprof_inject_release(table, how, block, size, flags);
}

static inline __attribute__((always_inline)) void memprof_inject_free(table_t *table, enum memprof_inject_release how, void *block,
                                                                     size_t size, int flags)
{
    struct memprof_preload_thread *t = memprof_self();
    struct memprof_preload_slot *s = t->slot;
    if (UNLIKELY(!block || !s || !memprof_inject_can_release(table, how) ||
                 __atomic_load_n(memprof_preload_filter_of((uintptr_t)block), __ATOMIC_RELAXED) != 0)) {
        memprof_inject_free_slow(table, how, block, size, flags);
        return;
    }
    memprof_preload_add(t, s, 0, 0, 0, 1, memprof_inject_usable(table, block));
    memprof_inject_release(table, how, block, size, flags);
}

/* Which function resizes: realloc, rallocx, or xallocx (in place; returns the usable size). */
enum memprof_inject_resizer { RESIZE_REALLOC, RESIZE_RALLOCX, RESIZE_XALLOCX };

static void *memprof_inject_call_resize(table_t *table, enum memprof_inject_resizer how, void *old, size_t size, size_t extra,
                                        int flags, size_t *xallocx_result)
{
    switch (how) {
    case RESIZE_REALLOC:
        return table->realloc ? table->realloc(old, size) : NULL;
    case RESIZE_RALLOCX:
        return table->rallocx ? table->rallocx(old, size, flags) : NULL;
    case RESIZE_XALLOCX:
        /* Below the request it could not resize in place, and the block is unchanged. */
        *xallocx_result = table->xallocx ? table->xallocx(old, size, extra, flags) : 0;
        return *xallocx_result >= size ? old : NULL;
    }
    return NULL;
}

/* A resize frees the old block and allocates the new one (xallocx: the same address). Sizes
 * as glibc reports them: realloc(NULL, n) is malloc(n), realloc(p, 0) frees p (and whatever it
 * returns is a new block of 0 bytes). A failed resize leaves the old block as it was. */
__attribute__((noinline)) static void *memprof_inject_resize(table_t *table, enum memprof_inject_resizer how, void *old, size_t size,
                                                            size_t extra, int flags, size_t *xallocx_result)
{
    struct memprof_preload_thread *t = memprof_self();
    if (!old) {
        void *block = memprof_inject_call_resize(table, how, NULL, size, extra, flags, xallocx_result);
        return memprof_inject_allocated(table, block, size, MEMPROF_MALLOC);
    }
    if (size == 0 && how == RESIZE_REALLOC) {
        memprof_inject_freeing(table, old);
        return memprof_inject_allocated(table, memprof_inject_call_resize(table, how, old, 0, 0, 0, xallocx_result), 0, MEMPROF_REALLOC);
    }
    uint64_t old_usable = memprof_inject_usable(table, old);
    /* Looked up before the allocator may hand the old address to another thread. */
    int old_sampled = memprof_preload_was_sampled(t, old);
    void *block = memprof_inject_call_resize(table, how, old, size, extra, flags, xallocx_result);
    if (!block) {
        if (old_sampled)
            memprof_preload_still_sampled(t, old);
        return NULL;
    }
    memprof_preload_count(t, 1, size, memprof_inject_usable(table, block), 1, old_usable);
    unsigned report = memprof_preload_sample(t, size) ? MEMPROF_EVENT_NEW_SAMPLED : 0;
    if (old_sampled)
        report |= MEMPROF_EVENT_OLD_SAMPLED;
    if (UNLIKELY(report))
        memprof_preload_report(t, block, size, old, MEMPROF_REALLOC, report);
    return block;
}

static inline void *memprof_inject_calloc(table_t *table, size_t count, size_t size)
{
    if (UNLIKELY(!table->calloc))
        return NULL;
    return memprof_inject_allocated(table, table->calloc(count, size), count * size, MEMPROF_CALLOC);
}

static inline void *memprof_inject_reallocarray(table_t *table, void *old, size_t count, size_t size)
{
    size_t total;
    if (__builtin_mul_overflow(count, size, &total)) {
        errno = ENOMEM;
        return NULL;
    }
    /* glibc's reallocarray calls realloc through libc's own GOT slot, which may point here too:
     * resizing through the table's realloc counts the call once. */
    return memprof_inject_resize(table, RESIZE_REALLOC, old, total, 0, 0, NULL);
}

static inline int memprof_inject_posix_memalign(table_t *table, void **out, size_t alignment, size_t size)
{
    if (UNLIKELY(!table->posix_memalign))
        return ENOMEM;
    int result = table->posix_memalign(out, alignment, size);
    if (result == 0)
        memprof_inject_allocated(table, *out, size, MEMPROF_POSIX_MEMALIGN);
    return result;
}

static inline void *memprof_inject_aligned(table_t *table, size_t alignment, size_t size, unsigned func)
{
    void *block = NULL;
    size_t page;
    switch (func) {
    case MEMPROF_ALIGNED_ALLOC:
        block = table->aligned_alloc ? table->aligned_alloc(alignment, size) : NULL;
        break;
    case MEMPROF_MEMALIGN:
        block = table->memalign ? table->memalign(alignment, size) : NULL;
        break;
    case MEMPROF_VALLOC:
        page = (size_t)sysconf(_SC_PAGESIZE);
        block = table->valloc ? table->valloc(size) : table->memalign ? table->memalign(page, size) : NULL;
        break;
    case MEMPROF_PVALLOC:
        page = (size_t)sysconf(_SC_PAGESIZE);
        block = table->pvalloc ? table->pvalloc(size) : table->memalign ? table->memalign(page, (size + page - 1) & ~(page - 1)) : NULL;
        break;
    }
    return memprof_inject_allocated(table, block, size, func);
}

static inline void *memprof_inject_mallocx(table_t *table, size_t size, int flags)
{
    if (UNLIKELY(!table->mallocx))
        return NULL;
    return memprof_inject_allocated(table, table->mallocx(size, flags), size, MEMPROF_MALLOCX);
}

static inline size_t memprof_inject_xallocx(table_t *table, void *block, size_t size, size_t extra, int flags)
{
    if (UNLIKELY(!table->xallocx || !block))
        return 0;
    size_t result = 0;
    memprof_inject_resize(table, RESIZE_XALLOCX, block, size, extra, flags, &result);
    return result;
}

/* The entry points of table k. */
#define MEMPROF_INJECT_TABLE(k)                                                                                             \
    __attribute__((optimize("omit-frame-pointer"))) EXPORT void *memprof_inject##k##_malloc(size_t size)                    \
    {                                                                                                                       \
        return memprof_inject_malloc(&memprof_state.tables[k], size);                                                       \
    }                                                                                                                       \
    __attribute__((optimize("omit-frame-pointer"))) EXPORT void memprof_inject##k##_free(void *block)                       \
    {                                                                                                                       \
        memprof_inject_free(&memprof_state.tables[k], RELEASE_FREE, block, 0, 0);                                           \
    }                                                                                                                       \
    EXPORT void *memprof_inject##k##_calloc(size_t count, size_t size)                                                      \
    {                                                                                                                       \
        return memprof_inject_calloc(&memprof_state.tables[k], count, size);                                                \
    }                                                                                                                       \
    EXPORT void *memprof_inject##k##_realloc(void *old, size_t size)                                                        \
    {                                                                                                                       \
        return memprof_inject_resize(&memprof_state.tables[k], RESIZE_REALLOC, old, size, 0, 0, NULL);                      \
    }                                                                                                                       \
    EXPORT void *memprof_inject##k##_reallocarray(void *old, size_t count, size_t size)                                     \
    {                                                                                                                       \
        return memprof_inject_reallocarray(&memprof_state.tables[k], old, count, size);                                     \
    }                                                                                                                       \
    EXPORT int memprof_inject##k##_posix_memalign(void **out, size_t alignment, size_t size)                                \
    {                                                                                                                       \
        return memprof_inject_posix_memalign(&memprof_state.tables[k], out, alignment, size);                               \
    }                                                                                                                       \
    EXPORT void *memprof_inject##k##_aligned_alloc(size_t alignment, size_t size)                                           \
    {                                                                                                                       \
        return memprof_inject_aligned(&memprof_state.tables[k], alignment, size, MEMPROF_ALIGNED_ALLOC);                    \
    }                                                                                                                       \
    EXPORT void *memprof_inject##k##_memalign(size_t alignment, size_t size)                                                \
    {                                                                                                                       \
        return memprof_inject_aligned(&memprof_state.tables[k], alignment, size, MEMPROF_MEMALIGN);                         \
    }                                                                                                                       \
    EXPORT void *memprof_inject##k##_valloc(size_t size)                                                                    \
    {                                                                                                                       \
        return memprof_inject_aligned(&memprof_state.tables[k], 0, size, MEMPROF_VALLOC);                                   \
    }                                                                                                                       \
    EXPORT void *memprof_inject##k##_pvalloc(size_t size)                                                                   \
    {                                                                                                                       \
        return memprof_inject_aligned(&memprof_state.tables[k], 0, size, MEMPROF_PVALLOC);                                  \
    }                                                                                                                       \
    EXPORT void *memprof_inject##k##_mallocx(size_t size, int flags)                                                        \
    {                                                                                                                       \
        return memprof_inject_mallocx(&memprof_state.tables[k], size, flags);                                               \
    }                                                                                                                       \
    EXPORT void *memprof_inject##k##_rallocx(void *old, size_t size, int flags)                                             \
    {                                                                                                                       \
        return memprof_inject_resize(&memprof_state.tables[k], RESIZE_RALLOCX, old, size, 0, flags, NULL);                  \
    }                                                                                                                       \
    EXPORT size_t memprof_inject##k##_xallocx(void *block, size_t size, size_t extra, int flags)                            \
    {                                                                                                                       \
        return memprof_inject_xallocx(&memprof_state.tables[k], block, size, extra, flags);                                 \
    }                                                                                                                       \
    __attribute__((optimize("omit-frame-pointer"))) EXPORT void memprof_inject##k##_sdallocx(void *block, size_t size,      \
                                                                                              int flags)                    \
    {                                                                                                                       \
        memprof_inject_free(&memprof_state.tables[k], RELEASE_SDALLOCX, block, size, flags);                                \
    }                                                                                                                       \
    __attribute__((optimize("omit-frame-pointer"))) EXPORT void memprof_inject##k##_dallocx(void *block, int flags)         \
    {                                                                                                                       \
        memprof_inject_free(&memprof_state.tables[k], RELEASE_DALLOCX, block, 0, flags);                                    \
    }

MEMPROF_INJECT_TABLE(0)
MEMPROF_INJECT_TABLE(1)
MEMPROF_INJECT_TABLE(2)
MEMPROF_INJECT_TABLE(3)
_Static_assert(MEMPROF_FORWARD_TABLES == 4, "one MEMPROF_INJECT_TABLE per table");
