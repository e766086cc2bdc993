// SPDX-License-Identifier: GPL-2.0
/* Sampled allocation tracing on per-process uprobes.
 *
 * Every allocator call is counted exactly (per process: calls, requested bytes and, for glibc,
 * usable bytes from chunk headers). Attribution is sampled: a per-CPU byte countdown drawn from an
 * exponential distribution (a Poisson process over allocated bytes) picks allocations; only those
 * capture a stack, take the return path for their pointer and are remembered so that their free
 * is reported. With uprobe sessions (kernel >= 6.13) an unsampled call skips its return probe
 * entirely; with classic uprobe + uretprobe the return program just finds nothing to do.
 *
 * Events go to a ring buffer without per-event wakeups: user space polls it on a timer and is only
 * woken when the buffer fills past a threshold. */
#include <linux/types.h>
#include <stdbool.h>
#include <linux/bpf.h>
#include <linux/ptrace.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "memprof.h"

char LICENSE[] SEC("license") = "GPL";

/* Not data: a variable whose type names every enum of memprof.h, so that clang describes them in
 * the object's BTF (an enum only used for its constants is left out), where the C# mirrors are
 * checked (tests/Profiler.Tests/Collector/KernelInterfaceTests.cs). libbpf skips a section it does
 * not know, so nothing is loaded for it. */
struct memprof_enums {
    enum memprof_func func;
    enum memprof_event_flag event_flag;
    enum memprof_limit limit;
    enum memprof_target target;
    enum memprof_cookie cookie;
    enum memprof_counter counter;
};
struct memprof_enums memprof_enums SEC(".memprof.enums") __attribute__((used));

/* Only the fields used; CO-RE finds their offsets in the running kernel. */
struct task_struct {
    int pid;
    int tgid;
    int exit_code;
} __attribute__((preserve_access_index));

enum pid_type { PIDTYPE_PID, PIDTYPE_TGID, PIDTYPE_PGID, PIDTYPE_SID, PIDTYPE_MAX };

extern bool bpf_session_is_return(void) __ksym __weak;
extern int bpf_send_signal_task(struct task_struct *task, int sig, enum pid_type type, __u64 value) __ksym __weak;

#define SIGSTOP 19
#define GLIBC_SMALL_LIMIT (64 * 1024)

struct {
    __uint(type, BPF_MAP_TYPE_RINGBUF);
    /* User space makes it larger when every call is a sample with a stack copy (--rate 1). */
    __uint(max_entries, 16 * 1024 * 1024);
} events SEC(".maps");

/* The state of one allocation call between its entry and its return, per thread. */
struct call {
    __u64 entry_slot;   /* where the return address sits; 0 = no call in flight */
    __u64 size;
    __u64 old_address;
    __u64 out_ptr;
    __u64 old_usable;
    __u64 seq;
    __u32 func;
    __u32 sampled;
    __u64 cookie;
};

struct {
    __uint(type, BPF_MAP_TYPE_LRU_HASH);
    __uint(max_entries, 8192);
    __type(key, __u32);
    __type(value, struct call);
} inflight SEC(".maps");

/* jemalloc profiling mode: the seq of the backtrace prof_lookup saw last, per thread. */
struct {
    __uint(type, BPF_MAP_TYPE_LRU_HASH);
    __uint(max_entries, 8192);
    __type(key, __u32);
    __type(value, __u64);
} prof_seq SEC(".maps");

#define MEMPROF_PAGE_SIZE 4096

struct scratch_buf {
    struct memprof_event e;
    __u8 data[MEMPROF_MAX_FRAMES * 8 + MEMPROF_MAX_STACK_COPY + MEMPROF_PAGE_SIZE];
};

/* One buffer per CPU, indexed by CPU id: user space sets max_entries to the number of possible
 * CPUs before load (a per-CPU array's value may not be this large). */
struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, struct scratch_buf);
} scratch SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, MEMPROF_COUNTER_COUNT);
    __type(key, __u32);
    __type(value, __u64);
} counters SEC(".maps");

/* Processes being recorded. */
struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 4096);
    __type(key, __u32);
    __type(value, __u8);
} targets SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 4096);
    __type(key, __u32);
    __type(value, struct memprof_totals);
} totals SEC(".maps");

struct sampled_key {
    __u32 pid;
    __u32 pad;
    __u64 address;
};

