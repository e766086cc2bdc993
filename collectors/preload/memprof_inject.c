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
/* Sampled events go into memprof's shared rings when the attach gives some (see "the shared
 * rings" below), else to the markers. */
#define MEMPROF_RING_WRITER 1
#include <stdint.h>
static inline int memprof_inject_emit(uint32_t func, uint32_t flags, uint64_t address, uint64_t old, uint64_t size);
#define MEMPROF_RING_EMIT(func, flags, address, old, size) \
    memprof_inject_emit((func), (flags), (uint64_t)(uintptr_t)(address), (uint64_t)(uintptr_t)(old), (size))
#include "memprof_sampler.h"

/* libgcc's unwinder, linked in privately for the rings' in-process unwinding, allocates only to
 * register frames at run time (__register_frame), which nothing does with this copy: its
 * references to malloc and free are bound here (ld --wrap, Makefile), so that the library imports
 * no allocator function: a GOT slot of malloc in the sampler itself would be one more for memprof
 * to tell apart from the program's (and must never lead back into the sampler). */
__attribute__((used, visibility("hidden"))) void *__wrap_malloc(size_t size)
{
    (void)size;
    return NULL;
}

__attribute__((used, visibility("hidden"))) void __wrap_free(void *block) { (void)block; }

/* ---- a thread's state ---- */

#define THREAD_BITS 13
#define THREADS (1 << THREAD_BITS)
/* A thread's entry lies at most this far past its home; past that it has no state of its own. */
#define THREAD_PROBES 32

/* A thread's ring state lives here too (the launch library keeps it in TLS): `r` says which
 * ring of the mapping of `ring_epoch` the thread writes into, and `inside` counts the thread's
 * ring writes under way (a signal handler's nests), which a switch of rings waits out. */
struct memprof_inject_thread {
    uintptr_t owner;  /* the thread pointer of the thread it belongs to; 0: free */
    struct memprof_preload_thread t;
    struct memprof_ring_thread r;
    uint64_t ring_epoch;
    uint32_t inside;
} __attribute__((aligned(64)));
_Static_assert(sizeof(struct memprof_inject_thread) == 192, "three cache lines per thread");

static struct memprof_inject_thread threads[THREADS];

/* Threads without an entry (thousands at once): counted in the shared slot, never sampled, and
 * never written to (initialized == 0 and exited == 1 keep every path off it); their events, if
 * any, go to the markers. */
static struct memprof_preload_thread unkeyed = { .exited = 1 };

static inline struct memprof_inject_thread *memprof_inject_entry(struct memprof_preload_thread *t)
{
    return (struct memprof_inject_thread *)((char *)t - offsetof(struct memprof_inject_thread, t));
}

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
            /* The ring state was left by its last thread's exit (or a fork): none claimed. */
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
static void memprof_inject_ring_thread_exit(struct memprof_inject_thread *e);

static void memprof_front_thread_exit(struct memprof_preload_thread *t)
{
    memprof_preload_thread_done(t);
    if (t == &unkeyed)
        return;
    struct memprof_inject_thread *e = memprof_inject_entry(t);
    memprof_inject_ring_thread_exit(e);
    __atomic_store_n(&e->owner, 0, __ATOMIC_RELEASE);
}

static void memprof_inject_ring_fork_child(struct memprof_inject_thread *self);

