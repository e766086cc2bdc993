// SPDX-License-Identifier: GPL-2.0
/* Allocation tracing on per-process uprobes. The entry program captures the arguments and the
 * user stack; the return program adds the result and submits one event per call. Frees need no
 * return probe. Events go to a ring buffer without per-event wakeups: user space polls it on a
 * timer and is only woken when the buffer fills past a threshold. */
#include <linux/types.h>
#include <linux/bpf.h>
#include <linux/ptrace.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "memprof.h"

char LICENSE[] SEC("license") = "GPL";

/* Ring buffer size; user space may resize before load. */
struct {
    __uint(type, BPF_MAP_TYPE_RINGBUF);
    __uint(max_entries, 16 * 1024 * 1024);
} events SEC(".maps");

/* One in-flight allocation call per thread, keyed by tid. */
struct {
    __uint(type, BPF_MAP_TYPE_LRU_HASH);
    __uint(max_entries, 8192);
    __type(key, __u32);
    __type(value, struct memprof_event);
} inflight SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, struct memprof_event);
} scratch SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, MEMPROF_COUNTER_COUNT);
    __type(key, __u32);
    __type(value, __u64);
} counters SEC(".maps");

/* Processes being recorded; user space adds them. */
struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 1024);
    __type(key, __u32);
    __type(value, __u8);
} targets SEC(".maps");

/* Past this much unread data the submitting program wakes the reader. */
const volatile __u64 wakeup_threshold = 4 * 1024 * 1024;

static __always_inline void count(__u32 which)
{
    __u64 *value = bpf_map_lookup_elem(&counters, &which);
    if (value)
        *value += 1;
}

static __always_inline void submit(struct memprof_event *e)
{
    __u64 frames = e->frame_count;
    if (frames > MEMPROF_MAX_FRAMES)
        frames = MEMPROF_MAX_FRAMES;
    __u64 size = MEMPROF_EVENT_HEADER_SIZE + frames * 8;
    __u64 flags = bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) > wakeup_threshold
        ? BPF_RB_FORCE_WAKEUP : BPF_RB_NO_WAKEUP;
    if (bpf_ringbuf_output(&events, e, size, flags) != 0)
        count(MEMPROF_COUNTER_LOST_EVENTS);
}

static __always_inline void capture(struct pt_regs *ctx, struct memprof_event *e, __u64 sp_offset)
{
    __u64 pid_tgid = bpf_get_current_pid_tgid();
    e->pid = pid_tgid >> 32;
    e->tid = (__u32)pid_tgid;
    e->entry_slot = PT_REGS_SP(ctx) + sp_offset;
    e->caller = 0;
    bpf_probe_read_user(&e->caller, sizeof(e->caller), (void *)e->entry_slot);
    long bytes = bpf_get_stack(ctx, e->frames, sizeof(e->frames), BPF_F_USER_STACK);
    if (bytes < 0) {
        count(MEMPROF_COUNTER_STACK_ERRORS);
        bytes = 0;
    }
    e->frame_count = bytes / 8;
    bpf_get_current_comm(e->comm, sizeof(e->comm));
}

SEC("uprobe")
int memprof_entry(struct pt_regs *ctx)
{
    __u64 cookie = bpf_get_attach_cookie(ctx);
    __u32 func = (cookie >> 16) & 0xff;
    __u64 sp_offset = cookie & 0xffff;
    __u32 tid = (__u32)bpf_get_current_pid_tgid();
    __u64 slot = PT_REGS_SP(ctx) + sp_offset;

    /* Each thread keeps its in-flight record in the map and reuses it: updating and deleting
     * hash entries per call costs microseconds here, a lookup does not. */
    struct memprof_event *e = bpf_map_lookup_elem(&inflight, &tid);
    if (e) {
        /* A call made from inside another traced call (realloc(NULL, n) calls malloc,
         * reallocarray tail-calls realloc) belongs to the outer one: deeper or equal
         * return-address slots. A free inside realloc is reported by realloc. */
        if (e->entry_slot != 0 && slot <= e->entry_slot)
            return 0;
    } else if (func != MEMPROF_FREE) {
        __u32 zero = 0;
        struct memprof_event *fresh = bpf_map_lookup_elem(&scratch, &zero);
        if (!fresh)
            return 0;
        fresh->entry_slot = 0;
        bpf_map_update_elem(&inflight, &tid, fresh, BPF_NOEXIST);
        e = bpf_map_lookup_elem(&inflight, &tid);
        if (!e)
            return 0;
    }
    if (func == MEMPROF_FREE) {
        __u32 zero = 0;
        e = bpf_map_lookup_elem(&scratch, &zero);
        if (!e)
            return 0;
    }
    e->func = func;
    e->address = 0;
    e->old_address = 0;
    e->out_ptr = 0;
    __u64 a1 = PT_REGS_PARM1(ctx), a2 = PT_REGS_PARM2(ctx), a3 = PT_REGS_PARM3(ctx);
    switch (func) {
    case MEMPROF_FREE:
        if (a1 == 0)
            return 0;
        e->address = a1;
        e->size = 0;
        break;
    case MEMPROF_MALLOC:
    case MEMPROF_VALLOC:
    case MEMPROF_PVALLOC:
        e->size = a1;
        break;
    case MEMPROF_CALLOC:
        e->size = a1 * a2;
        break;
    case MEMPROF_REALLOC:
        e->old_address = a1;
        e->size = a2;
        break;
    case MEMPROF_REALLOCARRAY:
        e->old_address = a1;
        e->size = a2 * a3;
        break;
    case MEMPROF_POSIX_MEMALIGN:
        e->out_ptr = a1;
        e->size = a3;
        break;
    case MEMPROF_ALIGNED_ALLOC:
    case MEMPROF_MEMALIGN:
        e->size = a2;
        break;
    default:
        return 0;
    }
    capture(ctx, e, sp_offset);
    if (func == MEMPROF_FREE) {
        e->time_ns = bpf_ktime_get_ns();
        submit(e);
    }
    return 0;
}