/* Sampled blocks still live; their free is reported. */
struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 1 << 20);
    __uint(map_flags, BPF_F_NO_PREALLOC);
    __type(key, struct sampled_key);
    __type(value, __u64);
} sampled_blocks SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, struct memprof_config);
} config SEC(".maps");

/* Quantiles of the exponential gap distribution; a random entry is the next gap. */
struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, MEMPROF_GAP_TABLE_SIZE);
    __type(key, __u32);
    __type(value, __u64);
} gaps SEC(".maps");

/* Bytes left until the next sample, per CPU. */
struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, __s64);
} countdown SEC(".maps");

/* Past this much unread data the submitting program wakes the reader. */
const volatile __u64 wakeup_threshold = 4 * 1024 * 1024;

static __always_inline void count(__u32 which)
{
    __u64 *value = bpf_map_lookup_elem(&counters, &which);
    if (value)
        *value += 1;
}

static __always_inline struct memprof_config *settings(void)
{
    __u32 zero = 0;
    return bpf_map_lookup_elem(&config, &zero);
}

static __always_inline void output(void *data, __u64 size)
{
    __u64 flags = bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) > wakeup_threshold
        ? BPF_RB_FORCE_WAKEUP : BPF_RB_NO_WAKEUP;
    if (bpf_ringbuf_output(&events, data, size, flags) != 0)
        count(MEMPROF_COUNTER_LOST_EVENTS);
}

static __always_inline struct memprof_totals *totals_of(__u32 pid)
{
    struct memprof_totals *t = bpf_map_lookup_elem(&totals, &pid);
    if (t)
        return t;
    struct memprof_totals fresh = { .usable_known = 1 };
    bpf_map_update_elem(&totals, &pid, &fresh, BPF_NOEXIST);
    return bpf_map_lookup_elem(&totals, &pid);
}

/* glibc: the usable size of a block from its chunk header (malloc_usable_size's arithmetic). */
static __always_inline __u64 glibc_usable(__u64 block)
{
    __u64 header = 0;
    if (block == 0 || bpf_probe_read_user(&header, sizeof(header), (void *)(block - 8)) != 0)
        return 0;
    __u64 chunk = header & ~7ULL;
    __u64 overhead = (header & 2) ? 16 : 8; /* IS_MMAPPED chunks carry a two-word header */
    return chunk > overhead ? chunk - overhead : 0;
}

/* glibc's request2size minus the size word: the usable size malloc gives a small request. */
static __always_inline __u64 glibc_small_usable(__u64 size)
{
    __u64 chunk = size + 8 + 15 < 32 ? 32 : (size + 8 + 15) & ~15ULL;
    return chunk - 8;
}

static __always_inline void add_live(struct memprof_totals *t, __s64 delta)
{
    __s64 live = __sync_fetch_and_add(&t->live_usable, delta) + delta;
    /* Two CPUs racing past the same peak may leave it a few bytes low; good enough. */
    if (live > t->peak_usable) {
        t->peak_usable = live;
        t->peak_time_ns = bpf_ktime_get_ns();
    }
}

/* heapprofd's rule: a block of at least the rate is always sampled and weighs its own size (no
 * sampling error on large blocks). It leaves the countdown alone: the countdown is exponential,
 * hence memoryless, so whatever the large blocks do each small allocation of s bytes still meets
 * a fresh Exp(rate) gap and is sampled with probability 1 - e^(-s/rate), independently of the
 * others, and its weight s / (1 - e^(-s/rate)) keeps the estimate unbiased. */
static __always_inline bool take_sample(struct memprof_config *cfg, __u64 size)
{
    if (cfg->sample_rate <= 1 || size >= cfg->sample_rate)
        return true;
    __u32 zero = 0;
    __s64 *left = bpf_map_lookup_elem(&countdown, &zero);
    if (!left)
        return false;
    *left -= (__s64)size;
    if (*left > 0)
        return false;
    __u32 index = bpf_get_prandom_u32() & (MEMPROF_GAP_TABLE_SIZE - 1);
    __u64 *gap = bpf_map_lookup_elem(&gaps, &index);
    *left = gap ? (__s64)*gap : (__s64)cfg->sample_rate;
    return true;
}

static __always_inline __u64 new_seq(void)
{
    return bpf_get_prandom_u32() | ((__u64)bpf_ktime_get_ns() << 32);
}

