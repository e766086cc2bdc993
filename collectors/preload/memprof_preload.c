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
#include "memprof_forward.h"

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

/* Rings come from the environment at the first call, for the process's whole life. */
static void memprof_front_safe_point(void) {}

/* How calls are served: 0 not set up yet; 1 sampling through glibc; 2 sampling through the
 * allocator after this library in lookup order (libjemalloc.so.2, tcmalloc…), with its own
 * functions only; 3 forwarding untouched to an allocator without the functions sampling needs. */
enum { MODE_UNSET, MODE_GLIBC, MODE_FOREIGN, MODE_UNTOUCHED };
static int mode;
/* The other allocator's functions, all from the object that defines its malloc (modes 2 and 3). */
static struct memprof_forward_table foreign;
static size_t (*foreign_sallocx)(const void *, int);
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

/* ---- finding the allocator after this library ---- */

/* A function of the object at base (the one defining the next malloc), or NULL when the next
 * definition in lookup order is another object's (glibc's pvalloc behind a libjemalloc without
 * one): a block must go back to the allocator that made it. */
static void *memprof_preload_next_in(const void *base, const char *name)
{
    void *function = dlsym(RTLD_NEXT, name);
    Dl_info info;
    if (!function || !dladdr(function, &info) || info.dli_fbase != base)
        return NULL;
    return function;
}

static size_t memprof_preload_sallocx_usable(void *block) { return foreign_sallocx(block, 0); }

/* The mode the next malloc in lookup order calls for: glibc's, or another allocator's (sampled
 * through its own functions when it has free, calloc and realloc of its own, else left alone). */
static int memprof_preload_find_next(void)
{
    void *next_malloc = dlsym(RTLD_NEXT, "malloc");
    Dl_info info;
    if (!next_malloc || next_malloc == (void *)__libc_malloc || !dladdr(next_malloc, &info))
        return MODE_GLIBC;
    const void *base = info.dli_fbase;
    struct memprof_forward_table *t = &foreign;
    t->malloc = next_malloc;
    t->free = memprof_preload_next_in(base, "free");
    t->calloc = memprof_preload_next_in(base, "calloc");
    t->realloc = memprof_preload_next_in(base, "realloc");
    if (!t->free || !t->calloc || !t->realloc) {
        /* As without the library: each call goes to the next definition of its name. */
        t->free = dlsym(RTLD_NEXT, "free");
        t->calloc = dlsym(RTLD_NEXT, "calloc");
        t->realloc = dlsym(RTLD_NEXT, "realloc");
        t->posix_memalign = dlsym(RTLD_NEXT, "posix_memalign");
        t->aligned_alloc = dlsym(RTLD_NEXT, "aligned_alloc");
        t->memalign = dlsym(RTLD_NEXT, "memalign");
        t->valloc = dlsym(RTLD_NEXT, "valloc");
        t->pvalloc = dlsym(RTLD_NEXT, "pvalloc");
        return t->free && t->calloc && t->realloc && t->memalign ? MODE_UNTOUCHED : MODE_GLIBC;
    }
    t->posix_memalign = memprof_preload_next_in(base, "posix_memalign");
    t->aligned_alloc = memprof_preload_next_in(base, "aligned_alloc");
    t->memalign = memprof_preload_next_in(base, "memalign");
    t->valloc = memprof_preload_next_in(base, "valloc");
    t->pvalloc = memprof_preload_next_in(base, "pvalloc");
    t->mallocx = memprof_preload_next_in(base, "mallocx");
    t->rallocx = memprof_preload_next_in(base, "rallocx");
    t->xallocx = memprof_preload_next_in(base, "xallocx");
    t->sdallocx = memprof_preload_next_in(base, "sdallocx");
    t->dallocx = memprof_preload_next_in(base, "dallocx");
    t->mallctl = memprof_preload_next_in(base, "mallctl");
    t->usable_size = memprof_preload_next_in(base, "malloc_usable_size");
    if (!t->usable_size && (foreign_sallocx = memprof_preload_next_in(base, "sallocx")))
        t->usable_size = memprof_preload_sallocx_usable;
    t->kind = t->mallocx ? MEMPROF_ALLOCATOR_JEMALLOC : MEMPROF_ALLOCATOR_OTHER;
    return MODE_FOREIGN;
}

