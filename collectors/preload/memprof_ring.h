/* The shared-memory rings through which the in-process sampler hands memprof its events, at every
 * rate: no trap per event, and no stack copy through the kernel's ring buffer. memprof creates a memfd, lays
 * out the header below and names it in the environment (MEMPROF_RING=/proc/<memprof>/fd/<n>,
 * which a child reopens after exec); every process of the recording maps it.
 *
 * One ring per writing thread (single producer, single consumer: no reservation to tear): a
 * thread claims a free ring at its first event and gives it back at its end; a thread that finds
 * none falls back to the marker (a trap). Records are the BPF ring buffer's (struct memprof_event,
 * the frame-pointer walk, a copy of the stack's top), so memprof treats both alike.
 *
 * Stacks for DWARF unwinding are unwound here, in the process, when memprof allows it
 * (unwind_in_process), and the event carries the return addresses, flagged
 * MEMPROF_RING_EVENT_UNWOUND: first by the per-thread rule cache of memprof_unwind.h, then, for a
 * frame it does not describe (a signal frame, a CFA expression), by libgcc's _Unwind_Backtrace
 * (libgcc is linked into this library, so every program has it; its FDE lookup is glibc's
 * _dl_find_object, lock-free and without malloc). Where neither reaches the outermost frame (a
 * module without CFI, JIT-compiled code, more frames than an event holds) the event carries the
 * frame-pointer walk and a copy of the stack's top, as without it, and memprof unwinds the copy
 * (with the frame-pointer fallback for code without CFI).
 *
 * A signal handler whose event comes while its thread is writing into its ring cannot write into
 * the record in progress: the event is stashed (unwound in the process, through the signal
 * frame) in the thread's private mapping, and the interrupted write appends it to the ring after
 * its own record (its allocator call completed before its write began). Only what the stash
 * cannot take (full, a handler interrupting a handler) goes to the markers.
 *
 * Nothing is lost: a writer whose ring is full waits for memprof (counted in `waits`; asleep on a
 * futex memprof wakes as soon as it gives room back), unless
 * memprof is gone (its pid no longer exists, or its heartbeat is older than
 * MEMPROF_RING_READER_TIMEOUT_NS: a zombie, a stopped memprof): then events are dropped and counted, and the program runs on.
 *
 * Layout (collectors/Profiler.Collectors.Linux/Ring/SharedRing.cs mirrors it; change both):
 *   [0, 4096)                      struct memprof_ring_shared
 *   [4096, data)                   ring_count x struct memprof_ring_control (128 B each)
 *   data + i * ring_bytes          ring i's bytes (ring_bytes a power of two)
 * A record: uint32 length (of the whole record, a multiple of 8), uint32 kind, then the event.
 * A record never wraps: a writer that would cross the end writes a pad record to it first. */
#ifndef MEMPROF_RING_H
#define MEMPROF_RING_H

#include <linux/futex.h>
#include <linux/types.h>
#include "memprof_unwind.h"
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include "../bpf/memprof.h"

#define MEMPROF_RING_MAGIC 0x31474e52464d454dULL /* "MEMFRNG1" little-endian */
#define MEMPROF_RING_VERSION 2
#define MEMPROF_RING_ENV "MEMPROF_RING"
#define MEMPROF_RING_HEADER_BYTES 4096
#define MEMPROF_RING_CONTROL_BYTES 128
#define MEMPROF_RING_RECORD_EVENT 1
#define MEMPROF_RING_RECORD_PAD 2
/* memprof_event.flags of a ring event whose frames are a CFI unwind done in the process (leaf
 * first, as the copy's unwinder would give them); MEMPROF_EVENT_STACK_COMPLETE: it reached the
 * outermost frame. Beside enum memprof_event_flag's bits (memprof_shared.h), for rings only. */
#define MEMPROF_RING_EVENT_UNWOUND 0x100
/* A writer names the distinct stacks it sends: the first event with a stack carries its frames
 * and MEMPROF_RING_EVENT_STACK_DEFINE with the stack's id in `seq`; later events with the same
 * frames (and stack flags) carry MEMPROF_RING_EVENT_STACK_REF, the id in `seq` and no frames.
 * An id is the ring's index + 1 in its high half and the ring's count of named stacks (kept in
 * its control, so ids stay distinct across the ring's owners) in its low half. Only stacks that
 * need no unwinding by memprof (no stack copy) are named. */
#define MEMPROF_RING_EVENT_STACK_DEFINE 0x200
#define MEMPROF_RING_EVENT_STACK_REF 0x400
/* memprof beats every 100 ms from a thread of its own: this long without a beat, it is stopped or dead. */
#define MEMPROF_RING_READER_TIMEOUT_NS (5ULL * 1000000000ULL)