static __always_inline struct scratch_buf *fresh_event(__u64 pid_tgid, __u32 func)
{
    __u32 cpu = bpf_get_smp_processor_id();
    struct scratch_buf *buf = bpf_map_lookup_elem(&scratch, &cpu);
    if (!buf)
        return NULL;
    struct memprof_event *e = &buf->e;
    e->time_ns = bpf_ktime_get_ns();
    e->pid = pid_tgid >> 32;
    e->tid = (__u32)pid_tgid;
    e->address = 0;
    e->old_address = 0;
    e->size = 0;
    e->caller = 0;
    e->seq = 0;
    e->func = func;
    e->flags = 0;
    e->frame_count = 0;
    e->stack_len = 0;
    e->sp = 0;
    e->bp = 0;
    e->ip = 0;
    bpf_get_current_comm(e->comm, sizeof(e->comm));
    return buf;
}

/* The frame-pointer chain from bp, leaf (ip) first, as the kernel's user stack walk does it, but
 * telling whether the chain ended where the ABI ends it: a zero frame pointer, which _start and
 * the thread-start code set up. A chain that breaks off before (a function without a frame
 * pointer, an unreadable frame, the frame limit) leaves the flag unset: the stack is cut. */
static __always_inline __u64 walk_frame_pointers(struct memprof_event *e, __u64 *pcs)
{
    pcs[0] = e->ip;
    __u64 fp = e->bp, frames = 1;
    for (int i = 1; i < MEMPROF_MAX_FRAMES; i++) {
        if (fp == 0) {
            /* Not at the leaf: the allocator's caller has a frame, so a zero frame pointer there
             * is a register that code without frame pointers happened to clear. */
            if (i > 1)
                e->flags |= MEMPROF_EVENT_STACK_COMPLETE;
            break;
        }
        __u64 frame[2]; /* the caller's frame pointer, the return address */
        if (bpf_probe_read_user(frame, sizeof(frame), (void *)fp) != 0)
            break;
        pcs[i] = frame[1];
        frames = i + 1;
        /* Callers' frames lie higher up the stack; anything else is not a frame chain. */
        if (frame[0] != 0 && frame[0] <= fp)
            break;
        fp = frame[0];
    }
    return frames;
}

/* Frame-pointer stack, the caller's return address and, when configured, a copy of the stack. */
static __always_inline __u64 capture_stack(struct pt_regs *ctx, struct scratch_buf *buf, __u64 sp_offset, bool copy)
{
    struct memprof_event *e = &buf->e;
    e->sp = PT_REGS_SP(ctx);
    e->bp = PT_REGS_FP(ctx);
    e->ip = PT_REGS_IP(ctx);
    bpf_probe_read_user(&e->caller, sizeof(e->caller), (void *)(e->sp + sp_offset));
    e->frame_count = walk_frame_pointers(e, (__u64 *)buf->data);
    /* Read back through memory: the verifier then checks what follows once for any frame count,
     * not once per way the walk can end. */
    asm volatile("" ::: "memory");
    __u64 frames = e->frame_count;
    if (frames > MEMPROF_MAX_FRAMES)
        frames = MEMPROF_MAX_FRAMES;
    __u64 size = MEMPROF_EVENT_HEADER_SIZE + frames * 8;
    struct memprof_config *cfg = copy ? settings() : NULL;
    if (!cfg || cfg->stack_copy == 0)
        return size;
    __u64 want = cfg->stack_copy;
    if (want > MEMPROF_MAX_STACK_COPY)
        want = MEMPROF_MAX_STACK_COPY;
    /* Page by page: the partial page at sp, then whole pages, up to the first that cannot be read
     * (past the top of the stack). One long read would fail as a whole near the top and lose the
     * outermost frames, the ones that reach main or the thread's start. */
    __u64 offset = frames * 8;
    __u64 copied = 0;
    for (int page = 0; page <= MEMPROF_MAX_STACK_COPY / MEMPROF_PAGE_SIZE; page++) {
        __u64 chunk = MEMPROF_PAGE_SIZE - ((e->sp + copied) & (MEMPROF_PAGE_SIZE - 1));
        if (chunk > want - copied)
            chunk = want - copied;
        __u64 at = offset + copied;
        /* The bounds the verifier needs: the buffer has a page of room past the largest copy. */
        if (chunk == 0 || chunk > MEMPROF_PAGE_SIZE || at > MEMPROF_MAX_FRAMES * 8 + MEMPROF_MAX_STACK_COPY)
            break;
        if (bpf_probe_read_user(buf->data + at, chunk, (void *)(e->sp + copied)) != 0)
            break;
        copied += chunk;
    }
    /* Nothing readable at sp: this sample can only have its frame-pointer stack. */
    if (copied == 0)
        count(MEMPROF_COUNTER_STACK_ERRORS);
    e->stack_len = copied;
    return size + copied;
}

