/* Drives libmemprof_inject.so as memprof does when it attaches, inside one process: threads are
 * running (and allocating) before the library is dlopen'ed; then the harness fills forwarding
 * tables, asks for a rate through the state (memprof_preload.h's attach protocol), and calls the
 * tables' entry points from many threads, as the program's redirected GOT slots would. The
 * library's markers are rerouted to counters here (a jump written over their 5-byte nop), so what
 * memprof's uprobes would see is checked against what the harness did.
 *
 *   inject_harness LIB run    RATE THREADS OPS [STATE_FILE]  exact counters, base live; rate 1: every
 *                                                          call marked; else sample count and pairing
 *   inject_harness LIB tables THREADS OPS [JEMALLOC]        glibc, bump (and jemalloc) tables at once
 *   inject_harness LIB again  THREADS OPS                   a second attach at another rate
 *   inject_harness LIB switch THREADS CYCLES                slots switched while threads run
 *   inject_harness LIB fork   OPS                           a child counts from zero
 *   inject_harness LIB wake   THREADS CYCLES HELD           threads woken at once after a request for rate 1
 *   inject_harness LIB bench  PAIRS                         ns per malloc+free, native and injected
 *
 * Prints "check NAME ok|FAIL detail" lines and exits 1 if any failed. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <malloc.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "memprof_preload.h"
#include "memprof_shared.h"

static int failures;

static void check(const char *name, int ok, const char *format, ...) __attribute__((format(printf, 3, 4)));
#include <stdarg.h>
static void check(const char *name, int ok, const char *format, ...)
{
    char detail[512];
    va_list args;
    va_start(args, format);
    vsnprintf(detail, sizeof(detail), format, args);
    va_end(args);
    printf("check %s %s %s\n", name, ok ? "ok" : "FAIL", detail);
    fflush(stdout);
    if (!ok)
        failures++;
}

static void die(const char *what)
{
    fprintf(stderr, "harness: %s\n", what);
    exit(2);
}

/* ---- an allocator API: native functions or a table's entry points ---- */

struct api {
    void *(*malloc)(size_t);
    void *(*calloc)(size_t, size_t);
    void *(*realloc)(void *, size_t);
    void *(*reallocarray)(void *, size_t, size_t);
    int (*posix_memalign)(void **, size_t, size_t);
    void *(*aligned_alloc)(size_t, size_t);
    void *(*memalign)(size_t, size_t);
    void *(*valloc)(size_t);
    void *(*pvalloc)(size_t);
    void (*free)(void *);
    void *(*mallocx)(size_t, int);
    void *(*rallocx)(void *, size_t, int);
    size_t (*xallocx)(void *, size_t, size_t, int);
    void (*sdallocx)(void *, size_t, int);
    void (*dallocx)(void *, int);
    size_t (*usable)(void *); /* the allocator's own malloc_usable_size */
    int kind;                 /* enum memprof_allocator_kind of the allocator behind */
    int sampler;              /* a table's entry points, not the allocator's own functions */
};

static const char *const names[] = { "malloc", "calloc", "realloc", "reallocarray", "posix_memalign", "aligned_alloc", "memalign",
                                     "valloc", "pvalloc", "free", "mallocx", "rallocx", "xallocx", "sdallocx", "dallocx" };

static void *library;
static struct memprof_preload_state *state;

/* Table k's entry points for the functions `native` has (usable: the allocator's own). */
static struct api entry_points(int k, const struct api *native)
{
    struct api a;
    memset(&a, 0, sizeof(a));
    void **to = (void **)&a;
    void *const *from = (void *const *)native;
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (!from[i])
            continue;
        char symbol[64];
        snprintf(symbol, sizeof(symbol), "memprof_inject%d_%s", k, names[i]);
        if (!(to[i] = dlsym(library, symbol)))
            die(symbol);
    }
    a.usable = native->usable;
    a.kind = native->kind;
    a.sampler = 1;
    return a;
}

/* What memprof writes: every function, then the kind; the table is then never changed. */
static void fill_table(int k, const struct api *native, uint32_t kind, struct mallinfo2 (*info)(void),
                       int (*ctl)(const char *, void *, size_t *, void *, size_t), int with_usable)
{
    struct memprof_forward_table *t = &state->tables[k];
    t->malloc = native->malloc;
    t->calloc = native->calloc;
    t->realloc = native->realloc;
    t->reallocarray = native->reallocarray;
    t->posix_memalign = native->posix_memalign;
    t->aligned_alloc = native->aligned_alloc;
    t->memalign = native->memalign;
    t->valloc = native->valloc;
    t->pvalloc = native->pvalloc;
    t->free = native->free;
    t->mallocx = native->mallocx;
    t->rallocx = native->rallocx;
    t->xallocx = native->xallocx;
    t->sdallocx = native->sdallocx;
    t->dallocx = native->dallocx;
    t->usable_size = with_usable ? native->usable : NULL;
    t->mallinfo2 = info;
    t->mallctl = ctl;
    atomic_store_explicit((_Atomic uint32_t *)&t->kind, kind, memory_order_release);
}

/* What memprof writes to attach: the rate, then a generation the library has not applied. */
static uint64_t request(uint64_t rate)
{
    state->requested_rate = rate;
    uint64_t generation = atomic_load((_Atomic uint64_t *)&state->applied_generation) + 1;
    atomic_store_explicit((_Atomic uint64_t *)&state->requested_generation, generation, memory_order_release);
    return generation;
}

/* The counters as memprof decodes them (PreloadState.Decode). */
struct totals {
    uint64_t allocations, bytes, allocated_usable, frees, freed_usable;
    int64_t live;
};

static struct totals decode(void)
{
    struct totals t = { 0, 0, 0, 0, 0, 0 };
    for (int i = 0; i < MEMPROF_PRELOAD_SLOTS; i++) {
        struct memprof_preload_slot *s = &state->slots[i];
        t.allocations += s->allocations;
        t.bytes += s->allocated_bytes;
        t.allocated_usable += s->allocated_usable;
        t.frees += s->frees;
        t.freed_usable += s->freed_usable;
    }
    t.allocations -= state->start_allocations;
    t.bytes -= state->start_allocated_bytes;
    t.allocated_usable -= state->start_allocated_usable;
    t.frees -= state->start_frees;
    t.freed_usable -= state->start_freed_usable;
    t.live = state->base_live + (int64_t)t.allocated_usable - (int64_t)t.freed_usable;
    return t;
}

static int64_t glibc_live(void)
{
    struct mallinfo2 m = mallinfo2();
    return (int64_t)(m.uordblks + m.hblkhd);
}

/* ---- the markers, rerouted ---- */

static _Atomic uint64_t marked_alloc[32], marked_new, marked_old, marked_free, unknown_free;
static int track_samples; /* pair sampled frees with sampled blocks (rate > 1) */

