/* Layout shared by memprof.bpf.c and the C# collector (collectors/Profiler.Collectors.Linux/Bpf/BpfEvent.cs).
 * Change both together: the C# side checks sizeof and offsets in its tests. */
#ifndef MEMPROF_H
#define MEMPROF_H

#define MEMPROF_MAX_FRAMES 127
/* Largest user-stack copy per sample (for DWARF unwinding in user space); a copy stops earlier
 * at the top of the stack. Rust and C++ programs often sit 16-30 KiB deep when they allocate. */
#define MEMPROF_MAX_STACK_COPY 65536
#define MEMPROF_GAP_TABLE_SIZE 4096

/* What the probe sits on; kept equal to AllocFunction in recording.proto. */
enum memprof_func {
    MEMPROF_MALLOC = 1,
    MEMPROF_CALLOC = 2,
    MEMPROF_REALLOC = 3,
    MEMPROF_REALLOCARRAY = 4,
    MEMPROF_POSIX_MEMALIGN = 5,
    MEMPROF_ALIGNED_ALLOC = 6,
    MEMPROF_MEMALIGN = 7,
    MEMPROF_VALLOC = 8,
    MEMPROF_PVALLOC = 9,
    MEMPROF_FREE = 10,
    /* Not a probe: a traced process called exec (sched_process_exec); it is stopped when
     * children are followed, until user space has looked at its new image. */
    MEMPROF_EXEC = 11,
    /* Not an allocation: a traced process entered exit(); it is stopped until its maps are read. */
    MEMPROF_EXIT = 12,
    /* A traced process forked a child, now traced and stopped (old_address = parent pid). */
    MEMPROF_FORK = 13,
    /* A traced process ended (size = exit status as wait() reports it). */
    MEMPROF_PROCESS_EXIT = 14,
    /* The entry of a sampled allocation: its stack; the allocation follows with the same seq. */
    MEMPROF_STACK = 15,
    /* jemalloc's non-standard API (any prefix). Events of rallocx/xallocx are reported as
     * MEMPROF_REALLOC and those of sdallocx/dallocx as MEMPROF_FREE. */
    MEMPROF_MALLOCX = 16,
    MEMPROF_RALLOCX = 17,
    MEMPROF_XALLOCX = 18,
    MEMPROF_SDALLOCX = 19,
    MEMPROF_DALLOCX = 20,
    /* jemalloc profiling mode: only jemalloc's own sampled path is probed.
     * prof_lookup(tsd, prof_bt_t *bt): a MEMPROF_STACK record whose frames are bt->vec.
     * prof_malloc_sample_object(tsd, ptr, size, usize, tctx): address = ptr, size = size,
     *   old_address = tctx, caller = usize, seq = the stack's.
     * prof_free_sampled_object: 5.3.0 (tsd, usize, prof_info_t *), 5.3.1+ (tsd, ptr, usize, info):
     *   address = ptr (0 on 5.3.0), old_address = info->alloc_tctx, size = info->alloc_size,
     *   caller = usize. */
    MEMPROF_PROF_LOOKUP = 21,
    MEMPROF_PROF_MALLOC = 22,
    MEMPROF_PROF_FREE = 23,
    /* Not an allocation: the dynamic linker's _dl_debug_state (called once libraries are mapped
     * or unmapped, the hook debuggers use); a launched process is stopped until user space has
     * probed any allocator the new libraries bring. */
    MEMPROF_LIBRARIES = 24,
    /* The preload library's markers (collectors/preload), called only for samples:
     * sampled_alloc(block, size, old_block, func | flags << 8) is reported as an event of that
     * func (a MEMPROF_STACK record first when the new block is sampled);
     * sampled_free(block) as a MEMPROF_FREE of a sampled block. */
    MEMPROF_MARKER_ALLOC = 25,
    MEMPROF_MARKER_FREE = 26,
};

/* Values of the targets map. */
#define MEMPROF_TARGET_ATTACHED 1
#define MEMPROF_TARGET_LAUNCHED 2

/* Attach cookie: bits 0..15 = byte offset from %rsp to the caller's return address at the probed
 * instruction (8 per preceding push), bits 16..23 = enum memprof_func, bit 24 = the allocator is
 * glibc's, whose chunk headers give each block's usable size. */
#define MEMPROF_COOKIE_GLIBC (1ULL << 24)
#define MEMPROF_COOKIE(func, sp_offset) ((((__u64)(func)) << 16) | ((__u64)(sp_offset) & 0xffff))

/* memprof_event.flags */
#define MEMPROF_EVENT_NEW_SAMPLED 1  /* address is a sampled allocation */
#define MEMPROF_EVENT_OLD_SAMPLED 2  /* old_address (realloc) was a sampled allocation, now freed */
#define MEMPROF_EVENT_STACK_COMPLETE 4 /* the frame-pointer walk ended on a zero frame pointer (the outermost frame) */

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
    __u32 flags;        /* MEMPROF_EVENT_* */
    __u32 frame_count;  /* return addresses after the header */
    __u32 stack_len;    /* bytes of stack after the frames */
    __u64 sp;           /* registers at the probe, for unwinding the copied stack */
    __u64 bp;
    __u64 ip;
    char comm[16];      /* the thread's name when the event happened */
};

#define MEMPROF_EVENT_HEADER_SIZE 112

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

enum memprof_counter {
    MEMPROF_COUNTER_LOST_EVENTS = 0,
    MEMPROF_COUNTER_STACK_ERRORS = 1,
    MEMPROF_COUNTER_SAMPLED_MAP_FULL = 2,
    MEMPROF_COUNTER_SAMPLES = 3,
    MEMPROF_COUNTER_COUNT = 4,
};

#endif