/* ---- blocks made while setting up ---- */

/* Calls made while the library sets itself up (dlsym's: an error's message, kept until the next
 * dl* call frees it) are served by glibc, uncounted, and remembered here, so that they go back to
 * glibc whichever allocator the process turns out to use. Past the table's room such a call fails
 * (dlsym copes with that). */
#define SETUP_BLOCKS 64
static void *setup_blocks[SETUP_BLOCKS];
static int setup_count;
/* The span of addresses they lie in: a free outside it needs no look-up. */
static uintptr_t setup_low, setup_span;

static void *memprof_preload_remember(void *block)
{
    if (!block)
        return block;
    if (setup_count == SETUP_BLOCKS) {
        __libc_free(block);
        errno = ENOMEM;
        return NULL;
    }
    setup_blocks[setup_count++] = block;
    uintptr_t address = (uintptr_t)block, high = setup_span ? setup_low + setup_span - 1 : address;
    if (!setup_span || address < setup_low)
        setup_low = address;
    if (address > high)
        high = address;
    setup_span = high - setup_low + 1;
    /* Under glibc its free then takes the general path, which knows it. */
    uint8_t *f = memprof_preload_filter_of(address);
    if (*f != 255)
        (*f)++;
    return block;
}

static inline int memprof_preload_maybe_setup(void *block) { return UNLIKELY((uintptr_t)block - setup_low < setup_span); }

/* Forgets a block made while setting up; false when block is none of them. */
__attribute__((noinline, cold)) static int memprof_preload_take_setup(void *block)
{
    if (!memprof_preload_maybe_setup(block))
        return 0;
    for (int i = 0; i < setup_count; i++) {
        void *expected = block;
        if (__atomic_load_n(&setup_blocks[i], __ATOMIC_RELAXED) == block &&
            __atomic_compare_exchange_n(&setup_blocks[i], &expected, NULL, 0, __ATOMIC_ACQ_REL, __ATOMIC_RELAXED)) {
            uint8_t *f = memprof_preload_filter_of((uintptr_t)block);
            if (__atomic_load_n(f, __ATOMIC_RELAXED) != 255)
                __atomic_fetch_sub(f, 1, __ATOMIC_RELAXED);
            return 1;
        }
    }
    return 0;
}

/* ---- set-up ---- */

static void memprof_preload_global_init(void)
{
    int expected = 0;
    if (!__atomic_compare_exchange_n(&init_state, &expected, 1, 0, __ATOMIC_ACQUIRE, __ATOMIC_ACQUIRE)) {
        while (__atomic_load_n(&init_state, __ATOMIC_ACQUIRE) != 2)
            __builtin_ia32_pause();
        return;
    }
    int found = memprof_preload_find_next();
    if (found != MODE_UNTOUCHED) {
        uint32_t flags = found == MODE_FOREIGN && !foreign.usable_size ? MEMPROF_STATE_USABLE_UNKNOWN : 0;
        memprof_preload_setup_state(memprof_preload_read_rate(), flags, 0);
        char ring_path[256];
        if (memprof_preload_read_env(MEMPROF_RING_ENV, ring_path, sizeof(ring_path)))
            memprof_ring_open(ring_path);
    }
    __atomic_store_n(&mode, found, __ATOMIC_RELEASE);
    __atomic_store_n(&init_state, 2, __ATOMIC_RELEASE);
}

static __thread int in_global_init __attribute__((tls_model("initial-exec")));