struct memprof_ring_shared {
    uint64_t magic;          /* written last by memprof */
    uint32_t version;
    uint32_t ring_count;
    uint64_t ring_bytes;     /* bytes of each ring, a power of two */
    uint64_t data_offset;    /* where ring 0 starts */
    uint64_t heartbeat_ns;   /* memprof: CLOCK_MONOTONIC at its last drain */
    uint32_t reader_pid;     /* memprof */
    uint32_t stack_copy;     /* most bytes of stack copied per event; 0: frame pointers only */
    uint64_t waits;          /* events whose writer waited for room */
    uint64_t dropped;        /* events dropped because memprof was gone */
    uint64_t no_ring;        /* events of threads that found no free ring (sent to the markers) */
    uint64_t reader_gone;    /* set by the first writer that found memprof gone */
    uint32_t unwind_in_process; /* memprof: with stack_copy, unwind with CFI here, copy only where that stops short */
    uint32_t only_pid;       /* memprof (--no-follow): only this process's events are recorded; 0: every process's */
    uint64_t stashed;        /* events of signal handlers that interrupted their thread's ring write, written after it */
    uint64_t interrupted;    /* such events that went to the markers instead (stash full, a handler within a handler, a stack copy needed) */
};

struct memprof_ring_control {
    uint64_t owner;          /* pid << 32 | tid of the writing thread; 0: free */
    uint64_t write_pos;      /* bytes ever written (the writer publishes with release) */
    uint64_t unwound;        /* events whose stack the writers of this ring unwound in process */
    uint64_t copied;         /* events whose stack they copied because that unwind stopped short */
    uint32_t waiting;        /* the writer sleeps on read_pos's low 32 bits (a futex) until memprof gives room back */
    uint32_t pad0a;
    uint64_t stacks_named;   /* the writers': stacks named in this ring so far (MEMPROF_RING_EVENT_STACK_DEFINE) */
    uint64_t pad0[2];
    uint64_t read_pos;       /* bytes ever consumed (memprof publishes with release, then wakes a waiting writer) */
    uint64_t pad1[7];
};
_Static_assert(sizeof(struct memprof_ring_control) == MEMPROF_RING_CONTROL_BYTES, "MEMPROF_RING_CONTROL_BYTES");

/* A stack the thread named in its ring: hash of the frames and stack flags, and the id. */
struct memprof_ring_stack_name {
    uint64_t hash;
    uint64_t id;             /* 0: none */
};
/* Per thread, direct-mapped: 1 MiB, its pages touched only as names land in them. A name evicted
 * by another stack is defined again (a new name, its frames sent again): with 4096 names, cppcheck
 * (352 k distinct stacks) defined 2.25 M stacks, with 65536 1.11 M, and memprof's CPU on it went
 * from 6.6 to 4.3 s and its memory from 197 to 144 MB. */
#define MEMPROF_RING_STACK_NAMES 65536
_Static_assert(MEMPROF_UNWIND_CACHE_ENTRIES * sizeof(struct memprof_unwind_rule) % 4096 == 0 &&
                   MEMPROF_RING_STACK_NAMES * sizeof(struct memprof_ring_stack_name) % 4096 == 0,
               "the names table is whole pages after the rules (it is given back with madvise)");
/* Records of signal handlers' events held while the thread's own ring write is in progress: some
 * 16,000 events of a handler's usual stack. Real-time signals queue while the write cannot go on
 * (its thread off the CPU, or waiting for memprof to make room in its ring) and their handlers
 * then run back to back: under a signal every 20 us, 100 ms of waiting comes back to 5000
 * handlers. Pages are only touched as far as a burst reaches (the stash starts over whenever it
 * is emptied). */
#define MEMPROF_RING_STASH_BYTES (4 * 1024 * 1024)
#define MEMPROF_RING_THREAD_CACHES_BYTES \
    (MEMPROF_UNWIND_CACHE_ENTRIES * sizeof(struct memprof_unwind_rule) + MEMPROF_RING_STACK_NAMES * sizeof(struct memprof_ring_stack_name) + \
     sizeof(struct memprof_unwind_memo))
/* A thread's private mapping, made at its first event: unwind rules, stack names, the frames of
 * its last walk, then the stash. */
#define MEMPROF_RING_THREAD_CACHE_BYTES (MEMPROF_RING_THREAD_CACHES_BYTES + MEMPROF_RING_STASH_BYTES)

/* A thread's ring; `state` 0: none claimed yet, 1: claimed, 2: none to be had (markers). */
struct memprof_ring_thread {
    struct memprof_ring_control *control;
    uint8_t *data;
    uintptr_t stack_top;     /* frames of this thread lie below; 0: unknown, no copy */
    uint32_t tid;
    uint32_t events;
    int state;
    int writing;             /* a signal handler's event must not write into the record being written: it is stashed */
    int stashing;            /* a signal handler is writing into the stash (a handler interrupting it goes to a marker) */
    /* The stash's positions, in one word so that emptying it is one step a handler cannot split:
     * low half, bytes ever appended (by handlers; the write they interrupted takes them); high
     * half, bytes of them written into the ring (the write adds to it alone, atomically). */
    uint64_t stash_pos;
    uint64_t last_time_ns;   /* of the last record written into the ring: its records stay in time order */
    uintptr_t write_ip;      /* where the write in progress returns to (into the sampler): a handler's stack goes on there */
    struct memprof_unwind_rule *unwind_cache; /* MEMPROF_RING_THREAD_CACHE_BYTES: the unwind rules, the named stacks, the stash */
    char comm[16];
};