/* The sampled blocks the markers told of, with a count: a thread's realloc reports freeing the old
 * block after the allocator may already have handed that address to another thread, whose
 * sample of it can be reported first (memprof sees the same order). */
#define SAMPLED_BITS 20
static struct { uintptr_t block; int64_t count; } sampled[1 << SAMPLED_BITS];
static int64_t sampled_count;
static pthread_mutex_t sampled_lock = PTHREAD_MUTEX_INITIALIZER;

/* Adds `change` to the block's count; returns whether the count was above zero before. */
static int sampled_change(uintptr_t block, int change)
{
    pthread_mutex_lock(&sampled_lock);
    uint32_t i = (uint32_t)((block * 0x9E3779B97F4A7C15ULL) >> (64 - SAMPLED_BITS));
    while (sampled[i].block != 0 && sampled[i].block != block)
        i = (i + 1) & ((1 << SAMPLED_BITS) - 1);
    sampled[i].block = block;
    int was = sampled[i].count > 0;
    sampled[i].count += change;
    sampled_count += change;
    pthread_mutex_unlock(&sampled_lock);
    return was;
}

static void on_sampled_alloc(void *block, size_t size, void *old, unsigned long func_and_flags)
{
    (void)size;
    unsigned func = func_and_flags & ((1 << MEMPROF_MARKER_FLAGS_SHIFT) - 1);
    unsigned flags = (unsigned)(func_and_flags >> MEMPROF_MARKER_FLAGS_SHIFT);
    atomic_fetch_add(&marked_alloc[func & 31], 1);
    if (flags & MEMPROF_EVENT_OLD_SAMPLED) {
        atomic_fetch_add(&marked_old, 1);
        if (track_samples)
            sampled_change((uintptr_t)old, -1);
    }
    if (flags & MEMPROF_EVENT_NEW_SAMPLED) {
        atomic_fetch_add(&marked_new, 1);
        if (track_samples)
            sampled_change((uintptr_t)block, 1);
    }
}

static void on_sampled_free(void *block)
{
    atomic_fetch_add(&marked_free, 1);
    if (track_samples && !sampled_change((uintptr_t)block, -1))
        atomic_fetch_add(&unknown_free, 1);
}

/* movabs $to, %r11; jmp *%r11 over the marker's nop5 and ret (each marker has 16 bytes). */
static void reroute(const char *marker, void *to)
{
    uint8_t *at = dlsym(library, marker);
    static const uint8_t expected[6] = { 0x0f, 0x1f, 0x44, 0x00, 0x00, 0xc3 };
    if (!at || ((uintptr_t)at & 15) != 0 || memcmp(at, expected, sizeof(expected)) != 0)
        die("a marker is not a 16-byte aligned nop5; ret");
    uint8_t code[13] = { 0x49, 0xbb };
    memcpy(code + 2, &to, 8);
    code[10] = 0x41, code[11] = 0xff, code[12] = 0xe3;
    int fd = open("/proc/self/mem", O_RDWR);
    if (fd < 0 || pwrite(fd, code, sizeof(code), (off_t)(uintptr_t)at) != (ssize_t)sizeof(code))
        die("cannot write the marker");
    close(fd);
}

static void load(const char *path)
{
    if (!(library = dlopen(path, RTLD_NOW | RTLD_LOCAL)))
        die(dlerror());
    if (!(state = dlsym(library, "memprof_preload_state")))
        die("no memprof_preload_state");
    check("set-up", state->magic == MEMPROF_PRELOAD_MAGIC && state->version == MEMPROF_PRELOAD_VERSION &&
                        (state->flags & MEMPROF_STATE_INJECTED) && state->table_count == MEMPROF_FORWARD_TABLES,
          "magic %llx version %u flags %u tables %u", (unsigned long long)state->magic, state->version, state->flags, state->table_count);
    reroute("memprof_preload_sampled_alloc", (void *)on_sampled_alloc);
    reroute("memprof_preload_sampled_free", (void *)on_sampled_free);
}

/* ---- allocators ---- */

static size_t glibc_usable(void *block) { return malloc_usable_size(block); }

static const struct api glibc = {
    malloc, calloc, realloc, reallocarray, posix_memalign, aligned_alloc, memalign, valloc, pvalloc, free,
    NULL, NULL, NULL, NULL, NULL, glibc_usable, MEMPROF_ALLOCATOR_GLIBC, 0,
};

/* A bump allocator: blocks never reused, each with its size in front; it counts its calls. */
static _Atomic uint64_t bump_calls;
static _Atomic uintptr_t bump_next;
static char bump_arena[256 << 20] __attribute__((aligned(64)));

static void *bump_malloc(size_t size)
{
    atomic_fetch_add(&bump_calls, 1);
    size_t need = (size + 16 + 15) & ~(size_t)15;
    uintptr_t at = atomic_fetch_add(&bump_next, need);
    if (at + need > sizeof(bump_arena))
        return NULL;
    *(size_t *)(bump_arena + at) = size;
    return bump_arena + at + 16;
}

static void bump_free(void *block) { (void)block, atomic_fetch_add(&bump_calls, 1); }
static size_t bump_usable(void *block) { return *(size_t *)((char *)block - 16); }

static void *bump_realloc(void *old, size_t size)
{
    void *block = bump_malloc(size);
    if (block && old) {
        size_t keep = bump_usable(old) < size ? bump_usable(old) : size;
        memcpy(block, old, keep);
    }
    return block;
}

static const struct api bump = {
    bump_malloc, NULL, bump_realloc, NULL, NULL, NULL, NULL, NULL, NULL, bump_free,
    NULL, NULL, NULL, NULL, NULL, bump_usable, MEMPROF_ALLOCATOR_OTHER, 0,
};

static struct api jemalloc;
static int (*jemalloc_ctl)(const char *, void *, size_t *, void *, size_t);

static int load_jemalloc(const char *path)
{
    void *je = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!je) {
        fprintf(stderr, "harness: %s\n", dlerror());
        return 0;
    }
    /* Only what jemalloc itself defines: a lookup through its handle also finds glibc's. */
    Dl_info own, found;
    if (!dladdr(dlsym(je, "mallocx"), &own))
        return 0;
    void **to = (void **)&jemalloc;
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        void *function = dlsym(je, names[i]);
        if (function && dladdr(function, &found) && found.dli_fbase == own.dli_fbase)
            to[i] = function;
    }
    jemalloc.usable = dlsym(je, "malloc_usable_size");
    jemalloc.kind = MEMPROF_ALLOCATOR_JEMALLOC;
    jemalloc_ctl = dlsym(je, "mallctl");
    return jemalloc.malloc && jemalloc.mallocx && jemalloc.sdallocx && jemalloc.usable && jemalloc_ctl;
}

