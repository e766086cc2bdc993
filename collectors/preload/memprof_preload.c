/* In-process sampling for programs memprof launches (LD_PRELOAD); the sampling itself is
 * memprof_sampler.h's.
 *
 * Interposes glibc's malloc family and forwards to glibc's own entry points (__libc_malloc, …),
 * so it needs no dlsym and works from the first call, before constructors run. A thread's state
 * is initial-exec TLS: the dynamic linker reserves it at start for a preloaded library.
 *
 * A process that brings another malloc (libjemalloc.so, tcmalloc, its own) keeps it: the library
 * then forwards every call there untouched, so a child exec'd with the inherited LD_PRELOAD is
 * never handed blocks of the wrong allocator. */
#define _GNU_SOURCE
#define MEMPROF_RING_WRITER 1
#include <dlfcn.h>
#include "memprof_sampler.h"

extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void __libc_free(void *);
extern void *__libc_memalign(size_t, size_t);
extern void *__libc_valloc(size_t);
extern void *__libc_pvalloc(size_t);

static __thread struct memprof_preload_thread tls __attribute__((tls_model("initial-exec")));

static inline struct memprof_preload_thread *memprof_self(void) { return &tls; }

/* This thread's shared ring (memprof_ring.h), claimed at its first event. */
static __thread struct memprof_ring_thread ring_tls __attribute__((tls_model("initial-exec")));

static inline struct memprof_ring_thread *memprof_front_ring(void) { return &ring_tls; }

/* What the library counted is exact from the process's start: it is the base. */
static int64_t memprof_front_base_live(int64_t counted, uint32_t *flags, int measure)
{
    (void)flags, (void)measure;
    return counted;
}

/* The key's value is this thread's &tls. */
static void memprof_front_thread_exit(struct memprof_preload_thread *t)
{
    (void)t;
    memprof_preload_thread_done(&tls);
    tls.exited = 1;
    if (memprof_ring)
        memprof_ring_release(&ring_tls, 1);
}

/* The child shares the parent's rings but not its thread's: it claims its own. */
static void memprof_front_fork_child(struct memprof_preload_thread *self)
{
    (void)self;
    memprof_ring_pid = (uint32_t)getpid();
    memprof_ring_release(&ring_tls, 0);
}

/* 0: not set up yet, 1: sampling, 2: forwarding to another allocator. */
static int mode;
/* Another allocator's entry points when the process has one (then only they are called). */
static struct {
    void *(*malloc)(size_t);
    void (*free)(void *);
    void *(*calloc)(size_t, size_t);
    void *(*realloc)(void *, size_t);
    int (*posix_memalign)(void **, size_t, size_t);
    void *(*aligned_alloc)(size_t, size_t);
    void *(*memalign)(size_t, size_t);
    void *(*valloc)(size_t);
    void *(*pvalloc)(size_t);
} next;
static int init_state;                   /* 0 not started, 1 in progress, 2 done */

/* ---- set-up ---- */

/* A variable memprof put in the environment (its value cut to out_size - 1 bytes; false when
 * absent), read from /proc/self/environ: the first calls can come before libc has set up environ. */