static __always_inline __u64 submit_size(__u64 size)
{
    __u64 largest = MEMPROF_EVENT_HEADER_SIZE + MEMPROF_MAX_FRAMES * 8 + MEMPROF_MAX_STACK_COPY;
    return size > largest ? largest : size;
}

static __always_inline bool notify(__u32 pid, __u64 pid_tgid, __u32 func, __u64 old_address, __u64 size);

/* A launched program can load its libraries, run and exit between two reads of its maps.
 * Stopping it as it enters exit() lets user space read them; user space resumes it. */
static __always_inline void stop_for_user_space(__u32 func)
{
    __u64 pid_tgid = bpf_get_current_pid_tgid();
    __u32 pid = pid_tgid >> 32;
    __u8 *target = bpf_map_lookup_elem(&targets, &pid);
    if (!target || *target != MEMPROF_TARGET_LAUNCHED)
        return;
    /* Stopped only once user space is sure to hear of it: a full ring buffer must not leave the
     * process stopped for good. */
    if (notify(pid, pid_tgid, func, 0, 0))
        bpf_send_signal(SIGSTOP);
}

/* jemalloc's prof_bt_t and the head of prof_info_t (nstime_t alloc_time; prof_tctx_t *alloc_tctx;
 * size_t alloc_size), the same in 5.3.0 and 5.3.1+ release builds. */
struct je_prof_bt {
    __u64 vec;
    __u32 len;
};

struct je_prof_info {
    __u64 alloc_time_ns;
    __u64 alloc_tctx;
    __u64 alloc_size;
};

/* jemalloc decided to sample an allocation and hands us its own complete backtrace. */
static __always_inline void on_prof_lookup(__u64 pid_tgid, __u64 bt_ptr)
{
    struct je_prof_bt bt = {};
    if (bpf_probe_read_user(&bt, sizeof(bt), (void *)bt_ptr) != 0)
        return;
    struct scratch_buf *buf = fresh_event(pid_tgid, MEMPROF_STACK);
    if (!buf)
        return;
    __u32 frames = bt.len > MEMPROF_MAX_FRAMES ? MEMPROF_MAX_FRAMES : bt.len;
    if (frames == 0 || bpf_probe_read_user(buf->data, frames * 8, (void *)bt.vec) != 0)
        frames = 0;
    __u64 seq = new_seq();
    __u32 tid = (__u32)pid_tgid;
    bpf_map_update_elem(&prof_seq, &tid, &seq, BPF_ANY);
    count(MEMPROF_COUNTER_SAMPLES);
    buf->e.seq = seq;
    buf->e.frame_count = frames;
    output(buf, submit_size(MEMPROF_EVENT_HEADER_SIZE + (__u64)frames * 8));
}

static __always_inline void on_prof_malloc(__u64 pid_tgid, struct pt_regs *ctx)
{
    struct scratch_buf *buf = fresh_event(pid_tgid, MEMPROF_PROF_MALLOC);
    if (!buf)
        return;
    __u32 tid = (__u32)pid_tgid;
    __u64 *seq = bpf_map_lookup_elem(&prof_seq, &tid);
    buf->e.seq = seq ? *seq : 0;
    buf->e.address = PT_REGS_PARM2(ctx);
    buf->e.size = PT_REGS_PARM3(ctx);
    buf->e.caller = PT_REGS_PARM4(ctx);
    buf->e.old_address = PT_REGS_PARM5(ctx);
    buf->e.flags = MEMPROF_EVENT_NEW_SAMPLED;
    output(buf, MEMPROF_EVENT_HEADER_SIZE);
}