static void memprof_front_fork_child(struct memprof_preload_thread *self)
{
    for (int i = 0; i < THREADS; i++) {
        if (&threads[i].t == self)
            continue;
        threads[i].owner = 0;
        /* Threads the child does not have were maybe inside a ring write: never waited for. */
        threads[i].inside = 0;
    }
    memprof_inject_ring_fork_child(self == &unkeyed ? NULL : memprof_inject_entry(self));
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

/* ---- the shared rings ----
 *
 * When memprof attaches at a rate where samples are frequent, it creates the rings
 * (memprof_ring.h) and names them in memprof_inject_rings; memprof_preload_apply, its remote call
 * at a safe point, maps them (memprof_inject_rings_switch), and the sampled events of every
 * thread with an entry go there, with the stack unwound in process, instead of trapping on a
 * marker. As at launch, a writer whose ring is full waits for memprof, and drops (and counts)
 * once memprof is gone (its pid or its heartbeat): the program runs on.
 *
 * Unlike the launch library's, these rings come and go while the program runs: memprof turns
 * them off after its last drain (the same remote call, with no path), and the next attach (maybe
 * after a memprof that was killed and never did) replaces whatever is mapped. A mapping is only
 * unmapped once no thread can be inside it: a writer raises its `inside` count and then (with a
 * full fence between) looks at ring_on; the switch clears ring_on and then (fence) waits until
 * every entry's count is 0 — whichever comes second sees the other's write. memprof_ring (and the
 * pid, the epoch) only change while ring_on is 0 and nobody is inside. */

EXPORT struct memprof_inject_rings memprof_inject_rings;
static int ring_on;            /* threads may write into memprof_ring */
static uint64_t ring_epoch;    /* the mapping threads' ring states belong to */
/* How long a switch waits for writers to leave the earlier rings: a writer waiting for room sees
 * reader_gone (set first) within ~10 ms. */
#define RING_QUIET_NS (2ULL * 1000000000ULL)

static size_t memprof_inject_ring_bytes(const struct memprof_ring_shared *sh)
{
    return sh->data_offset + (uint64_t)sh->ring_count * sh->ring_bytes;
}

/* A thread's ring state from an earlier mapping (or none): no ring claimed; the unwind rules it
 * cached are forgotten (libraries may have come and gone since), their pages kept. */
static void memprof_inject_ring_renew(struct memprof_inject_thread *e, uint64_t epoch)
{
    struct memprof_unwind_rule *cache = e->r.unwind_cache;
    memset(&e->r, 0, sizeof(e->r));
    if (cache)
        memset(cache, 0, MEMPROF_RING_THREAD_CACHES_BYTES);
    e->r.unwind_cache = cache;
    e->ring_epoch = epoch;
}

/* MEMPROF_RING_EMIT: false when the event is to go to a marker (no rings, no entry, no free
 * ring). Inlined, so that memprof_ring_write's caller is the sampler's frame, as at launch. */
__attribute__((always_inline)) static inline int memprof_inject_emit(uint32_t func, uint32_t flags, uint64_t address, uint64_t old,
                                                                    uint64_t size)
{
    if (!__atomic_load_n(&ring_on, __ATOMIC_RELAXED))
        return 0;
    struct memprof_preload_thread *t = memprof_self();
    if (t == &unkeyed)
        return 0;
    struct memprof_inject_thread *e = memprof_inject_entry(t);
    __atomic_store_n(&e->inside, e->inside + 1, __ATOMIC_RELAXED);
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    int done = 0;
    if (__atomic_load_n(&ring_on, __ATOMIC_ACQUIRE)) {
        uint64_t epoch = __atomic_load_n(&ring_epoch, __ATOMIC_RELAXED);
        if (e->ring_epoch != epoch)
            memprof_inject_ring_renew(e, epoch);
        /* A thread that reuses the thread pointer of one whose last destructor round claimed the
         * entry (and a ring) goes on with that state: once memprof has freed the dead thread's
         * ring, this one claims its own instead of writing where another may. */
        else if (e->r.state == 1 &&
                 __atomic_load_n(&e->r.control->owner, __ATOMIC_RELAXED) != ((uint64_t)memprof_ring_pid << 32 | e->r.tid)) {
            e->r.state = 0;
            e->r.control = NULL;
            e->r.data = NULL;
            e->r.stack_top = 0;
        }
        done = memprof_ring_write(&e->r, func, flags, address, old, size);
    }
    __atomic_store_n(&e->inside, e->inside - 1, __ATOMIC_RELEASE);
    return done;
}

/* The thread ends: its ring (if of the mapping in use) is free for another, its rules unmapped. */
static void memprof_inject_ring_thread_exit(struct memprof_inject_thread *e)
{
    __atomic_store_n(&e->inside, e->inside + 1, __ATOMIC_RELAXED);
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    if (__atomic_load_n(&ring_on, __ATOMIC_ACQUIRE) && e->ring_epoch == __atomic_load_n(&ring_epoch, __ATOMIC_RELAXED)) {
        memprof_ring_release(&e->r, 1);
    } else if (e->r.unwind_cache) {
        munmap(e->r.unwind_cache, MEMPROF_RING_THREAD_CACHE_BYTES);
        e->r.unwind_cache = NULL;
    }
    memset(&e->r, 0, sizeof(e->r));
    e->ring_epoch = 0;
    __atomic_store_n(&e->inside, e->inside - 1, __ATOMIC_RELEASE);
}

/* The child shares the parent's rings (the mapping is inherited) but not its threads' rings:
 * its surviving thread claims one of its own, and its events carry its own pid. The other
 * entries' rules are the parent's threads' private copies: unmapped. */
static void memprof_inject_ring_fork_child(struct memprof_inject_thread *self)
{
    memprof_ring_pid = (uint32_t)getpid();
    for (int i = 0; i < THREADS; i++) {
        struct memprof_inject_thread *e = &threads[i];
        if (e == self) {
            memprof_ring_release(&e->r, 0);
            continue;
        }
        if (e->r.unwind_cache)
            munmap(e->r.unwind_cache, MEMPROF_RING_THREAD_CACHE_BYTES);
        memset(&e->r, 0, sizeof(e->r));
        e->ring_epoch = 0;
    }
}

/* Whether no thread is inside a ring write, waiting up to RING_QUIET_NS for it. */
static int memprof_inject_rings_quiet(void)
{
    uint64_t deadline = memprof_preload_now_ns() + RING_QUIET_NS;
    for (;;) {
        int busy = 0;
        for (int i = 0; i < THREADS && !busy; i++)
            busy = __atomic_load_n(&threads[i].inside, __ATOMIC_ACQUIRE) != 0;
        if (!busy)
            return 1;
        if (memprof_preload_now_ns() > deadline)
            return 0;
        struct timespec pause = { 0, 1000000 };
        nanosleep(&pause, NULL);
    }
}

/* Carries out memprof's rings request (memprof_preload.h), at the safe point: only syscalls. */
static void memprof_inject_rings_switch(void)
{
    struct memprof_inject_rings *q = &memprof_inject_rings;
    uint64_t requested = __atomic_load_n(&q->requested, __ATOMIC_ACQUIRE);
    if (requested == __atomic_load_n(&q->applied, __ATOMIC_RELAXED))
        return;
    __atomic_store_n(&ring_on, 0, __ATOMIC_RELAXED);
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    int64_t status = MEMPROF_INJECT_RINGS_OFF;
    if (memprof_ring) {
        /* Nobody reads these any more (memprof is done with them, or was killed): a writer
         * waiting for room drops its event and leaves. */
        __atomic_store_n(&memprof_ring->reader_gone, 1, __ATOMIC_RELAXED);
        if (!memprof_inject_rings_quiet()) {
            /* Kept mapped for the writer still in it; the next request tries again. */
            q->status = MEMPROF_INJECT_RINGS_BUSY;
            __atomic_store_n(&q->applied, requested, __ATOMIC_RELEASE);
            return;
        }
        munmap(memprof_ring, memprof_inject_ring_bytes(memprof_ring));
        memprof_ring = NULL;
    }
    __atomic_store_n(&ring_epoch, ring_epoch + 1, __ATOMIC_RELAXED);
    char path[MEMPROF_INJECT_RINGS_PATH_BYTES];
    memcpy(path, q->path, sizeof(path));
    path[sizeof(path) - 1] = '\0';
    if (path[0]) {
        errno = 0;
        if (memprof_ring_open(path))
            status = MEMPROF_INJECT_RINGS_ON;
        else
            status = errno ? -(int64_t)errno : MEMPROF_INJECT_RINGS_NOT_RINGS;
    }
    q->switches++;
    q->status = status;
    if (status == MEMPROF_INJECT_RINGS_ON)
        __atomic_store_n(&ring_on, 1, __ATOMIC_RELEASE);
    __atomic_store_n(&q->applied, requested, __ATOMIC_RELEASE);
}

static void memprof_front_safe_point(void)
{
    int saved_errno = errno;
    memprof_inject_rings_switch();
    errno = saved_errno;
}

/* For memprof's remote call at its detach, at a safe point: the rings request alone (counting
 * and sampling stay as they are). Returns the generation carried out. */
EXPORT uint64_t memprof_inject_switch_rings(void)
{
    memprof_front_safe_point();
    return __atomic_load_n(&memprof_inject_rings.applied, __ATOMIC_ACQUIRE);
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