static int memprof_preload_read_env(const char *name, char *out, size_t out_size)
{
    size_t name_length = strlen(name);
    int fd = open("/proc/self/environ", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    char buf[4096];
    size_t matched = 0;  /* characters of "name=" matched at the start of the current entry; SIZE_MAX: not this entry */
    size_t length = 0;
    int in_value = 0, found = 0;
    ssize_t n;
    while (!found && (n = read(fd, buf, sizeof(buf))) > 0) {
        for (ssize_t i = 0; i < n; i++) {
            char c = buf[i];
            if (in_value) {
                if (c == '\0') {
                    found = 1;
                    break;
                }
                if (length + 1 < out_size)
                    out[length++] = c;
                continue;
            }
            if (c == '\0') {
                matched = 0;
            } else if (matched != (size_t)-1) {
                char want = matched < name_length ? name[matched] : '=';
                if (c == want) {
                    if (++matched == name_length + 1)
                        in_value = 1;
                } else {
                    matched = (size_t)-1;
                }
            }
        }
    }
    close(fd);
    if (out_size > 0)
        out[length] = '\0';
    return in_value;
}

/* The rate memprof put in the environment. */
static uint64_t memprof_preload_read_rate(void)
{
    char text[32];
    if (!memprof_preload_read_env(MEMPROF_PRELOAD_RATE_ENV, text, sizeof(text)))
        return DEFAULT_RATE;
    uint64_t value = 0;
    for (const char *c = text; *c >= '0' && *c <= '9'; c++)
        value = value * 10 + (uint64_t)(*c - '0');
    return value > 0 ? value : DEFAULT_RATE;
}

/* Whether the next malloc in lookup order is another allocator than glibc's; dlsym may allocate,
 * and those calls are served by glibc while busy is set (a foreign allocator is then told about
 * none of them, and their few bytes stay with glibc). */
static void memprof_preload_find_next(void)
{
    void *next_malloc = dlsym(RTLD_NEXT, "malloc");
    if (!next_malloc || next_malloc == (void *)__libc_malloc)
        return;
    next.malloc = next_malloc;
    next.free = dlsym(RTLD_NEXT, "free");
    next.calloc = dlsym(RTLD_NEXT, "calloc");
    next.realloc = dlsym(RTLD_NEXT, "realloc");
    next.posix_memalign = dlsym(RTLD_NEXT, "posix_memalign");
    next.aligned_alloc = dlsym(RTLD_NEXT, "aligned_alloc");
    next.memalign = dlsym(RTLD_NEXT, "memalign");
    next.valloc = dlsym(RTLD_NEXT, "valloc");
    next.pvalloc = dlsym(RTLD_NEXT, "pvalloc");
    /* An allocator without these still has the others; glibc's would take the wrong heap. */
    if (!next.free || !next.calloc || !next.realloc || !next.memalign || !next.posix_memalign || !next.aligned_alloc)
        next.malloc = NULL;
}

static void memprof_preload_global_init(void)
{
    int expected = 0;
    if (!__atomic_compare_exchange_n(&init_state, &expected, 1, 0, __ATOMIC_ACQUIRE, __ATOMIC_ACQUIRE)) {
        while (__atomic_load_n(&init_state, __ATOMIC_ACQUIRE) != 2)
            __builtin_ia32_pause();
        return;
    }
    memprof_preload_find_next();
    if (next.malloc) {
        __atomic_store_n(&mode, 2, __ATOMIC_RELEASE);
        __atomic_store_n(&init_state, 2, __ATOMIC_RELEASE);
        return;
    }
    memprof_preload_setup_state(memprof_preload_read_rate(), 0, 0);
    char ring_path[256];
    if (memprof_preload_read_env(MEMPROF_RING_ENV, ring_path, sizeof(ring_path)))
        memprof_ring_open(ring_path);
    __atomic_store_n(&mode, 1, __ATOMIC_RELEASE);
    __atomic_store_n(&init_state, 2, __ATOMIC_RELEASE);
}

static __thread int in_global_init __attribute__((tls_model("initial-exec")));

/* The first call sets the library up; afterwards this says whether calls go to another
 * allocator. Calls made while setting up (dlsym's, pthread_atfork's) are glibc's. */
__attribute__((noinline, cold)) static int memprof_preload_forwarding(void)
{
    if (__atomic_load_n(&mode, __ATOMIC_ACQUIRE) == 0) {
        if (in_global_init)
            return 0;
        in_global_init = 1;
        memprof_preload_global_init();
        in_global_init = 0;
    }
    return __atomic_load_n(&mode, __ATOMIC_ACQUIRE) == 2;
}

#define FORWARDING() (UNLIKELY(__atomic_load_n(&mode, __ATOMIC_RELAXED) != 1) && memprof_preload_forwarding())

static inline void *memprof_preload_glibc_allocated(void *block, size_t size, unsigned func)
{
    if (UNLIKELY(!block))
        return block;
    return memprof_preload_allocated(&tls, block, size, memprof_preload_glibc_usable(block), func);
}

static inline void memprof_preload_glibc_freeing(void *block)
{
    memprof_preload_freeing(&tls, block, memprof_preload_glibc_usable(block));
}

/* ---- the interposed API ---- */

/* malloc and free, the calls that dominate, have fast paths without a frame of their own (so
 * with nothing to save around glibc's call) for the common case: a thread with its slot, no sample
 * due, no attach request pending, a block the filter has never seen. Everything else takes the
 * general path; when that reports a sample it was entered by a tail call, so its frame sits right
 * above the program's and a frame-pointer walk from the marker finds the program's call site. */
__attribute__((noinline)) static void *memprof_preload_malloc_slow(size_t size, int countdown_passed)
{
    if (FORWARDING())
        return next.malloc(size);
    void *block = __libc_malloc(size);
    if (UNLIKELY(!block))
        return block;
    struct memprof_preload_thread *t = &tls;
    memprof_preload_count(t, 1, size, memprof_preload_glibc_usable(block), 0, 0);
    int sampled = countdown_passed && !memprof_preload_stale(t) ? memprof_preload_take(t) : memprof_preload_sample(t, size);
    if (sampled)
        memprof_preload_report(t, block, size, NULL, MEMPROF_MALLOC, MEMPROF_EVENT_NEW_SAMPLED);
    return block;
}

__attribute__((noinline)) static void memprof_preload_free_slow(void *block)
{
    if (!block)
        return;
    if (FORWARDING()) {
        next.free(block);
        return;
    }
    memprof_preload_glibc_freeing(block);
    __libc_free(block);
}

__attribute__((optimize("omit-frame-pointer"))) EXPORT void *malloc(size_t size)
{
    struct memprof_preload_thread *t = &tls;
    struct memprof_preload_slot *s = t->slot;
    if (UNLIKELY(!s || size >= rate || memprof_preload_stale(t)))
        return memprof_preload_malloc_slow(size, 0);
    t->countdown -= (int64_t)size;
    if (UNLIKELY(t->countdown <= 0))
        return memprof_preload_malloc_slow(size, 1);
    void *block = __libc_malloc(size);
    if (UNLIKELY(!block))
        return block;
    memprof_preload_add(t, s, 1, size, memprof_preload_glibc_usable(block), 0, 0);
    return block;
}

__attribute__((optimize("omit-frame-pointer"))) EXPORT void free(void *block)
{
    struct memprof_preload_thread *t = &tls;
    struct memprof_preload_slot *s = t->slot;
    if (UNLIKELY(!block || !s || __atomic_load_n(memprof_preload_filter_of((uintptr_t)block), __ATOMIC_RELAXED) != 0)) {
        memprof_preload_free_slow(block);
        return;
    }
    memprof_preload_add(t, s, 0, 0, 0, 1, memprof_preload_glibc_usable(block));
    __libc_free(block);
}

EXPORT void *calloc(size_t count, size_t size)
{
    if (FORWARDING())
        return next.calloc(count, size);
    return memprof_preload_glibc_allocated(__libc_calloc(count, size), count * size, MEMPROF_CALLOC);
}

static void *memprof_preload_resize(void *old, size_t size, unsigned func)
{
    /* glibc: realloc(NULL, n) is malloc(n) and realloc(p, 0) is free(p). */
    if (!old)
        return memprof_preload_glibc_allocated(__libc_malloc(size), size, MEMPROF_MALLOC);
    if (size == 0) {
        memprof_preload_glibc_freeing(old);
        return __libc_realloc(old, 0);
    }
    struct memprof_preload_thread *t = &tls;
    uint64_t old_usable = memprof_preload_glibc_usable(old);
    /* Looked up before glibc may hand the old address to another thread. */
    int old_sampled = memprof_preload_was_sampled(t, old);
    void *block = __libc_realloc(old, size);
    if (!block) {
        if (old_sampled)
            memprof_preload_still_sampled(t, old);
        return NULL;
    }
    memprof_preload_count(t, 1, size, memprof_preload_glibc_usable(block), 1, old_usable);
    unsigned flags = memprof_preload_sample(t, size) ? MEMPROF_EVENT_NEW_SAMPLED : 0;
    if (old_sampled)
        flags |= MEMPROF_EVENT_OLD_SAMPLED;
    if (UNLIKELY(flags))
        memprof_preload_report(t, block, size, old, func, flags);
    return block;
}

EXPORT void *realloc(void *old, size_t size)
{
    if (FORWARDING())
        return next.realloc(old, size);
    return memprof_preload_resize(old, size, MEMPROF_REALLOC);
}

EXPORT void *reallocarray(void *old, size_t count, size_t size)
{
    size_t total;
    if (__builtin_mul_overflow(count, size, &total)) {
        errno = ENOMEM;
        return NULL;
    }
    /* glibc's own reallocarray would call glibc's realloc, whatever the process's allocator is. */
    if (FORWARDING())
        return next.realloc(old, total);
    return memprof_preload_resize(old, total, MEMPROF_REALLOC);
}

EXPORT int posix_memalign(void **out, size_t alignment, size_t size)
{
    if (FORWARDING())
        return next.posix_memalign(out, alignment, size);
    if (alignment % sizeof(void *) != 0 || (alignment & (alignment - 1)) != 0 || alignment == 0)
        return EINVAL;
    void *block = __libc_memalign(alignment, size);
    if (!block)
        return ENOMEM;
    *out = memprof_preload_glibc_allocated(block, size, MEMPROF_POSIX_MEMALIGN);
    return 0;
}

EXPORT void *aligned_alloc(size_t alignment, size_t size)
{
    if (FORWARDING())
        return next.aligned_alloc(alignment, size);
    if (alignment == 0 || (alignment & (alignment - 1)) != 0) {
        errno = EINVAL;
        return NULL;
    }
    return memprof_preload_glibc_allocated(__libc_memalign(alignment, size), size, MEMPROF_ALIGNED_ALLOC);
}

EXPORT void *memalign(size_t alignment, size_t size)
{
    if (FORWARDING())
        return next.memalign(alignment, size);
    return memprof_preload_glibc_allocated(__libc_memalign(alignment, size), size, MEMPROF_MEMALIGN);
}

EXPORT void *valloc(size_t size)
{
    if (FORWARDING())
        return next.valloc ? next.valloc(size) : next.memalign((size_t)sysconf(_SC_PAGESIZE), size);
    return memprof_preload_glibc_allocated(__libc_valloc(size), size, MEMPROF_VALLOC);
}

EXPORT void *pvalloc(size_t size)
{
    if (FORWARDING()) {
        size_t page = (size_t)sysconf(_SC_PAGESIZE);
        return next.pvalloc ? next.pvalloc(size) : next.memalign(page, (size + page - 1) & ~(page - 1));
    }
    return memprof_preload_glibc_allocated(__libc_pvalloc(size), size, MEMPROF_PVALLOC);
}