static int jemalloc_owns(void *block)
{
    unsigned arena;
    size_t size = sizeof(arena);
    return jemalloc_ctl("arenas.lookup", &arena, &size, &block, sizeof(block)) == 0;
}

/* ---- the workload: each thread keeps blocks, checks their bytes, and tallies what it did ---- */

struct tally {
    uint64_t allocations, bytes, allocated_usable, frees, freed_usable;
    uint64_t marks[32], marks_free, marks_old;
    uint64_t bump_calls;
    double p, var; /* expected samples and their variance at rate */
};

struct block {
    unsigned char *p;
    size_t size;
    unsigned char pattern;
    int aligned;           /* jemalloc's sized deallocation and xallocx need the alignment: not used on these */
    const struct api *api; /* the API that allocated it */
    int marked;            /* allocated through the sampler at rate 1: its free is reported too */
};

#define KEPT 64

struct worker {
    uint64_t rng;
    struct block blocks[KEPT];
    struct tally tally;
    int id;
};

static uint64_t sample_rate = 1;
static int jemalloc_checks;

static uint64_t next_random(struct worker *w)
{
    w->rng ^= w->rng << 13;
    w->rng ^= w->rng >> 7;
    w->rng ^= w->rng << 17;
    return w->rng;
}

static size_t pick_size(struct worker *w)
{
    uint64_t r = next_random(w);
    if (r % 97 == 0)
        return 150000 + r % 100000; /* glibc mmaps these */
    if (r % 7 == 0)
        return 1000 + r % 9000;
    return 1 + r % 600;
}

static void fill(struct block *b)
{
    size_t n = b->size < 64 ? b->size : 64;
    memset(b->p, b->pattern, n);
}

static int intact(const struct block *b)
{
    size_t n = b->size < 64 ? b->size : 64;
    for (size_t i = 0; i < n; i++)
        if (b->p[i] != b->pattern)
            return 0;
    return 1;
}

static void expect_sample(struct tally *t, size_t size)
{
    double p = size >= sample_rate ? 1.0 : 1.0 - exp(-(double)size / (double)sample_rate);
    t->p += p;
    t->var += p * (1 - p);
}

static void allocated(struct worker *w, struct block *b, const struct api *a, size_t size, unsigned func)
{
    if (!b->p)
        die("an allocation failed");
    b->size = size;
    b->api = a;
    b->aligned = func == MEMPROF_POSIX_MEMALIGN || func == MEMPROF_ALIGNED_ALLOC || func == MEMPROF_MEMALIGN ||
                 func == MEMPROF_VALLOC || func == MEMPROF_PVALLOC;
    b->pattern = (unsigned char)next_random(w);
    fill(b);
    struct tally *t = &w->tally;
    t->allocations++;
    t->bytes += size;
    t->allocated_usable += a->usable(b->p);
    t->marks[func]++;
    b->marked = a->sampler && sample_rate <= 1;
    expect_sample(t, size);
    if (jemalloc_checks && a->mallocx && !jemalloc_owns(b->p))
        die("a block from the jemalloc table is not jemalloc's");
}

static void released(struct worker *w, struct block *b)
{
    if (!intact(b))
        die("a block's bytes changed");
    w->tally.frees++;
    w->tally.freed_usable += b->api->usable(b->p);
    /* A block from before the attach passes through unreported. */
    w->tally.marks_free += (uint64_t)b->marked;
}

static void allocate(struct worker *w, struct block *b, const struct api *a)
{
    size_t size = pick_size(w);
    if (a->kind == MEMPROF_ALLOCATOR_OTHER) {
        /* The bump allocator never reuses memory. */
        size = size > 4096 ? 4096 : size;
        w->tally.bump_calls++;
    }
    uint64_t r = next_random(w) % 12;
    void *p = NULL;
    unsigned func = MEMPROF_MALLOC;
    if (r == 1 && a->calloc) {
        size_t count = 1 + size % 7, each = size / count + 1;
        b->p = a->calloc(count, each);
        for (size_t i = 0; b->p && i < count * each; i++)
            if (b->p[i] != 0)
                die("calloc's block is not zeroed");
        return allocated(w, b, a, count * each, MEMPROF_CALLOC);
    }
    if (r == 2 && a->realloc) {
        b->p = a->realloc(NULL, size);
        return allocated(w, b, a, size, MEMPROF_MALLOC);
    }
    if (r == 3 && a->posix_memalign) {
        if (a->posix_memalign(&p, 64, size) != 0 || ((uintptr_t)p & 63) != 0)
            die("posix_memalign");
        b->p = p;
        return allocated(w, b, a, size, MEMPROF_POSIX_MEMALIGN);
    }
    if (r == 4 && a->aligned_alloc) {
        b->p = a->aligned_alloc(128, size);
        func = MEMPROF_ALIGNED_ALLOC;
    } else if (r == 5 && a->memalign) {
        b->p = a->memalign(32, size);
        func = MEMPROF_MEMALIGN;
    } else if (r == 6 && a->valloc) {
        b->p = a->valloc(size);
        func = MEMPROF_VALLOC;
    } else if (r == 7 && a->pvalloc) {
        b->p = a->pvalloc(size);
        func = MEMPROF_PVALLOC;
    } else if ((r == 8 || r == 9) && a->mallocx) {
        b->p = a->mallocx(size, 0);
        func = MEMPROF_MALLOCX;
    } else {
        b->p = a->malloc(size);
    }
    allocated(w, b, a, size, func);
}

/* Frees or resizes a kept block (with the API that allocated it). */
static void release(struct worker *w, struct block *b)
{
    const struct api *a = b->api;
    if (a->kind == MEMPROF_ALLOCATOR_OTHER)
        w->tally.bump_calls++;
    uint64_t r = next_random(w) % 10;
    if (r < 3 && a->realloc) {
        released(w, b);
        /* A resize reports the old block with the new one (if the old one was recorded). */
        w->tally.marks_free -= (uint64_t)b->marked;
        w->tally.marks_old += (uint64_t)b->marked;
        size_t size = pick_size(w);
        if (a->kind == MEMPROF_ALLOCATOR_OTHER && size > 4096)
            size = 4096;
        unsigned char *old = b->p;
        unsigned char pattern = b->pattern;
        size_t keep = b->size < size ? b->size : size;
        keep = keep < 64 ? keep : 64;
        if (r == 2 && a->reallocarray)
            b->p = a->reallocarray(old, 1, size);
        else if (r == 1 && a->rallocx)
            b->p = a->rallocx(old, size, 0);
        else
            b->p = a->realloc(old, size);
        for (size_t i = 0; b->p && i < keep; i++)
            if (b->p[i] != pattern)
                die("a resize lost the block's bytes");
        allocated(w, b, a, size, MEMPROF_REALLOC);
        return;
    }
    if (r == 3 && a->xallocx && !b->aligned) {
        size_t before = a->usable(b->p);
        size_t want = b->size + 1 + (size_t)(next_random(w) % 64);
        size_t got = a->xallocx(b->p, want, 0, 0);
        if (got >= want) {
            /* In place: the old block freed and the new one allocated, as memprof counts it. */
            w->tally.frees++;
            w->tally.freed_usable += before;
            w->tally.marks_old += (uint64_t)b->marked;
            b->marked = sample_rate <= 1;
            b->size = want;
            struct tally *t = &w->tally;
            t->allocations++;
            t->bytes += want;
            t->allocated_usable += a->usable(b->p);
            t->marks[MEMPROF_REALLOC]++;
            expect_sample(t, want);
            fill(b);
            return;
        }
        if (got != before)
            die("a failed xallocx changed the block's size");
    }
    released(w, b);
    if (r == 4 && a->kind == MEMPROF_ALLOCATOR_GLIBC) {
        if (a->realloc(b->p, 0) != NULL)
            die("glibc's realloc(p, 0) returned a block");
    } else if (r == 5 && a->sdallocx && !b->aligned) {
        a->sdallocx(b->p, b->size, 0);
    } else if (r == 6 && a->dallocx) {
        a->dallocx(b->p, 0);
    } else {
        a->free(b->p);
    }
    b->p = NULL;
}

