/* In-process sampling for programs memprof launches (LD_PRELOAD).
 *
 * Interposes glibc's malloc family and forwards to glibc's own entry points (__libc_malloc, …),
 * so it needs no dlsym and works from the first call, before constructors run. Each thread
 * counts its calls and bytes in a slot of memprof_preload_state, which memprof reads from the
 * process's memory, and keeps a byte countdown drawn from an exponential distribution (the same
 * Poisson process over requested bytes as the kernel path). Only sampled allocations, and frees
 * of sampled blocks, call a marker function: memprof's uprobes sit on the markers' first
 * instruction, a 5-byte nop that kernels from 6.18 turn into a call to a trampoline instead of a
 * trap. Every other call stays in the process at a few nanoseconds.
 *
 * A process that brings another malloc (libjemalloc.so, tcmalloc, its own) keeps it: the library
 * then forwards every call there untouched, so a child exec'd with the inherited LD_PRELOAD is
 * never handed blocks of the wrong allocator.
 *
 * Frees of sampled blocks are recognised by an address set sharded by hash behind a counting
 * filter: a free reads one byte of the filter, and only takes a shard's lock when the filter
 * says the address may be sampled. */
#define _GNU_SOURCE
#include <dlfcn.h>
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
#define LIKELY(x) __builtin_expect(!!(x), 1)
#define UNLIKELY(x) __builtin_expect(!!(x), 0)

extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void __libc_free(void *);
extern void *__libc_memalign(size_t, size_t);
extern void *__libc_valloc(size_t);
extern void *__libc_pvalloc(size_t);

/* The markers: a 5-byte nop and a return. Protected, so the library's own calls bind locally
 * (no PLT) while memprof still finds them in the dynamic symbol table. */
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
    ".size memprof_preload_sampled_free, .-memprof_preload_sampled_free\n");

EXPORT struct memprof_preload_state memprof_preload_state __attribute__((aligned(64)));
_Static_assert(offsetof(struct memprof_preload_state, slots) == 128, "PreloadState.HeaderSize");
_Static_assert(sizeof(struct memprof_preload_slot) == 64, "PreloadState.SlotSize");

struct memprof_preload_thread {
    int64_t countdown;       /* bytes until the next sample */
    int64_t live_delta;      /* usable bytes allocated minus freed, not yet flushed */
    uint64_t rng;
    struct memprof_preload_slot *slot; /* NULL: not set up, past the pool, or exited */
    int initialized;
    int busy;                /* inside the address set: a signal handler's call must not re-enter */
    int exited;
};

static __thread struct memprof_preload_thread tls __attribute__((tls_model("initial-exec")));

/* Threads flush their running live delta past this, so the peak is off by at most this much per thread. */
#define LIVE_FLUSH (64 * 1024)
#define DEFAULT_RATE (512 * 1024)

static uint64_t rate = DEFAULT_RATE;

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
static int every_allocation;             /* rate <= 1: every call is reported, no set needed */
static int init_state;                   /* 0 not started, 1 in progress, 2 done */
static pthread_key_t thread_key;

/* ---- the sampled-address set ---- */

#define SHARDS 64
#define FILTER_BITS 16