__attribute__((noinline, cold)) static int memprof_preload_route_slow(void)
{
    if (__atomic_load_n(&mode, __ATOMIC_ACQUIRE) == MODE_UNSET) {
        if (in_global_init)
            return MODE_UNSET;
        in_global_init = 1;
        memprof_preload_global_init();
        in_global_init = 0;
    }
    return __atomic_load_n(&mode, __ATOMIC_ACQUIRE);
}

/* How this call is served: the first call sets the library up; MODE_UNSET for the calls made
 * while it does (glibc's, remembered). */
static inline int memprof_preload_route(void)
{
    int m = __atomic_load_n(&mode, __ATOMIC_RELAXED);
    return LIKELY(m != MODE_UNSET) ? m : memprof_preload_route_slow();
}

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
 * with nothing to save around the allocator's call) for the common case: a thread with its slot,
 * no sample due, no attach request pending, a block the filter has never seen. Everything else
 * takes the general path; when that reports a sample it was entered by a tail call, so its frame
 * sits right above the program's and a frame-pointer walk from the marker finds the program's
 * call site. Through another allocator the paths are memprof_forward.h's, as in the injected
 * library. */
__attribute__((noinline)) static void *memprof_preload_malloc_slow(size_t size, int countdown_passed)
{
    switch (memprof_preload_route()) {
    case MODE_UNSET:
        return memprof_preload_remember(__libc_malloc(size));
    case MODE_FOREIGN:
        return memprof_forward_malloc(&foreign, size);
    case MODE_UNTOUCHED:
        return foreign.malloc(size);
    }
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
    int m = memprof_preload_route();
    if (memprof_preload_maybe_setup(block) && memprof_preload_take_setup(block)) {
        __libc_free(block);
        return;
    }
    if (m == MODE_FOREIGN) {
        memprof_forward_free(&foreign, RELEASE_FREE, block, 0, 0);
        return;
    }
    if (m == MODE_UNTOUCHED) {
        foreign.free(block);
        return;
    }
    memprof_preload_glibc_freeing(block);
    __libc_free(block);
}

/* Through another allocator: the injected library's paths, reached by a tail call (so glibc's
 * fast paths keep needing no saved registers). */
__attribute__((noinline, optimize("omit-frame-pointer"))) static void *memprof_preload_foreign_malloc(size_t size)
{
    return memprof_forward_malloc(&foreign, size);
}

__attribute__((noinline, optimize("omit-frame-pointer"))) static void memprof_preload_foreign_free(void *block)
{
    if (UNLIKELY(memprof_preload_maybe_setup(block))) {
        memprof_preload_free_slow(block);
        return;
    }
    memprof_forward_free(&foreign, RELEASE_FREE, block, 0, 0);
}