static void run_ops(struct worker *w, const struct api *const *apis, int api_count, int ops)
{
    for (int i = 0; i < ops; i++) {
        struct block *b = &w->blocks[next_random(w) % KEPT];
        if (b->p)
            release(w, b);
        else
            allocate(w, b, apis[next_random(w) % (uint64_t)api_count]);
    }
}

static void release_all(struct worker *w)
{
    for (int i = 0; i < KEPT; i++)
        if (w->blocks[i].p) {
            if (w->blocks[i].api->kind == MEMPROF_ALLOCATOR_OTHER)
                w->tally.bump_calls++;
            released(w, &w->blocks[i]);
            w->blocks[i].api->free(w->blocks[i].p);
            w->blocks[i].p = NULL;
        }
}

static void add_tally(struct tally *to, const struct tally *from)
{
    to->allocations += from->allocations;
    to->bytes += from->bytes;
    to->allocated_usable += from->allocated_usable;
    to->frees += from->frees;
    to->freed_usable += from->freed_usable;
    for (int i = 0; i < 32; i++)
        to->marks[i] += from->marks[i];
    to->marks_free += from->marks_free;
    to->marks_old += from->marks_old;
    to->bump_calls += from->bump_calls;
    to->p += from->p;
    to->var += from->var;
}

/* ---- threads that run before the library is loaded ---- */

struct crew {
    pthread_t threads[256];
    struct worker workers[256];
    int count, ops, api_count;
    const struct api *apis[4];
    pthread_barrier_t started, attached, done;
};

static struct crew crew;
static const struct api *const native_glibc[] = { &glibc };

static void *crew_member(void *arg)
{
    struct worker *w = arg;
    /* Before the attach: the program's own allocations, some kept (the attach's base live). */
    run_ops(w, native_glibc, 1, crew.ops / 4);
    pthread_barrier_wait(&crew.started);
    pthread_barrier_wait(&crew.attached);
    /* Frees of blocks from before the attach pass through (and count) like any other. */
    memset(&w->tally, 0, sizeof(w->tally));
    for (int i = 0; i < KEPT; i += 2)
        if (w->blocks[i].p) {
            const struct api *a = crew.apis[0];
            released(w, &w->blocks[i]);
            a->free(w->blocks[i].p);
            w->blocks[i].p = NULL;
        }
    for (int i = 0; i < KEPT; i++)
        if (w->blocks[i].p)
            w->blocks[i].api = crew.apis[0];
    run_ops(w, crew.apis, crew.api_count, crew.ops);
    pthread_barrier_wait(&crew.done);
    return NULL;
}

static void start_crew(int count, int ops)
{
    crew.count = count;
    crew.ops = ops;
    pthread_barrier_init(&crew.started, NULL, (unsigned)count + 1);
    pthread_barrier_init(&crew.attached, NULL, (unsigned)count + 1);
    pthread_barrier_init(&crew.done, NULL, (unsigned)count + 1);
    for (int i = 0; i < count; i++) {
        crew.workers[i].rng = 0x9E3779B97F4A7C15ULL * (uint64_t)(i + 1);
        crew.workers[i].id = i;
        if (pthread_create(&crew.threads[i], NULL, crew_member, &crew.workers[i]) != 0)
            die("pthread_create");
    }
    pthread_barrier_wait(&crew.started);
}

/* Short-lived threads while the crew runs: each claims a thread entry, and gives it back. */
struct passer {
    struct worker w;
    pthread_t thread;
};

static void *pass(void *arg)
{
    struct worker *w = arg;
    run_ops(w, crew.apis, crew.api_count, crew.ops / 20);
    release_all(w);
    return NULL;
}

static void passers(int count, struct tally *sum)
{
    static struct passer p[16];
    for (int round = 0; round < count / 16; round++) {
        for (int i = 0; i < 16; i++) {
            memset(&p[i].w, 0, sizeof(p[i].w));
            p[i].w.rng = 0x2545F4914F6CDD1DULL * (uint64_t)(round * 16 + i + 7);
            pthread_create(&p[i].thread, NULL, pass, &p[i].w);
        }
        for (int i = 0; i < 16; i++) {
            pthread_join(p[i].thread, NULL);
            add_tally(sum, &p[i].w.tally);
        }
    }
}

static struct tally finish_crew(void)
{
    pthread_barrier_wait(&crew.done);
    struct tally sum;
    memset(&sum, 0, sizeof(sum));
    for (int i = 0; i < crew.count; i++) {
        pthread_join(crew.threads[i], NULL);
        add_tally(&sum, &crew.workers[i].tally);
    }
    return sum;
}

/* ---- checks ---- */

static void check_counters(const char *name, const struct tally *t, int64_t base)
{
    struct totals d = decode();
    check(name, d.allocations == t->allocations && d.bytes == t->bytes && d.frees == t->frees &&
                    d.allocated_usable == t->allocated_usable && d.freed_usable == t->freed_usable &&
                    d.live == base + (int64_t)t->allocated_usable - (int64_t)t->freed_usable,
          "library %llu calls %llu B %llu frees %llu/%llu usable; harness %llu calls %llu B %llu frees %llu/%llu usable",
          (unsigned long long)d.allocations, (unsigned long long)d.bytes, (unsigned long long)d.frees,
          (unsigned long long)d.allocated_usable, (unsigned long long)d.freed_usable, (unsigned long long)t->allocations,
          (unsigned long long)t->bytes, (unsigned long long)t->frees, (unsigned long long)t->allocated_usable,
          (unsigned long long)t->freed_usable);
}