SEC("uretprobe")
int memprof_return(struct pt_regs *ctx)
{
    __u32 tid = (__u32)bpf_get_current_pid_tgid();
    struct memprof_event *e = bpf_map_lookup_elem(&inflight, &tid);
    if (!e || e->entry_slot == 0)
        return 0;
    /* The return popped the slot just below the current stack pointer; a nested call's return
     * popped a deeper one and is ignored. */
    if (PT_REGS_SP(ctx) - 8 != e->entry_slot)
        return 0;
    __u64 result = PT_REGS_RC(ctx);
    if (e->func == MEMPROF_POSIX_MEMALIGN) {
        __u64 block = 0;
        if ((int)result == 0)
            bpf_probe_read_user(&block, sizeof(block), (void *)e->out_ptr);
        result = block;
    }
    e->address = result;
    e->time_ns = bpf_ktime_get_ns();
    /* realloc(p, 0) frees p and returns NULL; a failed call leaves nothing to report. */
    if (result != 0 || (e->old_address != 0 && e->size == 0))
        submit(e);
    e->entry_slot = 0;
    return 0;
}

static __always_inline void notify(__u32 pid, __u64 pid_tgid, __u32 func)
{
    __u32 zero = 0;
    struct memprof_event *e = bpf_map_lookup_elem(&scratch, &zero);
    if (!e)
        return;
    e->time_ns = bpf_ktime_get_ns();
    e->pid = pid;
    e->tid = (__u32)pid_tgid;
    e->address = 0;
    e->old_address = 0;
    e->size = 0;
    e->caller = 0;
    e->entry_slot = 0;
    e->out_ptr = 0;
    e->func = func;
    e->frame_count = 0;
    bpf_get_current_comm(e->comm, sizeof(e->comm));
    bpf_ringbuf_output(&events, e, MEMPROF_EVENT_HEADER_SIZE, BPF_RB_FORCE_WAKEUP);
}

/* A launched program can load its libraries, run and exit between two reads of its maps.
 * Stopping it as it enters exit() lets user space read them; user space resumes it. */
SEC("uprobe")
int memprof_exit(struct pt_regs *ctx)
{
    __u64 pid_tgid = bpf_get_current_pid_tgid();
    __u32 pid = pid_tgid >> 32;
    __u8 *target = bpf_map_lookup_elem(&targets, &pid);
    if (!target || *target != MEMPROF_TARGET_LAUNCHED)
        return 0;
    bpf_send_signal(19 /* SIGSTOP */);
    notify(pid, pid_tgid, MEMPROF_EXIT);
    return 0;
}

/* exec replaces a traced process's image: what it allocated before is gone, and its module maps
 * change. Runs in the exec'ing task, before its new image executes. */
SEC("tp_btf/sched_process_exec")
int memprof_exec(__u64 *ctx)
{
    __u64 pid_tgid = bpf_get_current_pid_tgid();
    __u32 pid = pid_tgid >> 32;
    if (!bpf_map_lookup_elem(&targets, &pid))
        return 0;
    notify(pid, pid_tgid, MEMPROF_EXEC);
    return 0;
}
