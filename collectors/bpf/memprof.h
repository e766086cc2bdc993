/* The interface between memprof.bpf.c and user space. Its C# mirror
 * (collectors/Profiler.Collectors.Linux/Bpf/BpfEvent.cs) is checked against the BTF of the compiled
 * object, member by member and constant by constant, by tests/Profiler.Tests/Collector/KernelInterfaceTests.cs:
 * change this header, rebuild the object (make -C collectors/bpf) and that test names what the
 * C# side lacks. Constants are enum constants rather than #defines so that the BTF carries them. */
#ifndef MEMPROF_H
#define MEMPROF_H

#include "memprof_shared.h"

enum memprof_limit {
    MEMPROF_MAX_FRAMES = 127,
    /* Largest user-stack copy per sample (for DWARF unwinding in user space); a copy stops earlier
     * at the top of the stack. Rust and C++ programs often sit 16-30 KiB deep when they allocate. */
    MEMPROF_MAX_STACK_COPY = 65536,
    MEMPROF_GAP_TABLE_SIZE = 4096,
    MEMPROF_EVENT_HEADER_SIZE = 112, /* sizeof(struct memprof_event) */
};

/* Values of the targets map. */
enum memprof_target {
    MEMPROF_TARGET_ATTACHED = 1,
    MEMPROF_TARGET_LAUNCHED = 2,
};

/* Attach cookie: bits 0..15 = byte offset from %rsp to the caller's return address at the probed
 * instruction (8 per preceding push), bits 16..23 = enum memprof_func, bit 24 = the allocator is
 * glibc's, whose chunk headers give each block's usable size. */
enum memprof_cookie {
    MEMPROF_COOKIE_SP_OFFSET_MASK = 0xffff,
    MEMPROF_COOKIE_FUNC_SHIFT = 16,
    MEMPROF_COOKIE_FUNC_MASK = 0xff,
    MEMPROF_COOKIE_GLIBC = 1 << 24,
};

/* A ring-buffer record: this header, then frame_count return addresses (frame-pointer walk, leaf
 * first), then stack_len bytes of user stack copied from sp (up to the top of the stack at most). */
struct memprof_event {
    __u64 time_ns;      /* CLOCK_MONOTONIC */
    __u32 pid;
    __u32 tid;
    __u64 address;      /* allocations: the returned block; free: the freed block */
    __u64 old_address;  /* realloc: the block passed in (0 if none); fork: the parent pid */
    __u64 size;         /* requested bytes; process exit: the exit status */
    __u64 caller;       /* return address read at entry: the allocator's direct caller */
    __u64 seq;          /* pairs a MEMPROF_STACK record with its allocation */
    __u32 func;         /* enum memprof_func */
    __u32 flags;        /* enum memprof_event_flag */
    __u32 frame_count;  /* return addresses after the header */
    __u32 stack_len;    /* bytes of stack after the frames */
    __u64 sp;           /* registers at the probe, for unwinding the copied stack */
    __u64 bp;
    __u64 ip;
    char comm[16];      /* the thread's name when the event happened */
};

_Static_assert(sizeof(struct memprof_event) == MEMPROF_EVENT_HEADER_SIZE, "MEMPROF_EVENT_HEADER_SIZE");

/* Sampling and stack settings, written by user space after load (config map, key 0). */
struct memprof_config {
    __u64 sample_rate;     /* mean bytes between samples; <= 1: every allocation */
    __u32 stack_copy;      /* bytes of user stack to copy per sample; 0: frame pointers only */
    __u32 follow_children; /* trace forked children and stop processes at exec */
};

/* Exact totals of every call in one process (totals map, key = pid). */
struct memprof_totals {
    __u64 allocations;
    __u64 allocated_bytes;   /* requested */
    __u64 frees;
    __u64 freed_usable;      /* glibc: usable bytes of freed blocks */
    __s64 live_usable;       /* glibc: usable bytes live now */
    __s64 peak_usable;
    __u64 peak_time_ns;
    __u64 usable_known;      /* non-zero when every call was to glibc, so live_usable means something */
};

/* Indexes of the per-CPU counters map. */
enum memprof_counter {
    MEMPROF_COUNTER_LOST_EVENTS = 0,
    MEMPROF_COUNTER_STACK_ERRORS = 1,
    MEMPROF_COUNTER_SAMPLED_MAP_FULL = 2,
    MEMPROF_COUNTER_SAMPLES = 3,
    MEMPROF_COUNTER_COUNT = 4,
};

#endif