static void reset_marks(void)
{
    for (int i = 0; i < 32; i++)
        marked_alloc[i] = 0;
    marked_new = marked_old = marked_free = unknown_free = 0;
}

static void check_every_call_marked(const struct tally *t)
{
    int ok = 1;
    char detail[400] = "";
    for (int f = 0; f < 32; f++) {
        if (marked_alloc[f] != t->marks[f]) {
            ok = 0;
            snprintf(detail + strlen(detail), sizeof(detail) - strlen(detail), "func %d: %llu marked, %llu called; ", f,
                     (unsigned long long)marked_alloc[f], (unsigned long long)t->marks[f]);
        }
    }
    ok = ok && marked_new == t->allocations && marked_free == t->marks_free && marked_old == t->marks_old;
    check("every-call-marked", ok, "%snew %llu/%llu, old %llu/%llu, frees %llu/%llu", detail, (unsigned long long)marked_new,
          (unsigned long long)t->allocations, (unsigned long long)marked_old, (unsigned long long)t->marks_old,
          (unsigned long long)marked_free, (unsigned long long)t->marks_free);
}

static void check_sampling(const struct tally *t)
{
    double sigma = sqrt(t->var);
    check("sample-count", fabs((double)marked_new - t->p) <= 5 * sigma + 5, "%llu sampled, %.1f expected (sigma %.1f) at rate %llu",
          (unsigned long long)marked_new, t->p, sigma, (unsigned long long)sample_rate);
    check("sampled-frees-paired", unknown_free == 0, "%llu sampled frees of blocks the library never reported sampled",
          (unsigned long long)unknown_free);
}

/* ---- scenarios ---- */

static int64_t kept_usable(void)
{
    int64_t sum = 0;
    for (int i = 0; i < crew.count; i++)
        for (int j = 0; j < KEPT; j++)
            if (crew.workers[i].blocks[j].p)
                sum += (int64_t)malloc_usable_size(crew.workers[i].blocks[j].p);
    return sum;
}

/* Loads the library and fills table 0 with glibc, as memprof would for a program on glibc. */
static struct api glibc_entries;

static void load_for_glibc(const char *lib)
{
    load(lib);
    fill_table(0, &glibc, MEMPROF_ALLOCATOR_GLIBC, mallinfo2, NULL, 0);
    glibc_entries = entry_points(0, &glibc);
}

static int64_t jemalloc_live(void)
{
    if (!jemalloc_ctl)
        return 0;
    uint64_t epoch = 1;
    size_t size = sizeof(epoch), allocated = 0;
    jemalloc_ctl("epoch", &epoch, &size, &epoch, size);
    size = sizeof(allocated);
    jemalloc_ctl("stats.allocated", &allocated, &size, NULL, 0);
    return (int64_t)allocated;
}

/* The first allocation through an entry point carries the request out (counting starts with
 * it, from a base of what the library counted); then the harness, as memprof would at a safe point, calls
 * memprof_preload_apply, which takes the base from the allocators. What the checks expect starts
 * after that (the first block is in the base). Returns the base. */
static int64_t apply_with_first_call(uint64_t generation, uint64_t rate, void **first)
{
    int64_t counted = decode().live;
    *first = glibc_entries.malloc(1);
    check("request-applied", state->applied_generation == generation && state->rate == rate, "applied %llu of %llu, rate %llu",
          (unsigned long long)state->applied_generation, (unsigned long long)generation, (unsigned long long)state->rate);
    struct totals d = decode();
    /* The call that carried the request out is the first one counted (it was sampled at its rate). */
    check("counting-starts-at-the-request", d.allocations == 1 && d.frees == 0 && d.live == state->base_live + (int64_t)malloc_usable_size(*first),
          "%llu calls, %llu frees", (unsigned long long)d.allocations, (unsigned long long)d.frees);
    /* An allocation call never asks the allocators (their locks may be held by the code a
     * signal handler interrupted). */
    check("no-allocator-statistics-in-a-call", state->base_live == counted && (state->flags & MEMPROF_STATE_BASE_UNKNOWN),
          "base %lld, counted %lld, flags %u", (long long)state->base_live, (long long)counted, state->flags);
    uint64_t (*apply)(void) = dlsym(library, "memprof_preload_apply");
    int64_t allocator_live = glibc_live() + jemalloc_live();
    uint64_t applied = apply();
    int64_t base = state->base_live;
    check("base-is-the-allocators", applied == generation && base == allocator_live, "applied %llu, base %lld, allocators say %lld",
          (unsigned long long)applied, (long long)base, (long long)allocator_live);
    d = decode();
    check("counting-starts-at-the-safe-point", d.allocations == 0 && d.frees == 0 && d.live == base, "%llu calls, %llu frees",
          (unsigned long long)d.allocations, (unsigned long long)d.frees);
    reset_marks();
    return base;
}

/* `marked`: the block was allocated through the sampler at rate 1 (else its free passes through unreported). */
static void tally_free(struct tally *t, void *block, int marked)
{
    t->frees++;
    t->freed_usable += malloc_usable_size(block);
    t->marks_free += (uint64_t)marked;
}

/* Frees every block the crew kept, through the entry points, into `t`. */
static void free_kept(struct tally *t)
{
    for (int i = 0; i < crew.count; i++) {
        struct worker *w = &crew.workers[i];
        memset(&w->tally, 0, sizeof(w->tally));
        release_all(w);
        add_tally(t, &w->tally);
    }
}

static void check_all_sampled_freed(void)
{
    int negative = 0;
    for (int i = 0; i < (1 << SAMPLED_BITS); i++)
        negative += sampled[i].count < 0;
    check("no-sampled-block-left", sampled_count == 0 && negative == 0 && state->untracked_samples == 0,
          "%lld sampled blocks never reported freed, %d freed more often than sampled, %llu untracked", (long long)sampled_count, negative,
          (unsigned long long)state->untracked_samples);
}