static __always_inline void on_prof_free(__u64 pid_tgid, struct pt_regs *ctx)
{
    __u64 a2 = PT_REGS_PARM2(ctx), a3 = PT_REGS_PARM3(ctx), a4 = PT_REGS_PARM4(ctx);
    __u64 sp = PT_REGS_SP(ctx);
    __u64 ptr, usize, info_ptr;
    /* 5.3.0 passes (tsd, usize, &info) and info lives in the caller's frame, just above sp;
     * 5.3.1+ passes (tsd, ptr, usize, &info), where the third argument is a size. */
    if (a3 > sp && a3 - sp < 65536) {
        ptr = 0;
        usize = a2;
        info_ptr = a3;
    } else {
        ptr = a2;
        usize = a3;
        info_ptr = a4;
    }
    struct je_prof_info info = {};
    if (bpf_probe_read_user(&info, sizeof(info), (void *)info_ptr) != 0)
        return;
    struct scratch_buf *buf = fresh_event(pid_tgid, MEMPROF_PROF_FREE);
    if (!buf)
        return;
    buf->e.address = ptr;
    buf->e.old_address = info.alloc_tctx;
    buf->e.size = info.alloc_size;
    buf->e.caller = usize;
    buf->e.flags = MEMPROF_EVENT_OLD_SAMPLED;
    output(buf, MEMPROF_EVENT_HEADER_SIZE);
}

/* The preload library sampled in-process; the marker's arguments say what happened. */
static __always_inline void on_marker_alloc(struct pt_regs *ctx, __u64 pid_tgid)
{
    __u64 block = PT_REGS_PARM1(ctx), size = PT_REGS_PARM2(ctx), old = PT_REGS_PARM3(ctx);
    __u64 func_and_flags = PT_REGS_PARM4(ctx);
    __u32 flags = (func_and_flags >> MEMPROF_MARKER_FLAGS_SHIFT) & (MEMPROF_EVENT_NEW_SAMPLED | MEMPROF_EVENT_OLD_SAMPLED);
    __u64 seq = 0;
    if (flags & MEMPROF_EVENT_NEW_SAMPLED)
        count(MEMPROF_COUNTER_SAMPLES);
    /* A realloc that frees a sampled block reports that free with the realloc's stack. */
    if (flags) {
        struct scratch_buf *buf = fresh_event(pid_tgid, MEMPROF_STACK);
        if (buf) {
            seq = new_seq();
            buf->e.seq = seq;
            buf->e.size = size;
            output(buf, submit_size(capture_stack(ctx, buf, 0, true)));
        }
    }
    struct scratch_buf *buf = fresh_event(pid_tgid, func_and_flags & ((1 << MEMPROF_MARKER_FLAGS_SHIFT) - 1));
    if (!buf)
        return;
    buf->e.address = block;
    buf->e.old_address = old;
    buf->e.size = size;
    buf->e.seq = seq;
    buf->e.flags = flags;
    output(buf, MEMPROF_EVENT_HEADER_SIZE);
}

static __always_inline void on_marker_free(struct pt_regs *ctx, __u64 pid_tgid)
{
    struct scratch_buf *buf = fresh_event(pid_tgid, MEMPROF_FREE);
    if (!buf)
        return;
    buf->e.address = PT_REGS_PARM1(ctx);
    buf->e.flags = MEMPROF_EVENT_OLD_SAMPLED;
    output(buf, submit_size(capture_stack(ctx, buf, 0, true)));
}