__attribute__((optimize("omit-frame-pointer"))) EXPORT void *malloc(size_t size)
{
    if (UNLIKELY(__atomic_load_n(&mode, __ATOMIC_RELAXED) == MODE_FOREIGN))
        return memprof_preload_foreign_malloc(size);
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
    if (UNLIKELY(__atomic_load_n(&mode, __ATOMIC_RELAXED) == MODE_FOREIGN)) {
        memprof_preload_foreign_free(block);
        return;
    }
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
    switch (memprof_preload_route()) {
    case MODE_UNSET:
        return memprof_preload_remember(__libc_calloc(count, size));
    case MODE_FOREIGN:
        return memprof_forward_calloc(&foreign, count, size);
    case MODE_UNTOUCHED:
        return foreign.calloc(count, size);
    }
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

/* A block glibc made while the library set itself up, resized: moved into a block of the
 * process's allocator (counted as an allocation), the old one back to glibc uncounted. */
__attribute__((noinline, cold)) static void *memprof_preload_move_setup(void *old, size_t size)
{
    if (size == 0) {
        free(old);
        return NULL;
    }
    void *block = malloc(size);
    if (!block)
        return NULL;
    size_t old_size = memprof_preload_glibc_usable(old) < size ? memprof_preload_glibc_usable(old) : size;
    memcpy(block, old, old_size);
    free(old);
    return block;
}

static void *memprof_preload_realloc(void *old, size_t size)
{
    int m = memprof_preload_route();
    if (UNLIKELY(old && memprof_preload_maybe_setup(old))) {
        if (m == MODE_UNSET) {
            /* Still setting up: glibc resizes, and the new block is remembered instead. */
            if (memprof_preload_take_setup(old))
                return memprof_preload_remember(__libc_realloc(old, size));
        } else {
            for (int i = 0; i < setup_count; i++)
                if (__atomic_load_n(&setup_blocks[i], __ATOMIC_RELAXED) == old)
                    return memprof_preload_move_setup(old, size);
        }
    }
    switch (m) {
    case MODE_UNSET:
        return memprof_preload_remember(__libc_realloc(old, size));
    case MODE_FOREIGN:
        return memprof_forward_resize(&foreign, RESIZE_REALLOC, old, size, 0, 0, NULL);
    case MODE_UNTOUCHED:
        return foreign.realloc(old, size);
    }
    return memprof_preload_resize(old, size, MEMPROF_REALLOC);
}

EXPORT void *realloc(void *old, size_t size) { return memprof_preload_realloc(old, size); }

EXPORT void *reallocarray(void *old, size_t count, size_t size)
{
    size_t total;
    if (__builtin_mul_overflow(count, size, &total)) {
        errno = ENOMEM;
        return NULL;
    }
    /* glibc's own reallocarray would call glibc's realloc, whatever the process's allocator is. */
    return memprof_preload_realloc(old, total);
}

EXPORT int posix_memalign(void **out, size_t alignment, size_t size)
{
    switch (memprof_preload_route()) {
    case MODE_FOREIGN:
        return memprof_forward_posix_memalign(&foreign, out, alignment, size);
    case MODE_UNTOUCHED:
        return foreign.posix_memalign(out, alignment, size);
    }
    if (alignment % sizeof(void *) != 0 || (alignment & (alignment - 1)) != 0 || alignment == 0)
        return EINVAL;
    void *block = __libc_memalign(alignment, size);
    if (!block)
        return ENOMEM;
    *out = mode == MODE_UNSET ? memprof_preload_remember(block) : memprof_preload_glibc_allocated(block, size, MEMPROF_POSIX_MEMALIGN);
    return *out ? 0 : ENOMEM;
}

EXPORT void *aligned_alloc(size_t alignment, size_t size)
{
    switch (memprof_preload_route()) {
    case MODE_FOREIGN:
        return memprof_forward_aligned(&foreign, alignment, size, MEMPROF_ALIGNED_ALLOC);
    case MODE_UNTOUCHED:
        return foreign.aligned_alloc(alignment, size);
    }
    if (alignment == 0 || (alignment & (alignment - 1)) != 0) {
        errno = EINVAL;
        return NULL;
    }
    if (mode == MODE_UNSET)
        return memprof_preload_remember(__libc_memalign(alignment, size));
    return memprof_preload_glibc_allocated(__libc_memalign(alignment, size), size, MEMPROF_ALIGNED_ALLOC);
}

EXPORT void *memalign(size_t alignment, size_t size)
{
    switch (memprof_preload_route()) {
    case MODE_UNSET:
        return memprof_preload_remember(__libc_memalign(alignment, size));
    case MODE_FOREIGN:
        return memprof_forward_aligned(&foreign, alignment, size, MEMPROF_MEMALIGN);
    case MODE_UNTOUCHED:
        return foreign.memalign(alignment, size);
    }
    return memprof_preload_glibc_allocated(__libc_memalign(alignment, size), size, MEMPROF_MEMALIGN);
}

EXPORT void *valloc(size_t size)
{
    switch (memprof_preload_route()) {
    case MODE_UNSET:
        return memprof_preload_remember(__libc_valloc(size));
    case MODE_FOREIGN:
        return memprof_forward_aligned(&foreign, 0, size, MEMPROF_VALLOC);
    case MODE_UNTOUCHED:
        return foreign.valloc ? foreign.valloc(size) : foreign.memalign((size_t)sysconf(_SC_PAGESIZE), size);
    }
    return memprof_preload_glibc_allocated(__libc_valloc(size), size, MEMPROF_VALLOC);
}

EXPORT void *pvalloc(size_t size)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    switch (memprof_preload_route()) {
    case MODE_UNSET:
        return memprof_preload_remember(__libc_pvalloc(size));
    case MODE_FOREIGN:
        return memprof_forward_aligned(&foreign, 0, size, MEMPROF_PVALLOC);
    case MODE_UNTOUCHED:
        return foreign.pvalloc ? foreign.pvalloc(size) : foreign.memalign(page, (size + page - 1) & ~(page - 1));
    }
    return memprof_preload_glibc_allocated(__libc_pvalloc(size), size, MEMPROF_PVALLOC);
}

