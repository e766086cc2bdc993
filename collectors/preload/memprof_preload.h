/* Layout of the preload library's exported state, read by memprof from the target's memory
 * (collectors/Profiler.Collectors.Linux/Preload/PreloadState.cs mirrors it; change both together). */
#ifndef MEMPROF_PRELOAD_H
#define MEMPROF_PRELOAD_H

#include <stdint.h>

#define MEMPROF_PRELOAD_MAGIC 0x314c5250464d454dULL /* "MEMFPRL1" little-endian */
#define MEMPROF_PRELOAD_SLOTS 1024

/* The environment variable memprof sets at launch: the mean sampling interval in bytes
 * (1 = every allocation). Without it the library counts but samples at the default. */
#define MEMPROF_PRELOAD_RATE_ENV "MEMPROF_PRELOAD_RATE"

/* Counters of one thread (slot 0: threads past the pool, and calls after a thread's exit, with
 * atomic adds). A slot outlives its thread and is reused by a later one, which keeps adding:
 * sums over all slots are totals since the process started. */
struct memprof_preload_slot {
    uint64_t allocations;
    uint64_t allocated_bytes;   /* requested */
    uint64_t allocated_usable;  /* glibc's usable size of each block */
    uint64_t frees;
    uint64_t freed_usable;
    uint64_t in_use;            /* a live thread owns the slot */
    uint64_t pad[2];
};

struct memprof_preload_state {
    uint64_t magic;
    uint32_t version;
    uint32_t slot_count;
    uint64_t rate;               /* mean bytes between samples */
    int64_t base_live;           /* usable bytes live when this process was forked */
    int64_t flushed_live;        /* live bytes as threads flush their running deltas */
    int64_t peak_live;           /* the highest flushed_live seen */
    uint64_t peak_time_ns;       /* CLOCK_MONOTONIC */
    uint64_t untracked_samples;  /* sampled blocks the address set had no room for */
    uint64_t pad[8];
    struct memprof_preload_slot slots[MEMPROF_PRELOAD_SLOTS];
};

#endif
