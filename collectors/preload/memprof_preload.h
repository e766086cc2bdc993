/* Layout of the sampler's exported state, read (and, to attach, written) by memprof through the
 * target's memory (collectors/Profiler.Collectors.Linux/Preload/PreloadState.cs mirrors it;
 * change both together). Both builds export it as memprof_preload_state: the launch library
 * (libmemprof_preload.so, LD_PRELOAD) and the injectable one (libmemprof_inject.so, dlopen'ed
 * into a running process whose GOT slots memprof points at its entry points). */
#ifndef MEMPROF_PRELOAD_H
#define MEMPROF_PRELOAD_H

#include <malloc.h>
#include <stddef.h>
#include <stdint.h>

#define MEMPROF_PRELOAD_MAGIC 0x314c5250464d454dULL /* "MEMFPRL1" little-endian */
/* 2: the attach protocol (requested/applied generation, start sums, forwarding tables). */
#define MEMPROF_PRELOAD_VERSION 2
#define MEMPROF_PRELOAD_SLOTS 1024
#define MEMPROF_FORWARD_TABLES 4

/* The environment variable memprof sets at launch: the mean sampling interval in bytes
 * (1 = every allocation). Without it the library counts but samples at the default. */
#define MEMPROF_PRELOAD_RATE_ENV "MEMPROF_PRELOAD_RATE"

/* Counters of one thread (slot 0: threads past the pool, and calls after a thread's exit, with
 * atomic adds). A slot outlives its thread and is reused by a later one, which keeps adding:
 * sums over all slots only grow (a forked child starts from zero); what a recording counts is
 * the sums minus the start_* sums taken when its attach request was carried out. */
struct memprof_preload_slot {
    uint64_t allocations;
    uint64_t allocated_bytes;   /* requested */
    uint64_t allocated_usable;  /* the allocator's usable size of each block */
    uint64_t frees;
    uint64_t freed_usable;
    uint64_t in_use;            /* a live thread owns the slot */
    uint64_t pad[2];
};

/* What a forwarding table's allocator is: how the library learns usable sizes and the live heap. */
enum memprof_allocator_kind {
    MEMPROF_ALLOCATOR_NONE = 0,     /* the table is not filled (yet) */
    MEMPROF_ALLOCATOR_GLIBC = 1,    /* usable size from the chunk header; live heap from mallinfo2 */
    MEMPROF_ALLOCATOR_JEMALLOC = 2, /* usable_size (malloc_usable_size); live heap from mallctl "stats.allocated" */
    MEMPROF_ALLOCATOR_OTHER = 3,    /* usable_size if given; no live heap */
};

/* One allocator's entry points, as the GOT slots memprof redirects pointed at them before: the
 * injectable library's entry points of table k (memprof_inject<k>_malloc, …) call these. memprof
 * fills every pointer it will send calls to, then kind (last), before any slot points at the
 * table; a table in use is never changed. A null function fails its call (NULL, ENOMEM, a free
 * leaks) rather than crash. */
struct memprof_forward_table {
    uint32_t kind;              /* enum memprof_allocator_kind; written last */
    uint32_t reserved;
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
    size_t (*usable_size)(void *);  /* malloc_usable_size of this allocator (not needed for glibc) */
    struct mallinfo2 (*mallinfo2)(void);                              /* glibc */
    int (*mallctl)(const char *, void *, size_t *, void *, size_t);  /* jemalloc */
    uint64_t pad[5];
};

/* flags: set up at load, updated when a request is carried out (from the tables then filled). */
#define MEMPROF_STATE_INJECTED 1        /* the injectable build */
#define MEMPROF_STATE_USABLE_UNKNOWN 2  /* a table has no usable size: live bytes are not exact */
#define MEMPROF_STATE_BASE_UNKNOWN 4    /* base_live lacks (some of) the heap from before counting:
                                         * not measured yet, or an allocator could not tell */

struct memprof_preload_state {
    uint64_t magic;              /* written last when the library is set up */
    uint32_t version;
    uint32_t slot_count;
    uint64_t rate;               /* mean bytes between samples, in effect now */
    int64_t base_live;           /* usable bytes live when counting started (fork, attach) */
    int64_t flushed_live;        /* live bytes as threads flush their running deltas */
    int64_t peak_live;           /* the highest flushed_live seen */
    uint64_t peak_time_ns;       /* CLOCK_MONOTONIC */
    uint64_t untracked_samples;  /* sampled blocks the address set had no room for */
    /* The attach protocol. memprof writes requested_rate, then requested_generation (different
     * from applied_generation); the library's next allocation call in any thread carries it out:
     * sampling at that rate (0 keeps the rate), no sampled block remembered, start_* = the slots'
     * sums then (counting starts there), base_live = the live heap counted so far, and
     * applied_generation = requested_generation last. memprof_preload_apply(), called by memprof
     * at a safe point, does the same at once and takes base_live from the allocators' own
     * statistics (mallinfo2, mallctl): only there, as they take the allocators' locks. */
    uint64_t requested_rate;
    uint64_t requested_generation;
    uint64_t applied_generation;
    uint32_t flags;              /* MEMPROF_STATE_* */
    uint32_t table_count;        /* MEMPROF_FORWARD_TABLES in the injectable build, else 0 */
    uint64_t start_allocations;
    uint64_t start_allocated_bytes;
    uint64_t start_allocated_usable;
    uint64_t start_frees;
    uint64_t start_freed_usable;
    uint64_t start_time_ns;      /* CLOCK_MONOTONIC when the request was carried out */
    uint64_t pad[6];
    struct memprof_forward_table tables[MEMPROF_FORWARD_TABLES];
    struct memprof_preload_slot slots[MEMPROF_PRELOAD_SLOTS];
};

/* The injectable build's shared rings (memprof_ring.h) for one attach, exported as
 * memprof_inject_rings (collectors/Profiler.Collectors.Linux/Preload/InjectLibrary.cs mirrors it).
 * memprof writes `path` (its rings' memfd as /proc/<memprof>/fd/<n>; empty: no rings), then a
 * `requested` generation different from `applied`. The library carries it out in
 * memprof_preload_apply, which memprof calls at a safe point at the attach (and, after its last
 * drain at the detach, by memprof_inject_switch_rings, with an empty path): it stops its threads writing into the rings it
 * has, waits (boundedly) until none is inside one, unmaps them, maps the new ones, and writes
 * `status`, then `applied` last. */
#define MEMPROF_INJECT_RINGS_SYMBOL "memprof_inject_rings"
#define MEMPROF_INJECT_SWITCH_RINGS_SYMBOL "memprof_inject_switch_rings"
#define MEMPROF_INJECT_RINGS_ON 1
#define MEMPROF_INJECT_RINGS_OFF 0
/* status below 0: -errno of the open or the mmap, or one of these. */
#define MEMPROF_INJECT_RINGS_NOT_RINGS (-10000)  /* the file holds no rings of this version */
#define MEMPROF_INJECT_RINGS_BUSY (-10001)       /* a thread stayed inside the earlier rings: none used */
#define MEMPROF_INJECT_RINGS_PATH_BYTES 96

struct memprof_inject_rings {
    uint64_t requested;
    uint64_t applied;
    int64_t status;          /* MEMPROF_INJECT_RINGS_ON, _OFF, or why not (< 0) */
    uint64_t switches;       /* requests carried out (each unmaps the earlier rings, if any) */
    char path[MEMPROF_INJECT_RINGS_PATH_BYTES];
};
_Static_assert(sizeof(struct memprof_inject_rings) == 128, "InjectLibrary.Rings*Offset");

#endif
