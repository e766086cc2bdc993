/* What the BPF program (memprof.h) and the preload library (collectors/preload) must agree on:
 * the ids of the probed functions and the flags of an event. Plain enums (no types), so both the
 * BPF and the user-space compiler take this header; the C# mirrors are checked against the BPF
 * object's BTF by tests/Profiler.Tests/Collector/KernelInterfaceTests.cs. */
#ifndef MEMPROF_SHARED_H
#define MEMPROF_SHARED_H

/* What the probe sits on. The allocation functions are AllocFunction in recording.proto too. */
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

/* memprof_event.flags, and the flags of the preload library's alloc marker. */
enum memprof_event_flag {
    MEMPROF_EVENT_NEW_SAMPLED = 1,    /* address is a sampled allocation */
    MEMPROF_EVENT_OLD_SAMPLED = 2,    /* old_address (realloc) was a sampled allocation, now freed */
    MEMPROF_EVENT_STACK_COMPLETE = 4, /* the frame-pointer walk ended on a zero frame pointer (the outermost frame) */
};

/* The alloc marker's last argument: func | flags << MEMPROF_MARKER_FLAGS_SHIFT. */
#define MEMPROF_MARKER_FLAGS_SHIFT 8

#endif