/* Returns whether the call's return must be seen. */
static __always_inline bool on_entry(struct pt_regs *ctx)
{
    __u64 cookie = bpf_get_attach_cookie(ctx);
    __u32 func = (cookie >> MEMPROF_COOKIE_FUNC_SHIFT) & MEMPROF_COOKIE_FUNC_MASK;
    __u64 sp_offset = cookie & MEMPROF_COOKIE_SP_OFFSET_MASK;
    bool glibc = cookie & MEMPROF_COOKIE_GLIBC;
    __u64 pid_tgid = bpf_get_current_pid_tgid();
    __u32 pid = pid_tgid >> 32;
    __u64 a1 = PT_REGS_PARM1(ctx), a2 = PT_REGS_PARM2(ctx), a3 = PT_REGS_PARM3(ctx);
    __u64 size = 0, old = 0, out_ptr = 0;

    /* exit() shares the allocator's link: one link per file and process is cheaper to release. */
    if (func == MEMPROF_EXIT || func == MEMPROF_LIBRARIES) {
        stop_for_user_space(func);
        return false;
    }
    switch (func) {
    case MEMPROF_PROF_LOOKUP:
        on_prof_lookup(pid_tgid, a2);
        return false;
    case MEMPROF_PROF_MALLOC:
        on_prof_malloc(pid_tgid, ctx);
        return false;
    case MEMPROF_PROF_FREE:
        on_prof_free(pid_tgid, ctx);
        return false;
    case MEMPROF_MARKER_ALLOC:
        on_marker_alloc(ctx, pid_tgid);
        return false;
    case MEMPROF_MARKER_FREE:
        on_marker_free(ctx, pid_tgid);
        return false;
    }

    struct memprof_config *cfg = settings();
    if (!cfg)
        return false;
    struct memprof_totals *t = totals_of(pid);
    if (!t)
        return false;

    switch (func) {
    case MEMPROF_FREE:
    case MEMPROF_SDALLOCX:
    case MEMPROF_DALLOCX: {
        if (a1 == 0)
            return false;
        __sync_fetch_and_add(&t->frees, 1);
        if (glibc) {
            __u64 usable = glibc_usable(a1);
            __sync_fetch_and_add(&t->freed_usable, usable);
            add_live(t, -(__s64)usable);
        } else {
            t->usable_known = 0;
        }
        bool report = cfg->sample_rate <= 1;
        if (!report) {
            struct sampled_key key = { .pid = pid, .address = a1 };
            /* A failed lookup is cheap; a delete takes the bucket lock even when nothing is there. */
            report = bpf_map_lookup_elem(&sampled_blocks, &key) && bpf_map_delete_elem(&sampled_blocks, &key) == 0;
        }
        if (!report)
            return false;
        struct scratch_buf *buf = fresh_event(pid_tgid, MEMPROF_FREE);
        if (!buf)
            return false;
        buf->e.address = a1;
        buf->e.flags = MEMPROF_EVENT_OLD_SAMPLED;
        output(buf, submit_size(capture_stack(ctx, buf, sp_offset, true)));
        return false;
    }
    case MEMPROF_MALLOC:
    case MEMPROF_MALLOCX:
    case MEMPROF_VALLOC:
    case MEMPROF_PVALLOC:
        size = a1;
        break;
    case MEMPROF_CALLOC:
        size = a1 * a2;
        break;
    case MEMPROF_REALLOC:
        /* realloc(NULL, n) calls malloc and realloc(p, 0) calls free: those count the call. */
        if (a1 == 0 || a2 == 0)
            return false;
        old = a1;
        size = a2;
        break;
    case MEMPROF_RALLOCX:
    case MEMPROF_XALLOCX:
        /* rallocx and xallocx require a block and a non-zero size. */
        if (a1 == 0 || a2 == 0)
            return false;
        old = a1;
        size = a2;
        break;
    case MEMPROF_REALLOCARRAY:
        if (a1 == 0 || a2 * a3 == 0)
            return false;
        old = a1;
        size = a2 * a3;
        break;
    case MEMPROF_POSIX_MEMALIGN:
        /* glibc hands alignments it gives anyway to malloc, whose probe counts the call. */
        if (glibc && a2 <= 16)
            return false;
        out_ptr = a1;
        size = a3;
        break;
    case MEMPROF_ALIGNED_ALLOC:
    case MEMPROF_MEMALIGN:
        if (glibc && a1 <= 16)
            return false;
        size = a2;
        break;
    default:
        return false;
    }

    bool need_usable = false;
    if (old == 0) {
        __sync_fetch_and_add(&t->allocations, 1);
        __sync_fetch_and_add(&t->allocated_bytes, size);
        if (!glibc)
            t->usable_known = 0;
        else if ((func == MEMPROF_MALLOC || func == MEMPROF_CALLOC) && size < GLIBC_SMALL_LIMIT)
            add_live(t, (__s64)glibc_small_usable(size));
        else
            need_usable = true;
    } else {
        /* realloc is counted when it returns: a failed one changes nothing. */
        need_usable = true;
    }

    bool sampled = take_sample(cfg, size);
    bool old_sampled = false;
    if (old != 0 && cfg->sample_rate > 1) {
        struct sampled_key key = { .pid = pid, .address = old };
        /* The returned block replaces a sampled one: the return must report its free, with
         * this call's stack. */
        old_sampled = bpf_map_lookup_elem(&sampled_blocks, &key) != NULL;
    }
    if (!sampled && !need_usable && old == 0)
        return false;

    __u32 tid = (__u32)pid_tgid;
    struct call *c = bpf_map_lookup_elem(&inflight, &tid);
    if (!c) {
        struct call fresh = {};
        bpf_map_update_elem(&inflight, &tid, &fresh, BPF_NOEXIST);
        c = bpf_map_lookup_elem(&inflight, &tid);
        if (!c)
            return false;
    }
    __u64 slot = PT_REGS_SP(ctx) + sp_offset;
    /* A call made from inside another one in flight on this thread (a signal handler, a
     * wrapper we did not skip) is not followed to its return. */
    if (c->entry_slot != 0 && slot <= c->entry_slot && slot + 4096 > c->entry_slot)
        return false;
    c->entry_slot = slot;
    c->size = size;
    c->old_address = old;
    c->out_ptr = out_ptr;
    c->old_usable = old != 0 && glibc ? glibc_usable(old) : 0;
    c->func = func;
    c->sampled = sampled;
    c->cookie = cookie;
    c->seq = 0;
    if (sampled)
        count(MEMPROF_COUNTER_SAMPLES);
    if (sampled || old_sampled) {
        struct scratch_buf *buf = fresh_event(pid_tgid, MEMPROF_STACK);
        if (buf) {
            c->seq = new_seq();
            buf->e.seq = c->seq;
            buf->e.size = size;
            output(buf, submit_size(capture_stack(ctx, buf, sp_offset, true)));
        }
    }
    return true;
}