/* Exact counters, base live and markers with threads that ran before the library came. */
static int run(const char *lib, uint64_t rate, int threads, int ops, const char *state_file)
{
    sample_rate = rate;
    track_samples = rate > 1;
    start_crew(threads, ops);
    /* The program's own heap before the attach: many small blocks and a few mmapped ones. */
    enum { BEFORE = 20000 };
    static void *before[BEFORE];
    int64_t before_usable = 0;
    for (int i = 0; i < BEFORE; i++) {
        before[i] = malloc(i % 100 == 0 ? 200000 : 16 + (size_t)(i % 50) * 8);
        before_usable += (int64_t)malloc_usable_size(before[i]);
    }
    int64_t known = before_usable + kept_usable();
    load_for_glibc(lib);
    crew.apis[0] = &glibc_entries;
    crew.api_count = 1;
    uint64_t generation = request(rate);
    void *first;
    int64_t base = apply_with_first_call(generation, rate, &first);
    check("base-measured", !(state->flags & MEMPROF_STATE_BASE_UNKNOWN), "flags %u", state->flags);
    /* mallinfo2 counts chunks with their 8-byte headers (16 mmapped) and blocks parked in the
     * threads' tcaches (at most 7 per size class of up to 1 KiB each: ~240 KiB a thread). */
    int64_t slack = 16 * (BEFORE + threads * KEPT) + (threads + 1) * 245000 + 256 * 1024;
    check("base-live-close-to-the-heap", base >= known && base <= known + slack,
          "base %lld, usable bytes the harness holds %lld, allowed up to %lld more", (long long)base, (long long)known, (long long)slack);
    struct tally main_tally;
    memset(&main_tally, 0, sizeof(main_tally));
    tally_free(&main_tally, first, rate <= 1);
    glibc_entries.free(first);
    /* Half the program's earlier blocks freed after the attach, through the entry point. */
    for (int i = 0; i < BEFORE; i += 2) {
        tally_free(&main_tally, before[i], 0);
        glibc_entries.free(before[i]);
    }
    pthread_barrier_wait(&crew.attached);
    passers(threads * 16, &main_tally);
    struct tally sum = finish_crew();
    add_tally(&sum, &main_tally);
    check_counters("exact-counters", &sum, base);
    if (rate <= 1)
        check_every_call_marked(&sum);
    /* Either way: chunk headers make mallinfo2 larger; chunks parked in tcache at the attach were
     * in the base and leave mallinfo2 when their thread ends, never through a free of ours. */
    int64_t live = decode().live, now = glibc_live();
    check("live-close-to-the-heap-after", llabs(live - now) <= slack, "live %lld, mallinfo2 %lld, allowed %lld apart", (long long)live,
          (long long)now, (long long)slack);
    check("a-slot-per-thread", state->slots[0].allocations == 0 && state->slots[0].frees == 0, "%llu calls in the shared slot",
          (unsigned long long)state->slots[0].allocations);
    if (state_file) {
        FILE *f = fopen(state_file, "wb");
        if (!f || fwrite(state, sizeof(*state), 1, f) != 1)
            die("cannot write the state");
        fclose(f);
        printf("expect allocations=%llu bytes=%llu frees=%llu freed_usable=%llu live=%lld\n", (unsigned long long)sum.allocations,
               (unsigned long long)sum.bytes, (unsigned long long)sum.frees, (unsigned long long)sum.freed_usable,
               (long long)(base + (int64_t)sum.allocated_usable - (int64_t)sum.freed_usable));
    }
    if (rate > 1) {
        free_kept(&sum);
        check_counters("exact-counters-after-every-free", &sum, base);
        check_sampling(&sum);
        check_all_sampled_freed();
    }
    return failures ? 1 : 0;
}

/* glibc, a bump allocator and (if given) libjemalloc.so.2 at once, each through its own table. */
static int tables(const char *lib, int threads, int ops, const char *jemalloc_path)
{
    sample_rate = 1;
    start_crew(threads, ops);
    int with_jemalloc = jemalloc_path && load_jemalloc(jemalloc_path);
    check("jemalloc-loaded", !jemalloc_path || with_jemalloc, "%s", jemalloc_path ? jemalloc_path : "not asked for");
    load_for_glibc(lib);
    static struct api bump_entries, jemalloc_entries;
    fill_table(2, &bump, MEMPROF_ALLOCATOR_OTHER, NULL, NULL, 1);
    bump_entries = entry_points(2, &bump);
    /* A table filled without a usable size makes live bytes inexact, and says so. */
    fill_table(3, &bump, MEMPROF_ALLOCATOR_OTHER, NULL, NULL, 0);
    crew.apis[0] = &glibc_entries;
    crew.apis[1] = &bump_entries;
    crew.api_count = 2;
    if (with_jemalloc) {
        fill_table(1, &jemalloc, MEMPROF_ALLOCATOR_JEMALLOC, NULL, jemalloc_ctl, 1);
        jemalloc_entries = entry_points(1, &jemalloc);
        crew.apis[crew.api_count++] = &jemalloc_entries;
        jemalloc_checks = 1;
    }
    uint64_t generation = request(1);
    void *first;
    int64_t base = apply_with_first_call(generation, 1, &first);
    uint32_t want = MEMPROF_STATE_INJECTED | MEMPROF_STATE_BASE_UNKNOWN | MEMPROF_STATE_USABLE_UNKNOWN;
    check("flags-say-what-is-unknown", state->flags == want, "flags %u, expected %u", state->flags, want);
    struct tally main_tally;
    memset(&main_tally, 0, sizeof(main_tally));
    tally_free(&main_tally, first, 1);
    glibc_entries.free(first);
    uint64_t bump_before = bump_calls;
    pthread_barrier_wait(&crew.attached);
    passers(threads * 4, &main_tally);
    struct tally sum = finish_crew();
    add_tally(&sum, &main_tally);
    check_counters("exact-counters", &sum, base);
    check_every_call_marked(&sum);
    check("bump-table-forwards-to-bump", bump_calls - bump_before == sum.bump_calls && sum.bump_calls > 0,
          "the bump allocator saw %llu calls, the harness made %llu", (unsigned long long)(bump_calls - bump_before),
          (unsigned long long)sum.bump_calls);
    free_kept(&sum);
    check_counters("exact-counters-after-every-free", &sum, base);
    return failures ? 1 : 0;
}

/* A process that has the library from an earlier attach: a new request resets the rate, the
 * counters and the sampled blocks, whatever the earlier recording had. */