static struct memprof_ring_shared *memprof_ring;  /* NULL: no ring, markers only */
static uint32_t memprof_ring_pid;
extern void *__libc_stack_end;

static uint64_t memprof_ring_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static _Unwind_Reason_Code memprof_ring_stop_at_once(struct _Unwind_Context *context, void *arg)
{
    (void)context;
    (void)arg;
    return _URC_NORMAL_STOP;
}

/* Maps the rings memprof named (only syscalls: this runs inside the first malloc). False when
 * there are none, or they cannot be used: events then go to the markers. */
static int memprof_ring_open(const char *path)
{
    if (!path || !path[0])
        return 0;
    int fd = open(path, O_RDWR | O_CLOEXEC);
    if (fd < 0)
        return 0;
    struct memprof_ring_shared head;
    void *map = MAP_FAILED;
    if (pread(fd, &head, sizeof(head), 0) == (ssize_t)sizeof(head) && head.magic == MEMPROF_RING_MAGIC &&
        head.version == MEMPROF_RING_VERSION && head.ring_count > 0 && (head.ring_bytes & (head.ring_bytes - 1)) == 0)
        map = mmap(NULL, head.data_offset + (uint64_t)head.ring_count * head.ring_bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    close(fd);
    if (map == MAP_FAILED)
        return 0;
    memprof_ring = map;
    memprof_ring_pid = (uint32_t)getpid();
    /* After an exec the old image's rings still carry this pid: its threads are gone. */
    struct memprof_ring_control *controls = (void *)((uint8_t *)map + MEMPROF_RING_HEADER_BYTES);
    for (uint32_t i = 0; i < head.ring_count; i++)
        if ((uint32_t)(__atomic_load_n(&controls[i].owner, __ATOMIC_RELAXED) >> 32) == memprof_ring_pid)
            __atomic_store_n(&controls[i].owner, 0, __ATOMIC_RELEASE);
    /* libgcc's unwinder sets itself up once (pthread_once) at its first use: done here, so that a
     * signal handler's unwind (memprof_ring_stash_event) never waits on a set-up it interrupted. */
    _Unwind_Backtrace(memprof_ring_stop_at_once, NULL);
    return 1;
}

/* Where this thread's frames end: a glibc thread's stack lies right below its thread pointer
 * (the thread descriptor and static TLS sit at the top of the stack block); the main thread's
 * below __libc_stack_end. Anything else (an alternate signal stack, a coroutine's) gets no copy. */
static uintptr_t memprof_ring_stack_top(uintptr_t sp)
{
    uintptr_t tp = (uintptr_t)__builtin_thread_pointer();
    if (sp < tp && tp - sp < (256u << 20))
        return tp;
    uintptr_t end = (uintptr_t)__libc_stack_end;
    if (sp < end && end - sp < (256u << 20))
        return end;
    return 0;
}

static struct memprof_ring_stack_name *memprof_ring_stack_names(struct memprof_ring_thread *r)
{
    return (struct memprof_ring_stack_name *)(r->unwind_cache + MEMPROF_UNWIND_CACHE_ENTRIES);
}

static struct memprof_unwind_memo *memprof_ring_unwind_memo(struct memprof_ring_thread *r)
{
    return (struct memprof_unwind_memo *)(memprof_ring_stack_names(r) + MEMPROF_RING_STACK_NAMES);
}

static uint8_t *memprof_ring_stash(struct memprof_ring_thread *r)
{
    return (uint8_t *)r->unwind_cache + MEMPROF_RING_THREAD_CACHES_BYTES;
}

static int memprof_ring_claim(struct memprof_ring_thread *r)
{
    struct memprof_ring_shared *sh = memprof_ring;
    struct memprof_ring_control *controls = (void *)((uint8_t *)sh + MEMPROF_RING_HEADER_BYTES);
    r->tid = (uint32_t)syscall(SYS_gettid);
    uint64_t me = (uint64_t)memprof_ring_pid << 32 | r->tid;
    /* Start at a thread-dependent ring so that threads starting together do not contend. */
    for (uint32_t k = 0; k < sh->ring_count; k++) {
        uint32_t i = (r->tid + k) % sh->ring_count;
        uint64_t free_ring = 0;
        /* Owned by this thread already: a signal handler's event claimed it in the middle of this claim. */
        if (__atomic_load_n(&controls[i].owner, __ATOMIC_ACQUIRE) == me ||
            (__atomic_load_n(&controls[i].owner, __ATOMIC_RELAXED) == 0 &&
             __atomic_compare_exchange_n(&controls[i].owner, &free_ring, me, 0, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))) {
            r->control = &controls[i];
            r->data = (uint8_t *)sh + sh->data_offset + (uint64_t)i * sh->ring_bytes;
            r->state = 1;
            /* Names are the ring's: those of a ring held before mean nothing in this one. The
             * table (1 MiB, page-aligned in a private anonymous mapping) is given back rather
             * than cleared: a fork child's memset copied every page the parent had touched and
             * faulted in every page it had not; given back, pages read as zeros until written. */
            if (r->unwind_cache && madvise(memprof_ring_stack_names(r), MEMPROF_RING_STACK_NAMES * sizeof(struct memprof_ring_stack_name),
                                           MADV_DONTNEED) != 0)
                memset(memprof_ring_stack_names(r), 0, MEMPROF_RING_STACK_NAMES * sizeof(struct memprof_ring_stack_name));
            return 1;
        }
    }
    r->state = 2;
    return 0;
}

/* The thread ends (or forked away from it): its ring is free for another. */
static void memprof_ring_release(struct memprof_ring_thread *r, int owned)
{
    if (r->state == 1 && owned)
        __atomic_store_n(&r->control->owner, 0, __ATOMIC_RELEASE);
    /* A fork child keeps its copy of the thread's rules: the same code at the same addresses. */
    if (owned && r->unwind_cache) {
        munmap(r->unwind_cache, MEMPROF_RING_THREAD_CACHE_BYTES);
        r->unwind_cache = NULL;
    }
    r->control = NULL;
    r->data = NULL;
    r->state = 0;
    r->stack_top = 0;
    r->stash_pos = 0;
}

/* memprof is gone: by its pid, or by a heartbeat it stopped beating (a zombie, a stopped reader). */
static int memprof_ring_reader_gone(void)
{
    struct memprof_ring_shared *sh = memprof_ring;
    if (__atomic_load_n(&sh->reader_gone, __ATOMIC_RELAXED))
        return 1;
    int gone = (kill((pid_t)sh->reader_pid, 0) != 0 && errno == ESRCH) ||
               memprof_ring_now_ns() - __atomic_load_n(&sh->heartbeat_ns, __ATOMIC_RELAXED) > MEMPROF_RING_READER_TIMEOUT_NS;
    if (gone)
        __atomic_store_n(&sh->reader_gone, 1, __ATOMIC_RELAXED);
    return gone;
}

/* Waits until `need` bytes are free after write_pos; false when memprof is gone (count a drop). */
static int memprof_ring_room(struct memprof_ring_thread *r, uint64_t write_pos, uint64_t need)
{
    uint64_t capacity = memprof_ring->ring_bytes;
    if (write_pos + need - __atomic_load_n(&r->control->read_pos, __ATOMIC_ACQUIRE) <= capacity)
        return 1;
    if (__atomic_load_n(&memprof_ring->reader_gone, __ATOMIC_RELAXED))
        return 0;
    __atomic_fetch_add(&memprof_ring->waits, 1, __ATOMIC_RELAXED);
    int saved_errno = errno;
    uint32_t *word = (uint32_t *)&r->control->read_pos; /* its low half (little-endian) */
    for (uint64_t spins = 0;; spins++) {
        if (write_pos + need - __atomic_load_n(&r->control->read_pos, __ATOMIC_ACQUIRE) <= capacity)
            break;
        if (spins < 200) {
            __builtin_ia32_pause();
            continue;
        }
        /* Asleep until memprof moves read_pos and, seeing `waiting`, wakes us (it stores read_pos,
         * then reads the flag; we store the flag, then read read_pos: one of us sees the other).
         * At most 10 ms, to look whether memprof is gone. */
        __atomic_store_n(&r->control->waiting, 1, __ATOMIC_SEQ_CST);
        uint64_t seen = __atomic_load_n(&r->control->read_pos, __ATOMIC_SEQ_CST);
        if (write_pos + need - seen > capacity) {
            struct timespec limit = { 0, 10000000 };
            int timed_out = syscall(SYS_futex, word, FUTEX_WAIT, (uint32_t)seen, &limit, NULL, 0) != 0 && errno == ETIMEDOUT;
            /* memprof wakes us when it stops reading, too. */
            if (__atomic_load_n(&memprof_ring->reader_gone, __ATOMIC_RELAXED) || (timed_out && memprof_ring_reader_gone())) {
                __atomic_store_n(&r->control->waiting, 0, __ATOMIC_RELAXED);
                errno = saved_errno;
                return 0;
            }
        }
        __atomic_store_n(&r->control->waiting, 0, __ATOMIC_RELAXED);
    }
    errno = saved_errno;
    return 1;
}

/* The frame-pointer chain from bp (leaf first), as the BPF program walks it. */
static uint32_t memprof_ring_walk(uintptr_t ip, uintptr_t sp, uintptr_t bp, uintptr_t top, uint64_t *pcs, uint32_t *flags)
{
    pcs[0] = ip;
    uint32_t frames = 1;
    uintptr_t fp = bp;
    for (uint32_t i = 1; i < MEMPROF_MAX_FRAMES; i++) {
        if (fp == 0) {
            if (i > 1)
                *flags |= MEMPROF_EVENT_STACK_COMPLETE;
            break;
        }
        /* Only within this thread's stack: a register that holds no frame pointer is never read
         * (compared without fp + 16, which wraps for a value near the top of the address space). */
        if (top == 0 || top - sp < 16 || fp < sp || fp > top - 16 || (fp & 7) != 0)
            break;
        uintptr_t next = ((uintptr_t *)fp)[0];
        pcs[i] = ((uintptr_t *)fp)[1];
        frames = i + 1;
        if (next != 0 && next <= fp)
            break;
        fp = next;
    }
    return frames;
}

/* A CFI unwind of this thread in progress: the frames from the caller of memprof_ring_write on. */
struct memprof_ring_unwind {
    uint64_t *pcs;
    uintptr_t first;         /* where memprof_ring_write returns to: frames before it are this library's walk itself */
    uint32_t frames;
    uint32_t seen;           /* frames the unwinder reported, ours included */
    int started;
    int complete;            /* reached the outermost frame (its return address undefined) */
};

static _Unwind_Reason_Code memprof_ring_unwind_frame(struct _Unwind_Context *context, void *arg)
{
    struct memprof_ring_unwind *u = arg;
    uintptr_t pc = _Unwind_GetIP(context);
    /* libgcc reports a frame whose return address is undefined with pc 0, and stops after it. */
    if (pc == 0) {
        u->complete = u->started;
        return _URC_NO_REASON;
    }
    if (!u->started) {
        /* The walk's own frames (this helper, memprof_ring_write) come first. */
        if (pc != u->first)
            return ++u->seen < 4 ? _URC_NO_REASON : _URC_NORMAL_STOP;
        u->started = 1;
    }
    if (u->frames == MEMPROF_MAX_FRAMES)
        return _URC_NORMAL_STOP;
    u->pcs[u->frames++] = pc;
    return _URC_NO_REASON;
}

/* Unwinds the calling thread with CFI into pcs from `first` (the return address into
 * memprof_ring_write's caller) on; the number of frames when the walk reached the outermost frame,
 * 0 when it stopped short (a module without CFI, a frame no unwind information describes, too many
 * frames). Allocates nothing: a malloc it made would come back into this library. */
__attribute__((noinline)) static uint32_t memprof_ring_unwind(uintptr_t first, uint64_t *pcs)
{
    struct memprof_ring_unwind u = { pcs, first, 0, 0, 0, 0 };
    _Unwind_Reason_Code end = _Unwind_Backtrace(memprof_ring_unwind_frame, &u);
    return end == _URC_END_OF_STACK && u.complete && u.frames > 0 ? u.frames : 0;
}

/* A stack's name key: 64 bits over the frames and the stack flags (two distinct stacks of a thread
 * agreeing on all 64 bits is a chance of one in 2^64 per pair). */
static inline uint64_t memprof_ring_stack_hash_end(uint64_t folded, uint32_t frames, uint32_t flags)
{
    uint64_t h = memprof_unwind_fold(folded, (uint64_t)frames << 32 | flags);
    return h ^ (h >> 32);
}

/* The pcs folded from the outermost frame inward, as the unwind memo keeps them per frame. */
static inline uint64_t memprof_ring_stack_hash(const uint64_t *pcs, uint32_t frames, uint32_t flags)
{
    uint64_t h = 0;
    for (uint32_t i = frames; i-- > 0;)
        h = memprof_unwind_fold(h, pcs[i]);
    return memprof_ring_stack_hash_end(h, frames, flags);
}

/* Reserves `length` bytes at the ring's write position (after a pad record where they would cross
 * its end) and says where they go and where the ring's bytes end once they are published; NULL
 * when memprof is gone (the event is dropped and counted). */
static uint8_t *memprof_ring_reserve(struct memprof_ring_thread *r, uint64_t length, uint64_t *end)
{
    uint64_t capacity = memprof_ring->ring_bytes;
    uint64_t pos = r->control->write_pos;
    uint64_t to_end = capacity - (pos & (capacity - 1));
    uint64_t need = length > to_end ? to_end + length : length;
    if (!memprof_ring_room(r, pos, need)) {
        __atomic_fetch_add(&memprof_ring->dropped, 1, __ATOMIC_RELAXED);
        return NULL;
    }
    if (length > to_end) {
        uint32_t pad[2] = { (uint32_t)to_end, MEMPROF_RING_RECORD_PAD };
        memcpy(r->data + (pos & (capacity - 1)), pad, sizeof(pad));
        pos += to_end;
    }
    *end = pos + length;
    return r->data + (pos & (capacity - 1));
}

/* An event's time in its ring: never before the ring's last record (the reader relies on each
 * ring's order; a stashed event is written after the one its handler interrupted). */
static inline uint64_t memprof_ring_time(struct memprof_ring_thread *r, uint64_t time_ns)
{
    if (time_ns < r->last_time_ns)
        time_ns = r->last_time_ns;
    r->last_time_ns = time_ns;
    return time_ns;
}

/* Writes into the ring the records that signal handlers stashed while this thread was writing
 * (r->writing set), in the order they came. The stash is a ring too: handlers append at its used
 * position, this takes from its taken one (a handler runs to its end before this code goes on,
 * and never in the middle of it), so that under a storm of signals it never has to run empty to
 * be reused. */
static void memprof_ring_take_stash(struct memprof_ring_thread *r)
{
    if (!r->unwind_cache)
        return;
    uint8_t *stash = memprof_ring_stash(r);
    for (;;) {
        uint64_t pos = __atomic_load_n(&r->stash_pos, __ATOMIC_RELAXED);
        __atomic_signal_fence(__ATOMIC_SEQ_CST);
        uint32_t used = (uint32_t)pos, taken = (uint32_t)(pos >> 32);
        if (taken == used) {
            /* Emptied: start over at its first page (unless a handler appended meanwhile: taken first). */
            if (pos == 0 || __atomic_compare_exchange_n(&r->stash_pos, &pos, 0, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
                return;
            continue;
        }
        const uint8_t *record = stash + (taken & (MEMPROF_RING_STASH_BYTES - 1));
        uint32_t prefix[2];
        memcpy(prefix, record, sizeof(prefix));
        if (prefix[1] == MEMPROF_RING_RECORD_EVENT) {
            uint64_t end;
            uint8_t *at = memprof_ring_reserve(r, prefix[0], &end);
            if (at) {
                memcpy(at, record, prefix[0]);
                struct memprof_event *e = (struct memprof_event *)(at + 8);
                e->time_ns = memprof_ring_time(r, e->time_ns);
                __atomic_store_n(&r->control->write_pos, end, __ATOMIC_RELEASE);
                if (e->flags & MEMPROF_RING_EVENT_UNWOUND)
                    __atomic_store_n(&r->control->unwound, r->control->unwound + 1, __ATOMIC_RELAXED);
                __atomic_fetch_add(&memprof_ring->stashed, 1, __ATOMIC_RELAXED);
            }
        }
        __atomic_signal_fence(__ATOMIC_SEQ_CST);
        __atomic_fetch_add(&r->stash_pos, (uint64_t)prefix[0] << 32, __ATOMIC_SEQ_CST);
    }
}

/* A handler's stack runs through the signal frame (the trampoline's at index `signal_frame`) into
 * the write it interrupted: this library's code and what it called (the vDSO's clock, libgcc,
 * libc's memcpy), none of it the program's (and the vDSO is in no file memprof maps, which would
 * end the stack there). Those frames, after the trampoline's up to where the write returns to
 * (into the sampler, which memprof leaves out as its own), are dropped; the frames that remain. */
static uint32_t memprof_ring_drop_interrupted_write(uint64_t *pcs, uint32_t frames, uint32_t signal_frame, uintptr_t write_ip)
{
    for (uint32_t k = signal_frame + 1; k < frames; k++) {
        if (pcs[k] != write_ip)
            continue;
        memmove(pcs + signal_frame + 1, pcs + k, (frames - k) * 8);
        return frames - (k - signal_frame - 1);
    }
    return frames;
}

/* An event record at `at`: its prefix, the event, then its frames (a copied stack of stack_len
 * bytes, if any, goes after them: the caller's to write). The one fill of both the ring write and
 * a signal handler's stash, which may run in a handler: plain stores, no call that is not
 * async-signal-safe. */
__attribute__((always_inline)) static inline void memprof_ring_fill_event(uint8_t *at, uint32_t length, const struct memprof_ring_thread *r,
                                                                         uint64_t time_ns, uint32_t func, uint32_t flags, uint64_t address,
                                                                         uint64_t old_address, uint64_t size, uint64_t seq,
                                                                         const uint64_t *pcs, uint32_t frames, uint32_t stack_len,
                                                                         uintptr_t ip, uintptr_t sp, uintptr_t bp)
{
    uint32_t prefix[2] = { length, MEMPROF_RING_RECORD_EVENT };
    memcpy(at, prefix, sizeof(prefix));
    struct memprof_event *e = (struct memprof_event *)(at + 8);
    e->time_ns = time_ns;
    e->pid = memprof_ring_pid;
    e->tid = r->tid;
    e->address = address;
    e->old_address = old_address;
    e->size = size;
    e->caller = 0;
    e->seq = seq;
    e->func = func;
    e->flags = flags;
    e->frame_count = frames;
    e->stack_len = stack_len;
    e->sp = sp;
    e->bp = bp;
    e->ip = ip;
    memcpy(e->comm, r->comm, sizeof(e->comm));
    memcpy(at + 8 + sizeof(struct memprof_event), pcs, frames * 8);
}

/* A signal handler's event while its thread's ring write is in progress (r->writing): stashed,
 * for that write to put into the ring after its own record (the allocator call it reports
 * completed before the write began, so this one came after it). The handler must not touch what
 * the interrupted write may be in the middle of: an unwind cache entry being filled is left alone
 * (memprof_unwind_lookup), the stack names are not used. False: the event goes to a marker (stash full, a
 * handler interrupting this one, a stack memprof needs a copy of, no unwind that reached the end). */
__attribute__((always_inline)) static inline int memprof_ring_stash_event(struct memprof_ring_thread *r, uint32_t func, uint32_t flags,
                                                                         uint64_t address, uint64_t old_address, uint64_t size,
                                                                         uintptr_t ip, uintptr_t sp, uintptr_t bp)
{
    if (r->stashing || !r->unwind_cache) {
        __atomic_fetch_add(&memprof_ring->interrupted, 1, __ATOMIC_RELAXED);
        return 0;
    }
    r->stashing = 1;
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
    /* The handler may run on an alternate stack: its own bounds, not the thread's cached ones. */
    uintptr_t top = memprof_ring_stack_top(sp);
    uint64_t pcs[MEMPROF_MAX_FRAMES];
    uint32_t frames = 0, signal_frame = MEMPROF_MAX_FRAMES;
    if (memprof_ring->stack_copy && memprof_ring->unwind_in_process) {
        if (top)
            frames = memprof_unwind_walk(r->unwind_cache, NULL, ip, sp, bp, top, pcs, MEMPROF_MAX_FRAMES, &signal_frame);
        if (frames)
            frames = memprof_ring_drop_interrupted_write(pcs, frames, signal_frame, r->write_ip);
        else
            frames = memprof_ring_unwind(ip, pcs);
        if (frames)
            flags |= MEMPROF_RING_EVENT_UNWOUND | MEMPROF_EVENT_STACK_COMPLETE;
    } else if (!memprof_ring->stack_copy) {
        frames = memprof_ring_walk(ip, sp, bp, top, pcs, &flags);
    }
    int done = 0;
    uint32_t length = (uint32_t)((8 + sizeof(struct memprof_event) + frames * 8 + 7) & ~7ULL);
    uint64_t pos = r->stash_pos;
    uint32_t used = (uint32_t)pos, taken = (uint32_t)(pos >> 32);
    uint32_t to_end = MEMPROF_RING_STASH_BYTES - (used & (MEMPROF_RING_STASH_BYTES - 1));
    uint32_t need = length > to_end ? to_end + length : length;
    if (frames && used - taken + need <= MEMPROF_RING_STASH_BYTES) {
        /* A record never wraps: a pad record to the end first. */
        if (length > to_end) {
            uint32_t pad[2] = { to_end, MEMPROF_RING_RECORD_PAD };
            memcpy(memprof_ring_stash(r) + (used & (MEMPROF_RING_STASH_BYTES - 1)), pad, sizeof(pad));
            used += to_end;
        }
        uint8_t *at = memprof_ring_stash(r) + (used & (MEMPROF_RING_STASH_BYTES - 1));
        /* Its time is put in order when the write takes it into the ring (memprof_ring_take_stash). */
        memprof_ring_fill_event(at, length, r, memprof_ring_now_ns(), func, flags, address, old_address, size, 0, pcs, frames, 0,
                                ip, sp, bp);
        __atomic_signal_fence(__ATOMIC_SEQ_CST);
        __atomic_store_n(&r->stash_pos, (uint64_t)taken << 32 | (uint32_t)(used + length), __ATOMIC_RELAXED);
        done = 1;
    } else {
        __atomic_fetch_add(&memprof_ring->interrupted, 1, __ATOMIC_RELAXED);
    }
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
    r->stashing = 0;
    return done;
}

/* The write is done: the stash is taken and r->writing cleared, taking again what a handler
 * stashed after the last take but before the flag was down (nothing may stay behind). */
static void memprof_ring_end_write(struct memprof_ring_thread *r)
{
    for (;;) {
        memprof_ring_take_stash(r);
        __atomic_signal_fence(__ATOMIC_SEQ_CST);
        r->writing = 0;
        __atomic_signal_fence(__ATOMIC_SEQ_CST);
        uint64_t pos = __atomic_load_n(&r->stash_pos, __ATOMIC_RELAXED);
        if ((uint32_t)pos == (uint32_t)(pos >> 32))
            return;
        r->writing = 1;
        __atomic_signal_fence(__ATOMIC_SEQ_CST);
    }
}

/* Writes one event with the stack of its caller's caller (the sampler's entry points keep frame
 * pointers, so the walk and the unwinder both go on from there into the program). False when it
 * could not: no ring for this thread, or memprof gone; the caller then tries the marker. */
__attribute__((noinline)) static int memprof_ring_write(struct memprof_ring_thread *r, uint32_t func, uint32_t flags, uint64_t address,
                                                        uint64_t old_address, uint64_t size)
{
    if (__atomic_load_n(&memprof_ring->reader_gone, __ATOMIC_RELAXED)) {
        __atomic_fetch_add(&memprof_ring->dropped, 1, __ATOMIC_RELAXED);
        return 1;
    }
    /* A child memprof does not follow is not recorded at all: no ring, no marker, no wait. */
    uint32_t only = __atomic_load_n(&memprof_ring->only_pid, __ATOMIC_RELAXED);
    if (only && only != memprof_ring_pid)
        return 1;
    /* The state right after this function returns: the unwinder starts in our caller. */
    uintptr_t frame = (uintptr_t)__builtin_frame_address(0);
    uintptr_t ip = (uintptr_t)__builtin_return_address(0);
    uintptr_t sp = frame + 16;
    uintptr_t bp = *(uintptr_t *)frame;
    if (r->writing)
        return memprof_ring_stash_event(r, func, flags, address, old_address, size, ip, sp, bp);
    if (r->state != 1 && (r->state == 2 || !memprof_ring_claim(r))) {
        __atomic_fetch_add(&memprof_ring->no_ring, 1, __ATOMIC_RELAXED);
        return 0;
    }
    if (r->stack_top == 0 || sp >= r->stack_top)
        r->stack_top = memprof_ring_stack_top(sp);
    uintptr_t top = sp < r->stack_top ? r->stack_top : 0;
    /* Mapped before the write begins, so that a handler that interrupts even the first has the
     * stash; a handler's write in between may have mapped it first (then that one is kept). */
    if (top && !r->unwind_cache) {
        void *cache = mmap(NULL, MEMPROF_RING_THREAD_CACHE_BYTES, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        struct memprof_unwind_rule *none = NULL;
        if (cache != MAP_FAILED && !__atomic_compare_exchange_n(&r->unwind_cache, &none, cache, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
            munmap(cache, MEMPROF_RING_THREAD_CACHE_BYTES);
    }
    r->write_ip = ip;
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
    r->writing = 1;
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
    /* What handlers stashed after the last write took its stash happened before this event. */
    memprof_ring_take_stash(r);
    uint64_t pcs[MEMPROF_MAX_FRAMES];
    uint64_t copy = 0;
    uint32_t frames = 0;
    int unwound_here = 0;     /* by memprof_unwind_walk, whose memo then holds the stack's hash */
    if (memprof_ring->stack_copy && memprof_ring->unwind_in_process) {
        if (top && r->unwind_cache)
            frames = memprof_unwind_walk(r->unwind_cache, memprof_ring_unwind_memo(r), ip, sp, bp, top, pcs, MEMPROF_MAX_FRAMES, NULL);
        unwound_here = frames > 0;
        if (!frames)
            frames = memprof_ring_unwind(ip, pcs);
    }
    /* Counted once the record is written (below): a dropped event is in `dropped`, not here. */
    uint64_t *tally = !memprof_ring->stack_copy || !memprof_ring->unwind_in_process ? NULL
                      : frames ? &r->control->unwound : &r->control->copied;
    if (frames) {
        flags |= MEMPROF_RING_EVENT_UNWOUND | MEMPROF_EVENT_STACK_COMPLETE;
    } else {
        frames = memprof_ring_walk(ip, sp, bp, top, pcs, &flags);
        copy = top ? top - sp : 0;
        if (copy > memprof_ring->stack_copy)
            copy = memprof_ring->stack_copy;
    }
    /* A stack sent before goes by its name; a new one is named once its record is written. */
    struct memprof_ring_stack_name *name = NULL;
    uint64_t stack_hash = 0, stack_id = 0;
    uint32_t sent_frames = frames;
    if (copy == 0 && frames > 0 && r->unwind_cache) {
        uint32_t hashed_flags = flags & (MEMPROF_RING_EVENT_UNWOUND | MEMPROF_EVENT_STACK_COMPLETE);
        struct memprof_unwind_memo *memo = memprof_ring_unwind_memo(r);
        /* The walk just done left its frames' hashes in the memo, when it was this stack's. */
        stack_hash = unwound_here && memo->frames[memo->current] == frames
                         ? memprof_ring_stack_hash_end(memo->frame[memo->current][0].suffix_hash, frames, hashed_flags)
                         : memprof_ring_stack_hash(pcs, frames, hashed_flags);
        name = &memprof_ring_stack_names(r)[stack_hash & (MEMPROF_RING_STACK_NAMES - 1)];
        if (name->id != 0 && name->hash == stack_hash) {
            stack_id = name->id;
            sent_frames = 0;
            flags |= MEMPROF_RING_EVENT_STACK_REF;
            name = NULL;
        } else {
            flags |= MEMPROF_RING_EVENT_STACK_DEFINE;
        }
    }
    uint64_t length = (8 + sizeof(struct memprof_event) + sent_frames * 8 + copy + 7) & ~7ULL;
    uint64_t end;
    uint8_t *at = memprof_ring_reserve(r, length, &end);
    if (!at) {
        memprof_ring_end_write(r);
        return 1;
    }
    if ((r->events++ & 255) == 0)
        prctl(PR_GET_NAME, r->comm, 0, 0, 0);
    if (name) {
        uint32_t ring = (uint32_t)(r->control - (struct memprof_ring_control *)((uint8_t *)memprof_ring + MEMPROF_RING_HEADER_BYTES));
        uint64_t named = r->control->stacks_named + 1;
        r->control->stacks_named = named;
        stack_id = (uint64_t)(ring + 1) << 32 | (named & 0xffffffffULL);
        name->hash = stack_hash;
        name->id = stack_id;
    }
    memprof_ring_fill_event(at, (uint32_t)length, r, memprof_ring_time(r, memprof_ring_now_ns()), func, flags, address, old_address,
                            size, stack_id, pcs, sent_frames, (uint32_t)copy, ip, sp, bp);
    if (copy)
        memcpy(at + 8 + sizeof(struct memprof_event) + sent_frames * 8, (const void *)sp, copy);
    __atomic_store_n(&r->control->write_pos, end, __ATOMIC_RELEASE);
    if (tally)
        __atomic_store_n(tally, *tally + 1, __ATOMIC_RELAXED);
    memprof_ring_end_write(r);
    return 1;
}

#endif