static __always_inline void on_return(struct pt_regs *ctx)
{
    __u64 pid_tgid = bpf_get_current_pid_tgid();
    __u32 pid = pid_tgid >> 32;
    __u32 tid = (__u32)pid_tgid;
    struct call *c = bpf_map_lookup_elem(&inflight, &tid);
    if (!c || c->entry_slot == 0)
        return;
    /* The return popped the slot just below the current stack pointer; a nested call's return
     * popped a deeper one and is ignored. */
    if (PT_REGS_SP(ctx) - 8 != c->entry_slot)
        return;
    c->entry_slot = 0;
    __u64 result = PT_REGS_RC(ctx);
    if (c->func == MEMPROF_POSIX_MEMALIGN) {
        __u64 block = 0;
        if ((int)result == 0)
            bpf_probe_read_user(&block, sizeof(block), (void *)c->out_ptr);
        result = block;
    }
    if (c->func == MEMPROF_XALLOCX) {
        /* xallocx resizes in place and returns the usable size: below the request it failed
         * and the block is unchanged. */
        if (result < c->size)
            return;
        result = c->old_address;
    }
    if (result == 0)
        return;
    bool glibc = c->cookie & MEMPROF_COOKIE_GLIBC;
    struct memprof_totals *t = totals_of(pid);
    if (t) {
        if (c->old_address != 0) {
            __sync_fetch_and_add(&t->allocations, 1);
            __sync_fetch_and_add(&t->allocated_bytes, c->size);
            __sync_fetch_and_add(&t->frees, 1);
            if (glibc) {
                __sync_fetch_and_add(&t->freed_usable, c->old_usable);
                add_live(t, -(__s64)c->old_usable);
            } else {
                t->usable_known = 0;
            }
        }
        if (glibc && !(c->old_address == 0 && (c->func == MEMPROF_MALLOC || c->func == MEMPROF_CALLOC) && c->size < GLIBC_SMALL_LIMIT))
            add_live(t, (__s64)glibc_usable(result));
    }

    struct memprof_config *cfg = settings();
    if (!cfg)
        return;
    __u32 flags = 0;
    if (c->old_address != 0) {
        if (cfg->sample_rate <= 1) {
            flags |= MEMPROF_EVENT_OLD_SAMPLED;
        } else {
            struct sampled_key key = { .pid = pid, .address = c->old_address };
            if (bpf_map_lookup_elem(&sampled_blocks, &key) && bpf_map_delete_elem(&sampled_blocks, &key) == 0)
                flags |= MEMPROF_EVENT_OLD_SAMPLED;
        }
    }
    if (c->sampled) {
        flags |= MEMPROF_EVENT_NEW_SAMPLED;
        if (cfg->sample_rate > 1) {
            struct sampled_key key = { .pid = pid, .address = result };
            __u64 size = c->size;
            if (bpf_map_update_elem(&sampled_blocks, &key, &size, BPF_ANY) != 0)
                count(MEMPROF_COUNTER_SAMPLED_MAP_FULL);
        }
    }
    if (flags == 0)
        return;
    __u32 reported = c->func == MEMPROF_RALLOCX || c->func == MEMPROF_XALLOCX ? MEMPROF_REALLOC : c->func;
    struct scratch_buf *buf = fresh_event(pid_tgid, reported);
    if (!buf)
        return;
    buf->e.address = result;
    buf->e.old_address = c->old_address;
    buf->e.size = c->size;
    buf->e.seq = c->seq;
    buf->e.flags = flags;
    output(buf, MEMPROF_EVENT_HEADER_SIZE);
}