struct shard {
    int lock;
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

static void memprof_preload_lock(int *lock)
{
    while (__atomic_exchange_n(lock, 1, __ATOMIC_ACQUIRE))
        while (__atomic_load_n(lock, __ATOMIC_RELAXED))
            __builtin_ia32_pause();
}

static void memprof_preload_unlock(int *lock) { __atomic_store_n(lock, 0, __ATOMIC_RELEASE); }

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
    int ok = 1;
    memprof_preload_lock(&s->lock);
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
    int found = 0;
    memprof_preload_lock(&s->lock);
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

/* ---- set-up ---- */

/* The rate memprof put in the environment, read from /proc/self/environ: the first calls can
 * come before libc has set up environ. */
static uint64_t memprof_preload_read_rate(void)
{
    static const char name[] = MEMPROF_PRELOAD_RATE_ENV "=";
    int fd = open("/proc/self/environ", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return DEFAULT_RATE;
    char buf[4096];
    size_t matched = 0;  /* characters of name matched at the start of the current entry; SIZE_MAX: not this entry */
    uint64_t value = 0;
    int in_value = 0, found = 0;
    ssize_t n;
    while (!found && (n = read(fd, buf, sizeof(buf))) > 0) {
        for (ssize_t i = 0; i < n; i++) {
            char c = buf[i];
            if (in_value) {
                if (c >= '0' && c <= '9') {
                    value = value * 10 + (uint64_t)(c - '0');
                    continue;
                }
                found = 1;
                break;
            }
            if (c == '\0') {
                matched = 0;
            } else if (matched != (size_t)-1) {
                if (c == name[matched]) {
                    if (++matched == sizeof(name) - 1)
                        in_value = 1;
                } else {
                    matched = (size_t)-1;
                }
            }
        }
    }
    close(fd);
    return in_value && value > 0 ? value : DEFAULT_RATE;
}

static void memprof_preload_fork_prepare(void)
{
    for (int i = 0; i < SHARDS; i++)
        memprof_preload_lock(&shards[i].lock);
}

static void memprof_preload_fork_parent(void)
{
    for (int i = 0; i < SHARDS; i++)
        memprof_preload_unlock(&shards[i].lock);
}

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
    struct memprof_preload_state *st = &memprof_preload_state;
    int64_t live = st->base_live;
    for (int i = 0; i < MEMPROF_PRELOAD_SLOTS; i++) {
        struct memprof_preload_slot *s = &st->slots[i];
        live += (int64_t)(s->allocated_usable - s->freed_usable);
        s->allocations = s->allocated_bytes = s->allocated_usable = s->frees = s->freed_usable = 0;
        if (s != tls.slot)
            s->in_use = 0;
    }
    live += tls.live_delta;
    tls.live_delta = 0;
    st->base_live = live;
    st->flushed_live = live;
    st->peak_live = live;
    st->peak_time_ns = memprof_preload_now_ns();
    st->untracked_samples = 0;
    for (int i = 0; i < SHARDS; i++) {
        struct shard *s = &shards[i];
        if (s->keys)
            munmap(s->keys, (s->mask + 1) * sizeof(uintptr_t));
        s->keys = NULL;
        s->mask = s->count = 0;
        memprof_preload_unlock(&s->lock);
    }
    memset(filter, every_allocation ? 255 : 0, sizeof(filter));
}

static void memprof_preload_flush(struct memprof_preload_thread *t)
{
    struct memprof_preload_state *st = &memprof_preload_state;
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

/* A thread's slot outlives it: a later thread continues its sums. */
static void memprof_preload_thread_exit(void *unused)
{
    (void)unused;
    struct memprof_preload_thread *t = &tls;
    memprof_preload_flush(t);
    if (t->slot)
        __atomic_store_n(&t->slot->in_use, 0, __ATOMIC_RELEASE);
    t->slot = NULL;
    t->exited = 1;
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
    struct memprof_preload_state *st = &memprof_preload_state;
    rate = memprof_preload_read_rate();
    every_allocation = rate <= 1;
    /* Every free must then be reported: a full filter sends each one to the slow path. */
    if (every_allocation)
        memset(filter, 255, sizeof(filter));
    st->rate = rate;
    st->slot_count = MEMPROF_PRELOAD_SLOTS;
    st->version = 1;
    pthread_key_create(&thread_key, memprof_preload_thread_exit);
    pthread_atfork(memprof_preload_fork_prepare, memprof_preload_fork_parent, memprof_preload_fork_child);
    __atomic_store_n(&st->magic, MEMPROF_PRELOAD_MAGIC, __ATOMIC_RELEASE);
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

static void memprof_preload_thread_init(struct memprof_preload_thread *t)
{
    /* Set first: what set-up allocates (pthread_atfork's list) is counted in slot 0, never
     * sampled (busy), and does not come back here. */
    t->busy = 1;
    t->initialized = 1;
    t->rng = (uint64_t)(uintptr_t)t ^ (memprof_preload_now_ns() * 0x9E3779B97F4A7C15ULL) ^ (uint64_t)gettid() << 32;
    if (t->rng == 0)
        t->rng = 1;
    t->countdown = memprof_preload_gap(t);
    struct memprof_preload_slot *slots = memprof_preload_state.slots;
    for (int i = 1; i < MEMPROF_PRELOAD_SLOTS; i++) {
        uint64_t free_slot = 0;
        if (__atomic_load_n(&slots[i].in_use, __ATOMIC_RELAXED) == 0 &&
            __atomic_compare_exchange_n(&slots[i].in_use, &free_slot, 1, 0, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED)) {
            t->slot = &slots[i];
            break;
        }
    }
    /* Any non-NULL value makes the key's destructor run at thread exit. */
    pthread_setspecific(thread_key, (void *)1);
    t->busy = 0;
}

/* ---- accounting ---- */

/* glibc's usable size of a block, from its chunk header (malloc_usable_size's arithmetic). */
static inline uint64_t memprof_preload_usable(void *block)
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
        s = &memprof_preload_state.slots[0];
        __atomic_fetch_add(&s->allocations, allocs, __ATOMIC_RELAXED);
        __atomic_fetch_add(&s->allocated_bytes, bytes, __ATOMIC_RELAXED);
        __atomic_fetch_add(&s->allocated_usable, usable, __ATOMIC_RELAXED);
        __atomic_fetch_add(&s->frees, frees, __ATOMIC_RELAXED);
        __atomic_fetch_add(&s->freed_usable, freed, __ATOMIC_RELAXED);
        __atomic_add_fetch(&memprof_preload_state.flushed_live, (int64_t)(usable - freed), __ATOMIC_RELAXED);
        return;
    }
    memprof_preload_add(t, s, allocs, bytes, usable, frees, freed);
}

/* The countdown ran out: this allocation is sampled (unless a signal handler interrupted the
 * address set), and the next gap is drawn. */
__attribute__((noinline, cold)) static int memprof_preload_take(struct memprof_preload_thread *t)
{
    if (!t->initialized) {
        t->countdown = 0;
        return 0;
    }
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

static inline int memprof_preload_sample(struct memprof_preload_thread *t, size_t size)
{
    if (UNLIKELY(size >= rate))
        return memprof_preload_take_large(t);
    t->countdown -= (int64_t)size;
    return UNLIKELY(t->countdown <= 0) && memprof_preload_take(t);
}

__attribute__((noinline)) static void memprof_preload_report(struct memprof_preload_thread *t, void *block, size_t size,
                                                            void *old_block, unsigned func, unsigned flags)
{
    if ((flags & MEMPROF_EVENT_NEW_SAMPLED) && !every_allocation) {
        t->busy = 1;
        if (!memprof_preload_insert((uintptr_t)block))
            __atomic_fetch_add(&memprof_preload_state.untracked_samples, 1, __ATOMIC_RELAXED);
        t->busy = 0;
    }
    memprof_preload_sampled_alloc(block, size, old_block, func | ((unsigned long)flags << MEMPROF_MARKER_FLAGS_SHIFT));
}

/* Whether a block being freed was sampled (and forget it). */
static inline int memprof_preload_was_sampled(struct memprof_preload_thread *t, void *block)
{
    if (every_allocation)
        return 1;
    if (LIKELY(__atomic_load_n(memprof_preload_filter_of((uintptr_t)block), __ATOMIC_RELAXED) == 0) || t->busy)
        return 0;
    t->busy = 1;
    int found = memprof_preload_remove((uintptr_t)block, memprof_preload_hash((uintptr_t)block));
    t->busy = 0;
    return found;
}

static inline void *memprof_preload_allocated(void *block, size_t size, unsigned func)
{
    if (UNLIKELY(!block))
        return block;
    struct memprof_preload_thread *t = &tls;
    memprof_preload_count(t, 1, size, memprof_preload_usable(block), 0, 0);
    if (memprof_preload_sample(t, size))
        memprof_preload_report(t, block, size, NULL, func, MEMPROF_EVENT_NEW_SAMPLED);
    return block;
}

static inline void memprof_preload_freeing(void *block)
{
    struct memprof_preload_thread *t = &tls;
    memprof_preload_count(t, 0, 0, 0, 1, memprof_preload_usable(block));
    /* Reported before the block is released, so no other thread can be handed its address first. */
    if (memprof_preload_was_sampled(t, block))
        memprof_preload_sampled_free(block);
}

/* ---- the interposed API ---- */

/* malloc and free, the calls that dominate, have fast paths without a frame of their own (so
 * with nothing to save around glibc's call) for the common case: a thread with its slot, no sample
 * due, a block the filter has never seen. Everything else takes the general path; when that
 * reports a sample it was entered by a tail call, so its frame sits right above the program's and
 * a frame-pointer walk from the marker finds the program's call site. */
__attribute__((noinline)) static void *memprof_preload_malloc_slow(size_t size, int countdown_passed)
{
    if (FORWARDING())
        return next.malloc(size);
    void *block = __libc_malloc(size);
    if (UNLIKELY(!block))
        return block;
    struct memprof_preload_thread *t = &tls;
    memprof_preload_count(t, 1, size, memprof_preload_usable(block), 0, 0);
    int sampled = countdown_passed ? memprof_preload_take(t) : memprof_preload_sample(t, size);
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
    memprof_preload_freeing(block);
    __libc_free(block);
}

__attribute__((optimize("omit-frame-pointer"))) EXPORT void *malloc(size_t size)
{
    struct memprof_preload_thread *t = &tls;
    struct memprof_preload_slot *s = t->slot;
    if (UNLIKELY(!s || size >= rate))
        return memprof_preload_malloc_slow(size, 0);
    t->countdown -= (int64_t)size;
    if (UNLIKELY(t->countdown <= 0))
        return memprof_preload_malloc_slow(size, 1);
    void *block = __libc_malloc(size);
    if (UNLIKELY(!block))
        return block;
    memprof_preload_add(t, s, 1, size, memprof_preload_usable(block), 0, 0);
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
    memprof_preload_add(t, s, 0, 0, 0, 1, memprof_preload_usable(block));
    __libc_free(block);
}

EXPORT void *calloc(size_t count, size_t size)
{
    if (FORWARDING())
        return next.calloc(count, size);
    return memprof_preload_allocated(__libc_calloc(count, size), count * size, MEMPROF_CALLOC);
}

static void *memprof_preload_resize(void *old, size_t size, unsigned func)
{
    /* glibc: realloc(NULL, n) is malloc(n) and realloc(p, 0) is free(p). */
    if (!old)
        return memprof_preload_allocated(__libc_malloc(size), size, MEMPROF_MALLOC);
    if (size == 0) {
        memprof_preload_freeing(old);
        return __libc_realloc(old, 0);
    }
    struct memprof_preload_thread *t = &tls;
    uint64_t old_usable = memprof_preload_usable(old);
    /* Looked up before glibc may hand the old address to another thread. */
    int old_sampled = memprof_preload_was_sampled(t, old);
    void *block = __libc_realloc(old, size);
    if (!block) {
        /* The old block lives on, still sampled. */
        if (old_sampled && !every_allocation) {
            t->busy = 1;
            memprof_preload_insert((uintptr_t)old);
            t->busy = 0;
        }
        return NULL;
    }
    memprof_preload_count(t, 1, size, memprof_preload_usable(block), 1, old_usable);
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
    *out = memprof_preload_allocated(block, size, MEMPROF_POSIX_MEMALIGN);
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
    return memprof_preload_allocated(__libc_memalign(alignment, size), size, MEMPROF_ALIGNED_ALLOC);
}

EXPORT void *memalign(size_t alignment, size_t size)
{
    if (FORWARDING())
        return next.memalign(alignment, size);
    return memprof_preload_allocated(__libc_memalign(alignment, size), size, MEMPROF_MEMALIGN);
}

EXPORT void *valloc(size_t size)
{
    if (FORWARDING())
        return next.valloc ? next.valloc(size) : next.memalign((size_t)sysconf(_SC_PAGESIZE), size);
    return memprof_preload_allocated(__libc_valloc(size), size, MEMPROF_VALLOC);
}

EXPORT void *pvalloc(size_t size)
{
    if (FORWARDING()) {
        size_t page = (size_t)sysconf(_SC_PAGESIZE);
        return next.pvalloc ? next.pvalloc(size) : next.memalign(page, (size + page - 1) & ~(page - 1));
    }
    return memprof_preload_allocated(__libc_pvalloc(size), size, MEMPROF_PVALLOC);
}