static int again(const char *lib, int threads, int ops)
{
    sample_rate = 1;
    start_crew(threads, ops);
    load_for_glibc(lib);
    crew.apis[0] = &glibc_entries;
    crew.api_count = 1;
    void *first;
    int64_t base = apply_with_first_call(request(1), 1, &first);
    struct tally first_tally;
    memset(&first_tally, 0, sizeof(first_tally));
    tally_free(&first_tally, first, 1);
    glibc_entries.free(first);
    pthread_barrier_wait(&crew.attached);
    struct tally sum = finish_crew();
    add_tally(&sum, &first_tally);
    check_counters("first-attach-exact", &sum, base);

    /* The second recording asks for 64 KiB, applied by a remote call at a safe point. */
    uint64_t (*apply)(void) = dlsym(library, "memprof_preload_apply");
    sample_rate = 65536;
    uint64_t generation = request(sample_rate);
    reset_marks();
    pthread_mutex_lock(&sampled_lock);
    memset(sampled, 0, sizeof(sampled));
    sampled_count = 0;
    pthread_mutex_unlock(&sampled_lock);
    track_samples = 1;
    int64_t now = glibc_live();
    uint64_t applied = apply();
    check("second-request-applied", applied == generation && state->rate == sample_rate && state->requested_rate == sample_rate,
          "applied %llu of %llu, rate %llu", (unsigned long long)applied, (unsigned long long)generation,
          (unsigned long long)state->rate);
    base = state->base_live;
    check("second-base-is-the-allocators", base == now, "base %lld, mallinfo2 %lld", (long long)base, (long long)now);
    struct totals d = decode();
    check("second-counting-starts-at-zero", d.allocations == 0 && d.frees == 0 && d.bytes == 0 && d.live == base,
          "%llu calls, %llu frees", (unsigned long long)d.allocations, (unsigned long long)d.frees);
    /* The blocks of the first recording (each one sampled at rate 1) are unknown to this one:
     * their frees must not be reported as sampled. */
    struct tally second;
    memset(&second, 0, sizeof(second));
    free_kept(&second);
    check("earlier-samples-forgotten", marked_free == 0 && marked_old == 0, "%llu frees of the first recording's blocks reported",
          (unsigned long long)marked_free);
    second.marks_free = 0;
    pthread_barrier_destroy(&crew.started);
    start_crew(threads, ops);
    pthread_barrier_wait(&crew.attached);
    sum = finish_crew();
    add_tally(&sum, &second);
    free_kept(&sum);
    check_counters("second-attach-exact", &sum, base);
    check_sampling(&sum);
    check_all_sampled_freed();

    /* A request without a rate keeps the one in effect and restarts the counters. */
    generation = request(0);
    applied = apply();
    d = decode();
    check("rate-zero-keeps-the-rate", applied == generation && state->rate == sample_rate && d.allocations == 0,
          "rate %llu, %llu calls", (unsigned long long)state->rate, (unsigned long long)d.allocations);
    return failures ? 1 : 0;
}

/* Slots switched to the entry points and back while threads allocate nonstop (free slots
 * first, then allocation slots; back in the reverse order), threads coming and going. */
static void *(*_Atomic slot_malloc)(size_t);
static void (*_Atomic slot_free)(void *);
static _Atomic int stop_switching;

static void *switch_worker(void *arg)
{
    struct worker *w = arg;
    unsigned char *kept[KEPT] = { 0 };
    size_t sizes[KEPT] = { 0 };
    uint64_t ops = 0;
    while (!atomic_load(&stop_switching) || ops < 1000) {
        int i = (int)(next_random(w) % KEPT);
        if (kept[i]) {
            for (size_t j = 0; j < (sizes[i] < 64 ? sizes[i] : 64); j++)
                if (kept[i][j] != (unsigned char)i)
                    die("a block's bytes changed while slots switched");
            atomic_load(&slot_free)(kept[i]);
            kept[i] = NULL;
        } else {
            sizes[i] = pick_size(w);
            if (!(kept[i] = atomic_load(&slot_malloc)(sizes[i])))
                die("malloc failed while slots switched");
            memset(kept[i], i, sizes[i] < 64 ? sizes[i] : 64);
        }
        ops++;
        if (w->id < 0 && ops > 2000)
            break;
    }
    for (int i = 0; i < KEPT; i++)
        atomic_load(&slot_free)(kept[i]);
    return NULL;
}

static int switching(const char *lib, int threads, int cycles)
{
    atomic_store(&slot_malloc, malloc);
    atomic_store(&slot_free, free);
    static struct worker workers[64], passing[8];
    pthread_t ids[64], passing_ids[8];
    for (int i = 0; i < threads; i++) {
        workers[i].rng = 0x9E3779B97F4A7C15ULL * (uint64_t)(i + 3);
        workers[i].id = i;
        pthread_create(&ids[i], NULL, switch_worker, &workers[i]);
    }
    usleep(20000);
    load_for_glibc(lib);
    request(4096);
    for (int c = 0; c < cycles; c++) {
        atomic_store(&slot_free, glibc_entries.free);
        atomic_store(&slot_malloc, glibc_entries.malloc);
        for (int i = 0; i < 8; i++) {
            passing[i].rng = 0x2545F4914F6CDD1DULL * (uint64_t)(c * 8 + i + 1);
            passing[i].id = -1;
            pthread_create(&passing_ids[i], NULL, switch_worker, &passing[i]);
        }
        usleep(2000);
        atomic_store(&slot_malloc, malloc);
        usleep(500);
        atomic_store(&slot_free, free);
        for (int i = 0; i < 8; i++)
            pthread_join(passing_ids[i], NULL);
        usleep(1000);
    }
    atomic_store(&slot_free, glibc_entries.free);
    atomic_store(&slot_malloc, glibc_entries.malloc);
    atomic_store(&stop_switching, 1);
    for (int i = 0; i < threads; i++)
        pthread_join(ids[i], NULL);
    uint64_t owned = 0;
    for (int i = 1; i < MEMPROF_PRELOAD_SLOTS; i++)
        owned += state->slots[i].in_use;
    struct totals d = decode();
    check("threads-give-their-slots-back", owned <= 1, "%llu slots owned with only the main thread left", (unsigned long long)owned);
    check("switching-counted", d.allocations > 0 && d.frees > 0 && state->untracked_samples == 0,
          "%llu calls, %llu frees, %llu untracked", (unsigned long long)d.allocations, (unsigned long long)d.frees,
          (unsigned long long)state->untracked_samples);
    return failures ? 1 : 0;
}

/* Threads idle since the attach (in epoll_wait, read…) wake together once memprof asked for
 * rate 1, and their first calls come while one of them is carrying the request out: every call
 * made after the request must be marked, the first ones too. Fresh threads each cycle, as a
 * woken thread's first call through the sampler also sets its state up. In the first cycles the
 * harness itself plays a thread preempted while applying (it holds the library's `applying`
 * flag for a while, found with nm), which a loaded machine does now and then; in the others the
 * threads race for it. */
#define WAKE_CALLS 3
static void *(*wake_malloc)(size_t);
static pthread_barrier_t wake_barrier;
static _Atomic int wake_done;

static void *wake_thread(void *arg)
{
    void **blocks = arg;
    pthread_barrier_wait(&wake_barrier);
    for (int i = 0; i < WAKE_CALLS; i++)
        blocks[i] = wake_malloc(1111);
    atomic_fetch_add(&wake_done, 1);
    return NULL;
}

/* The library's private flag of a thread carrying a request out (a local symbol). */
static _Atomic int *applying_flag(const char *lib)
{
    char command[4200], line[512];
    snprintf(command, sizeof(command), "nm --defined-only '%s'", lib);
    FILE *nm = popen(command, "r");
    if (!nm)
        die("cannot run nm");
    unsigned long long value = 0;
    char kind, name[256];
    int found = 0;
    while (fgets(line, sizeof(line), nm))
        if (sscanf(line, "%llx %c %255s", &value, &kind, name) == 3 && strcmp(name, "applying") == 0) {
            found = 1;
            break;
        }
    pclose(nm);
    struct link_map *map = NULL;
    if (!found || dlinfo(library, RTLD_DI_LINKMAP, &map) != 0 || !map)
        die("the library's applying flag cannot be found");
    return (_Atomic int *)(map->l_addr + value);
}