/* Classic and multi uprobes: entry and return are separate programs. */
SEC("uprobe")
int memprof_entry(struct pt_regs *ctx)
{
    on_entry(ctx);
    return 0;
}

SEC("uretprobe")
int memprof_return(struct pt_regs *ctx)
{
    on_return(ctx);
    return 0;
}

/* A uprobe session runs one program at entry and, only if it returned 0, at return. */
SEC("uprobe")
int memprof_session(struct pt_regs *ctx)
{
    if (bpf_session_is_return()) {
        on_return(ctx);
        return 0;
    }
    return on_entry(ctx) ? 0 : 1;
}

/* Returns whether the record reached the ring buffer (a lost one is counted). */
static __always_inline bool notify(__u32 pid, __u64 pid_tgid, __u32 func, __u64 old_address, __u64 size)
{
    struct scratch_buf *buf = fresh_event(pid_tgid, func);
    if (!buf)
        return false;
    buf->e.pid = pid;
    buf->e.old_address = old_address;
    buf->e.size = size;
    if (bpf_ringbuf_output(&events, buf, MEMPROF_EVENT_HEADER_SIZE, BPF_RB_FORCE_WAKEUP) == 0)
        return true;
    count(MEMPROF_COUNTER_LOST_EVENTS);
    return false;
}

/* exec replaces a traced process's image: what it allocated before is gone, and its module maps
 * change. Runs in the exec'ing task, before its new image executes. When children are followed
 * the process stops here so user space can probe an allocator in the new image before it runs. */
SEC("tp_btf/sched_process_exec")
int memprof_exec(__u64 *ctx)
{
    __u64 pid_tgid = bpf_get_current_pid_tgid();
    __u32 pid = pid_tgid >> 32;
    if (!bpf_map_lookup_elem(&targets, &pid))
        return 0;
    struct memprof_config *cfg = settings();
    if (notify(pid, pid_tgid, MEMPROF_EXEC, 0, 0) && cfg && cfg->follow_children)
        bpf_send_signal(SIGSTOP);
    return 0;
}

/* A traced process forked: trace the child too, stopped until user space has attached its probes
 * (a forked child keeps its parent's breakpoints, but per-process links do not fire for it). */
SEC("tp_btf/sched_process_fork")
int BPF_PROG(memprof_fork, struct task_struct *parent, struct task_struct *child)
{
    __u32 parent_pid = BPF_CORE_READ(parent, tgid);
    if (!bpf_map_lookup_elem(&targets, &parent_pid))
        return 0;
    struct memprof_config *cfg = settings();
    if (!cfg || !cfg->follow_children)
        return 0;
    __u32 pid = BPF_CORE_READ(child, pid);
    if (pid != (__u32)BPF_CORE_READ(child, tgid))
        return 0; /* a new thread, not a new process */
    __u8 launched = MEMPROF_TARGET_LAUNCHED;
    bpf_map_update_elem(&targets, &pid, &launched, BPF_ANY);
    if (notify(pid, ((__u64)pid << 32) | pid, MEMPROF_FORK, parent_pid, 0))
        bpf_send_signal_task(child, SIGSTOP, PIDTYPE_TGID, 0);
    return 0;
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(memprof_process_exit, struct task_struct *task)
{
    __u32 pid = BPF_CORE_READ(task, tgid);
    if ((__u32)BPF_CORE_READ(task, pid) != pid)
        return 0; /* a thread, not the process */
    if (!bpf_map_lookup_elem(&targets, &pid))
        return 0;
    bpf_map_delete_elem(&targets, &pid);
    notify(pid, ((__u64)pid << 32) | pid, MEMPROF_PROCESS_EXIT, 0, (__u64)(__u32)BPF_CORE_READ(task, exit_code));
    return 0;
}