/* ---- jemalloc's own API ---- */

/* Sampled through the next allocator when it is a jemalloc (Debian's libjemalloc.so.2 exports
 * it unprefixed); otherwise each call goes on to the next definition of its name, as without the
 * library (nallocx and sallocx allocate nothing and are not interposed). */
static struct {
    void *(*mallocx)(size_t, int);
    void *(*rallocx)(void *, size_t, int);
    size_t (*xallocx)(void *, size_t, size_t, int);
    void (*sdallocx)(void *, size_t, int);
    void (*dallocx)(void *, int);
} untouched;

#define MEMPROF_UNTOUCHED(name) \
    (untouched.name ? untouched.name : (__atomic_store_n(&untouched.name, (__typeof__(untouched.name))dlsym(RTLD_NEXT, #name), __ATOMIC_RELAXED), untouched.name))

EXPORT void *mallocx(size_t size, int flags)
{
    if (memprof_preload_route() == MODE_FOREIGN)
        return memprof_forward_mallocx(&foreign, size, flags);
    return MEMPROF_UNTOUCHED(mallocx) ? untouched.mallocx(size, flags) : NULL;
}

EXPORT void *rallocx(void *old, size_t size, int flags)
{
    if (memprof_preload_route() == MODE_FOREIGN)
        return memprof_forward_resize(&foreign, RESIZE_RALLOCX, old, size, 0, flags, NULL);
    return MEMPROF_UNTOUCHED(rallocx) ? untouched.rallocx(old, size, flags) : NULL;
}

EXPORT size_t xallocx(void *block, size_t size, size_t extra, int flags)
{
    if (memprof_preload_route() == MODE_FOREIGN)
        return memprof_forward_xallocx(&foreign, block, size, extra, flags);
    return MEMPROF_UNTOUCHED(xallocx) ? untouched.xallocx(block, size, extra, flags) : 0;
}

__attribute__((optimize("omit-frame-pointer"))) EXPORT void sdallocx(void *block, size_t size, int flags)
{
    if (LIKELY(memprof_preload_route() == MODE_FOREIGN))
        memprof_forward_free(&foreign, RELEASE_SDALLOCX, block, size, flags);
    else if (MEMPROF_UNTOUCHED(sdallocx))
        untouched.sdallocx(block, size, flags);
}

__attribute__((optimize("omit-frame-pointer"))) EXPORT void dallocx(void *block, int flags)
{
    if (LIKELY(memprof_preload_route() == MODE_FOREIGN))
        memprof_forward_free(&foreign, RELEASE_DALLOCX, block, 0, flags);
    else if (MEMPROF_UNTOUCHED(dallocx))
        untouched.dallocx(block, flags);
}
