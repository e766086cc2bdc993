/* Layout shared by memprof.bpf.c and the C# collector (collectors/Profiler.Collectors.Linux/Bpf/BpfEvent.cs).
 * Change both together: the C# side checks sizeof and offsets in its tests. */
#ifndef MEMPROF_H
#define MEMPROF_H

#define MEMPROF_MAX_FRAMES 127

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
    /* Not a probe: a traced process called exec (sched_process_exec). */
    MEMPROF_EXEC = 11,
    /* Not an allocation: a launched process entered exit(); it is stopped until its maps are read. */
    MEMPROF_EXIT = 12,
};

/* Values of the targets map. */
#define MEMPROF_TARGET_ATTACHED 1
#define MEMPROF_TARGET_LAUNCHED 2

/* Attach cookie: bits 0..15 = byte offset from %rsp to the caller's return address at the probed
 * instruction (8 per preceding push), bits 16..23 = enum memprof_func. */
#define MEMPROF_COOKIE(func, sp_offset) ((((__u64)(func)) << 16) | ((__u64)(sp_offset) & 0xffff))

struct memprof_event {
    __u64 time_ns;      /* CLOCK_MONOTONIC */
    __u32 pid;
    __u32 tid;
    __u64 address;      /* allocations: the returned block; free: the freed block */
    __u64 old_address;  /* realloc/reallocarray: the block passed in (0 if none) */
    __u64 size;         /* requested bytes */
    __u64 caller;       /* return address read at entry: the allocator's direct caller */
    __u64 entry_slot;   /* address of that return address on the stack, pairs entry with return */
    __u64 out_ptr;      /* posix_memalign: where the result is stored */
    __u32 func;         /* enum memprof_func */
    __u32 frame_count;  /* valid entries in frames */
    char comm[16];      /* the thread's name when the event happened */
    __u64 frames[MEMPROF_MAX_FRAMES];
};

#define MEMPROF_EVENT_HEADER_SIZE 88

enum memprof_counter {
    MEMPROF_COUNTER_LOST_EVENTS = 0,
    MEMPROF_COUNTER_STACK_ERRORS = 1,
    MEMPROF_COUNTER_COUNT = 2,
};

#endif