static int wakeup(const char *lib, int threads, int cycles, int held_cycles)
{
    if (threads > 64)
        die("at most 64 threads");
    load_for_glibc(lib);
    wake_malloc = glibc_entries.malloc;
    uint64_t (*apply)(void) = dlsym(library, "memprof_preload_apply");
    _Atomic int *applying = applying_flag(lib);
    /* memprof's first request: counting without sampling (InjectLibrary.NotSampling). */
    const uint64_t not_sampling = 1ULL << 56;
    static void *blocks[64][WAKE_CALLS];
    pthread_t ids[64];
    uint64_t unmarked[2] = { 0, 0 }, calls[2] = { 0, 0 };
    int losing[2] = { 0, 0 }, went_on = 0, miscounted = 0;
    for (int c = 0; c < held_cycles + cycles; c++) {
        int held = c < held_cycles;
        request(not_sampling);
        apply();
        atomic_store(&wake_done, 0);
        pthread_barrier_init(&wake_barrier, NULL, (unsigned)threads + 1);
        for (int i = 0; i < threads; i++)
            if (pthread_create(&ids[i], NULL, wake_thread, blocks[i]) != 0)
                die("pthread_create");
        reset_marks();
        if (held) {
            int expected = 0;
            if (!atomic_compare_exchange_strong(applying, &expected, 1))
                die("the library is applying a request with every thread idle");
        }
        request(1);
        pthread_barrier_wait(&wake_barrier);
        if (held) {
            /* Long enough for every thread's calls, had they gone on without the request. */
            usleep(20000);
            /* Threads that finished while the request was still pending (none should). */
            went_on += atomic_load(&wake_done);
            atomic_store(applying, 0);
        }
        for (int i = 0; i < threads; i++)
            pthread_join(ids[i], NULL);
        pthread_barrier_destroy(&wake_barrier);
        uint64_t marked = atomic_load(&marked_new), made = (uint64_t)threads * WAKE_CALLS;
        calls[held] += made;
        if (marked != made) {
            unmarked[held] += made - marked;
            losing[held]++;
        }
        /* Counted from the request on, each call once: as many as were marked. */
        struct totals d = decode();
        if (d.allocations != made)
            miscounted++;
        for (int i = 0; i < threads; i++)
            for (int j = 0; j < WAKE_CALLS; j++)
                glibc_entries.free(blocks[i][j]);
    }
    check("calls-wait-for-the-thread-applying", unmarked[1] == 0 && went_on == 0,
          "%llu of %llu calls unmarked, in %d of %d cycles; %d threads went on while the request was being applied",
          (unsigned long long)unmarked[1], (unsigned long long)calls[1], losing[1], held_cycles, went_on);
    check("every-call-after-the-request-marked", unmarked[0] == 0, "%llu of %llu calls unmarked, in %d of %d cycles",
          (unsigned long long)unmarked[0], (unsigned long long)calls[0], losing[0], cycles);
    check("counted-from-the-request", miscounted == 0, "the counters missed calls after the request in %d of %d cycles", miscounted,
          held_cycles + cycles);
    return failures ? 1 : 0;
}

/* A forked child is a new process to memprof: its counters start from zero and stay exact. */
static int forked(const char *lib, int ops)
{
    sample_rate = 1;
    load_for_glibc(lib);
    void *first;
    apply_with_first_call(request(1), 1, &first);
    glibc_entries.free(first);
    pid_t child = fork();
    if (child == 0) {
        struct totals d = decode();
        check("child-starts-from-zero", d.allocations == 0 && d.frees == 0, "%llu calls, %llu frees",
              (unsigned long long)d.allocations, (unsigned long long)d.frees);
        int64_t base = state->base_live;
        static struct worker w;
        w.rng = 12345;
        const struct api *apis[] = { &glibc_entries };
        reset_marks();
        run_ops(&w, apis, 1, ops);
        release_all(&w);
        check_counters("child-exact", &w.tally, base);
        check_every_call_marked(&w.tally);
        fflush(stdout);
        _exit(failures ? 1 : 0);
    }
    int status = 0;
    waitpid(child, &status, 0);
    check("child-ok", WIFEXITED(status) && WEXITSTATUS(status) == 0, "status %d", status);
    return failures ? 1 : 0;
}

static double pairs_ns(void *(*m)(size_t), void (*f)(void *), long pairs)
{
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    for (long i = 0; i < pairs; i++) {
        void *volatile p = m(32);
        f(p);
    }
    clock_gettime(CLOCK_MONOTONIC, &b);
    return ((double)(b.tv_sec - a.tv_sec) * 1e9 + (double)(b.tv_nsec - a.tv_nsec)) / (double)pairs;
}

/* malloc(32)+free pairs natively and through table 0 at the default rate, best of 5 each. */
static int bench(const char *lib, long pairs)
{
    load_for_glibc(lib);
    void *first;
    apply_with_first_call(request(512 * 1024), 512 * 1024, &first);
    glibc_entries.free(first);
    double native = 1e9, injected = 1e9;
    for (int i = 0; i < 5; i++) {
        double n = pairs_ns(malloc, free, pairs), j = pairs_ns(glibc_entries.malloc, glibc_entries.free, pairs);
        native = n < native ? n : native;
        injected = j < injected ? j : injected;
    }
    printf("bench native %.2f ns/pair, injected %.2f ns/pair\n", native, injected);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 3)
        die("usage: inject_harness LIB run|tables|again|switch|fork|wake|bench ...");
    const char *lib = argv[1], *mode = argv[2];
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (strcmp(mode, "run") == 0 && argc >= 6)
        return run(lib, strtoull(argv[3], NULL, 10), atoi(argv[4]), atoi(argv[5]), argc > 6 ? argv[6] : NULL);
    if (strcmp(mode, "tables") == 0 && argc >= 5)
        return tables(lib, atoi(argv[3]), atoi(argv[4]), argc > 5 ? argv[5] : NULL);
    if (strcmp(mode, "again") == 0 && argc >= 5)
        return again(lib, atoi(argv[3]), atoi(argv[4]));
    if (strcmp(mode, "switch") == 0 && argc >= 5)
        return switching(lib, atoi(argv[3]), atoi(argv[4]));
    if (strcmp(mode, "wake") == 0 && argc >= 6)
        return wakeup(lib, atoi(argv[3]), atoi(argv[4]), atoi(argv[5]));
    if (strcmp(mode, "fork") == 0 && argc >= 4)
        return forked(lib, atoi(argv[3]));
    if (strcmp(mode, "bench") == 0 && argc >= 4)
        return bench(lib, atol(argv[3]));
    die("bad arguments");
    return 2;
}
