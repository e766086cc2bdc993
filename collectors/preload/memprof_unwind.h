/* The in-process CFI unwinder of the shared rings' writer (memprof_ring.h): a walk over rsp, rbp and
 * the return address with one rule per return address, cached per thread, so that an event's stack
 * costs a few loads per frame, like a frame-pointer walk, instead of an FDE lookup and a CFA
 * program per frame. A rule is read from the FDE that libgcc's _Unwind_Find_FDE finds (glibc's
 * _dl_find_object: lock-free, no malloc) by running its CFA program up to the return address.
 *
 * Only the common shape is cached: the CFA at rsp or rbp plus an offset, the return address at
 * CFA - 8, rbp saved at CFA + n or left alone, or the return address undefined (the outermost
 * frame), and the signal trampoline (rt_sigreturn's, whose ucontext holds the interrupted rip, rsp
 * and rbp: a signal handler's events are common, and libgcc's unwind of them slow). Anything else
 * (a CFA or rbp rule that is an expression, another register) is marked unsupported, and the
 * event is unwound by libgcc's _Unwind_Backtrace.
 *
 * Code outside every loaded module (glibc's _dl_find_object knows none for it: JIT-compiled code,
 * such as CoreCLR's in anonymous mappings and its double-mapped memfd, or ReadyToRun code in
 * assemblies the runtime maps itself) has no CFI; such JIT compilers keep rbp frames, so the walk
 * steps there by the frame chain, as memprof's unwinder of a stack copy does (CFA = rbp + 16, the
 * return address and the caller's rbp below it), and goes on with CFI once back in a module. */
#ifndef MEMPROF_UNWIND_H
#define MEMPROF_UNWIND_H

#include <dlfcn.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/ucontext.h>
#include <unwind.h>

#define MEMPROF_UNWIND_CACHE_ENTRIES 4096 /* per thread: 64 KiB */

enum memprof_unwind_kind {
    MEMPROF_UNWIND_EMPTY = 0,
    MEMPROF_UNWIND_STEP = 1,        /* CFA = (rbp or rsp) + cfa_offset, RA at CFA - 8, rbp at CFA + rbp_offset (0: unchanged) */
    MEMPROF_UNWIND_OUTERMOST = 2,   /* the return address is undefined: the stack's first frame */
    MEMPROF_UNWIND_UNSUPPORTED = 3,
    MEMPROF_UNWIND_FRAME_POINTER = 4, /* outside every module: CFA = rbp + 16, RA at CFA - 8, rbp at CFA - 16 */
    MEMPROF_UNWIND_SIGNAL = 5,      /* the signal trampoline (its CIE says 'S'): the interrupted registers are in the ucontext at sp */
};

/* Where x86-64's ucontext_t keeps the interrupted rbp, rsp and rip (uc_mcontext.gregs[REG_RBP],
 * [REG_RSP], [REG_RIP]: 40 + 8 * 10, 15, 16), and its bytes up to them. */
#define MEMPROF_UNWIND_UC_RBP 120
#define MEMPROF_UNWIND_UC_RSP 160
#define MEMPROF_UNWIND_UC_RIP 168
#define MEMPROF_UNWIND_UCONTEXT_BYTES 176
#ifdef REG_RIP
_Static_assert(offsetof(ucontext_t, uc_mcontext.gregs[REG_RBP]) == MEMPROF_UNWIND_UC_RBP &&
                   offsetof(ucontext_t, uc_mcontext.gregs[REG_RSP]) == MEMPROF_UNWIND_UC_RSP &&
                   offsetof(ucontext_t, uc_mcontext.gregs[REG_RIP]) == MEMPROF_UNWIND_UC_RIP,
               "x86-64 ucontext_t");
#endif

struct memprof_unwind_rule {
    uint64_t pc;
    int32_t cfa_offset;
    int16_t rbp_offset;
    uint8_t cfa_rbp;
    uint8_t kind;
};
_Static_assert(sizeof(struct memprof_unwind_rule) == 16, "one rule, 16 bytes");

struct dwarf_eh_bases {
    void *tbase;
    void *dbase;
    void *func;
};
extern const void *_Unwind_Find_FDE(void *pc, struct dwarf_eh_bases *bases);

static uint64_t memprof_unwind_uleb(const uint8_t **p, const uint8_t *end)
{
    uint64_t value = 0;
    for (unsigned shift = 0; *p < end && shift < 64; shift += 7) {
        uint8_t byte = *(*p)++;
        value |= (uint64_t)(byte & 0x7f) << shift;
        if (!(byte & 0x80))
            break;
    }
    return value;
}

static int64_t memprof_unwind_sleb(const uint8_t **p, const uint8_t *end)
{
    int64_t value = 0;
    unsigned shift = 0;
    uint8_t byte = 0;
    while (*p < end && shift < 64) {
        byte = *(*p)++;
        value |= (int64_t)(byte & 0x7f) << shift;
        shift += 7;
        if (!(byte & 0x80))
            break;
    }
    if (shift < 64 && (byte & 0x40))
        value |= -((int64_t)1 << shift);
    return value;
}

/* Bytes of a pointer in DW_EH_PE encoding `encoding`; -1 for a variable-length one (LEB128). */
static int memprof_unwind_pointer_size(uint8_t encoding)
{
    switch (encoding & 0x0f) {
    case 0x00: return 8;
    case 0x02: case 0x0a: return 2;
    case 0x03: case 0x0b: return 4;
    case 0x04: case 0x0c: return 8;
    default: return -1;
    }
}

static void memprof_unwind_skip_pointer(const uint8_t **p, const uint8_t *end, uint8_t encoding)
{
    int size = memprof_unwind_pointer_size(encoding);
    if (size < 0)
        (void)memprof_unwind_uleb(p, end);
    else
        *p += size;
}

/* Rules of the registers the walk follows: rbp (6) and the return address (16). */
enum { MEMPROF_RULE_SAME, MEMPROF_RULE_UNDEFINED, MEMPROF_RULE_OFFSET, MEMPROF_RULE_OTHER };
struct memprof_unwind_row {
    int64_t cfa_offset;
    uint64_t cfa_register;
    int cfa_expression;
    int rule[2];             /* [0] rbp, [1] return address */
    int64_t offset[2];
};

static int memprof_unwind_column(uint64_t reg) { return reg == 6 ? 0 : reg == 16 ? 1 : -1; }

static void memprof_unwind_set(struct memprof_unwind_row *row, uint64_t reg, int rule, int64_t offset)
{
    int c = memprof_unwind_column(reg);
    if (c >= 0) {
        row->rule[c] = rule;
        row->offset[c] = offset;
    }
}

/* Runs a CFA program until the location passes `target`; false on what it does not know. */
static int memprof_unwind_run(const uint8_t *p, const uint8_t *end, uint64_t code_align, int64_t data_align, uint8_t fde_encoding,
                              uint64_t *loc, uint64_t target, struct memprof_unwind_row *row, const struct memprof_unwind_row *initial)
{
    struct memprof_unwind_row saved[8];
    int depth = 0;
    while (p < end) {
        uint8_t op = *p++;
        uint64_t reg, delta = 0;
        switch (op >> 6) {
        case 1: delta = (op & 0x3f) * code_align; break;
        case 2: reg = op & 0x3f; memprof_unwind_set(row, reg, MEMPROF_RULE_OFFSET, (int64_t)memprof_unwind_uleb(&p, end) * data_align); continue;
        case 3: {
            int c = memprof_unwind_column(op & 0x3f);
            if (c >= 0) {
                row->rule[c] = initial->rule[c];
                row->offset[c] = initial->offset[c];
            }
            continue;
        }
        default:
            switch (op) {
            case 0x00: continue;
            case 0x01: {
                int size = memprof_unwind_pointer_size(fde_encoding);
                if (size != 8 || (fde_encoding & 0x70) != 0)
                    return 0;
                uint64_t to;
                __builtin_memcpy(&to, p, 8);
                p += 8;
                if (to > target)
                    return 1;
                *loc = to;
                continue;
            }
            case 0x02: delta = *p * code_align; p += 1; break;
            case 0x03: { uint16_t d; __builtin_memcpy(&d, p, 2); p += 2; delta = d * code_align; break; }
            case 0x04: { uint32_t d; __builtin_memcpy(&d, p, 4); p += 4; delta = d * code_align; break; }
            case 0x05: reg = memprof_unwind_uleb(&p, end); memprof_unwind_set(row, reg, MEMPROF_RULE_OFFSET, (int64_t)memprof_unwind_uleb(&p, end) * data_align); continue;
            case 0x06: {
                int c = memprof_unwind_column(memprof_unwind_uleb(&p, end));
                if (c >= 0) {
                    row->rule[c] = initial->rule[c];
                    row->offset[c] = initial->offset[c];
                }
                continue;
            }
            case 0x07: memprof_unwind_set(row, memprof_unwind_uleb(&p, end), MEMPROF_RULE_UNDEFINED, 0); continue;
            case 0x08: memprof_unwind_set(row, memprof_unwind_uleb(&p, end), MEMPROF_RULE_SAME, 0); continue;
            case 0x09: reg = memprof_unwind_uleb(&p, end); (void)memprof_unwind_uleb(&p, end); memprof_unwind_set(row, reg, MEMPROF_RULE_OTHER, 0); continue;
            case 0x0a:
                if (depth == 8)
                    return 0;
                saved[depth++] = *row;
                continue;
            case 0x0b:
                if (depth == 0)
                    return 0;
                *row = saved[--depth];
                continue;
            case 0x0c: row->cfa_register = memprof_unwind_uleb(&p, end); row->cfa_offset = (int64_t)memprof_unwind_uleb(&p, end); row->cfa_expression = 0; continue;
            case 0x0d: row->cfa_register = memprof_unwind_uleb(&p, end); row->cfa_expression = 0; continue;
            case 0x0e: row->cfa_offset = (int64_t)memprof_unwind_uleb(&p, end); continue;
            case 0x0f: { uint64_t n = memprof_unwind_uleb(&p, end); p += n; row->cfa_expression = 1; continue; }
            case 0x10: case 0x16: { reg = memprof_unwind_uleb(&p, end); uint64_t n = memprof_unwind_uleb(&p, end); p += n; memprof_unwind_set(row, reg, MEMPROF_RULE_OTHER, 0); continue; }
            case 0x11: reg = memprof_unwind_uleb(&p, end); memprof_unwind_set(row, reg, MEMPROF_RULE_OFFSET, memprof_unwind_sleb(&p, end) * data_align); continue;
            case 0x12: row->cfa_register = memprof_unwind_uleb(&p, end); row->cfa_offset = memprof_unwind_sleb(&p, end) * data_align; row->cfa_expression = 0; continue;
            case 0x13: row->cfa_offset = memprof_unwind_sleb(&p, end) * data_align; continue;
            case 0x14: reg = memprof_unwind_uleb(&p, end); (void)memprof_unwind_uleb(&p, end); memprof_unwind_set(row, reg, MEMPROF_RULE_OTHER, 0); continue;
            case 0x15: reg = memprof_unwind_uleb(&p, end); (void)memprof_unwind_sleb(&p, end); memprof_unwind_set(row, reg, MEMPROF_RULE_OTHER, 0); continue;
            case 0x2e: (void)memprof_unwind_uleb(&p, end); continue;
            case 0x2f: reg = memprof_unwind_uleb(&p, end); memprof_unwind_set(row, reg, MEMPROF_RULE_OFFSET, -(int64_t)memprof_unwind_uleb(&p, end) * data_align); continue;
            default: return 0;
            }
        }
        if (*loc + delta > target)
            return 1;
        *loc += delta;
    }
    return 1;
}

/* The rule at `address` (a return address minus one): its FDE's CIE and FDE programs run up to
 * it; MEMPROF_UNWIND_EMPTY when no FDE covers it (asked again next time). */
static void memprof_unwind_describe(uintptr_t address, struct memprof_unwind_rule *out)
{
    out->kind = MEMPROF_UNWIND_UNSUPPORTED;
    struct dwarf_eh_bases bases;
    const uint8_t *fde = _Unwind_Find_FDE((void *)address, &bases);
    if (!fde) {
        /* In no module at all: code generated at run time, whose frames the chain of rbp links. */
        struct dl_find_object object;
        if (_dl_find_object((void *)address, &object) != 0) {
            out->kind = MEMPROF_UNWIND_FRAME_POINTER;
            return;
        }
        /* A module's code without an FDE: not remembered, the library may not be in the dynamic
         * linker's table yet. */
        out->kind = MEMPROF_UNWIND_EMPTY;
        return;
    }
    uint32_t length, cie_offset;
    __builtin_memcpy(&length, fde, 4);
    if (length == 0xffffffffu)
        return;
    const uint8_t *fde_end = fde + 4 + length;
    __builtin_memcpy(&cie_offset, fde + 4, 4);
    const uint8_t *cie = fde + 4 - cie_offset;
    uint32_t cie_length;
    __builtin_memcpy(&cie_length, cie, 4);
    if (cie_length == 0xffffffffu)
        return;
    const uint8_t *cie_end = cie + 4 + cie_length, *p = cie + 8;
    uint8_t version = *p++;
    const char *augmentation = (const char *)p;
    while (p < cie_end && *p)
        p++;
    p++;
    if (augmentation[0] == 'e' && augmentation[1] == 'h')
        return;
    if (version >= 4) {
        /* address_size and segment_selector_size: only 8 and 0 are this machine's. */
        if (p[0] != 8 || p[1] != 0)
            return;
        p += 2;
    }
    uint64_t code_align = memprof_unwind_uleb(&p, cie_end);
    int64_t data_align = memprof_unwind_sleb(&p, cie_end);
    uint64_t ra_column = version == 1 ? *p++ : memprof_unwind_uleb(&p, cie_end);
    if (ra_column != 16)
        return;
    uint8_t fde_encoding = 0;
    int has_data = augmentation[0] == 'z';
    if (has_data) {
        uint64_t n = memprof_unwind_uleb(&p, cie_end);
        const uint8_t *data = p, *data_end = p + n;
        for (const char *a = augmentation + 1; *a; a++) {
            if (*a == 'R')
                fde_encoding = *data++;
            else if (*a == 'P') {
                uint8_t encoding = *data++;
                memprof_unwind_skip_pointer(&data, data_end, encoding);
            } else if (*a == 'L')
                data++;
            else if (*a == 'S') {
                /* A signal frame: the kernel's ucontext holds the interrupted registers. */
                out->kind = MEMPROF_UNWIND_SIGNAL;
                return;
            }
            else if (*a != 'B')
                return;
        }
        p = data_end;
    }
    struct memprof_unwind_row initial = { 0, 7, 0, { MEMPROF_RULE_SAME, MEMPROF_RULE_SAME }, { 0, 0 } };
    uint64_t loc = (uint64_t)(uintptr_t)bases.func;
    if (!memprof_unwind_run(p, cie_end, code_align, data_align, fde_encoding, &loc, UINT64_MAX, &initial, &initial))
        return;
    struct memprof_unwind_row row = initial;
    const uint8_t *q = fde + 8;
    int size = memprof_unwind_pointer_size(fde_encoding);
    if (size < 0)
        return;
    q += 2 * size;
    if (has_data) {
        uint64_t n = memprof_unwind_uleb(&q, fde_end); /* the FDE's augmentation data (an LSDA pointer) */
        q += n;
    }
    if (!memprof_unwind_run(q, fde_end, code_align, data_align, fde_encoding, &loc, address, &row, &initial))
        return;
    if (row.rule[1] == MEMPROF_RULE_UNDEFINED) {
        out->kind = MEMPROF_UNWIND_OUTERMOST;
        return;
    }
    if (row.cfa_expression || (row.cfa_register != 7 && row.cfa_register != 6) || row.rule[1] != MEMPROF_RULE_OFFSET ||
        row.offset[1] != -8 || (row.rule[0] != MEMPROF_RULE_SAME && row.rule[0] != MEMPROF_RULE_OFFSET) ||
        row.cfa_offset < INT32_MIN || row.cfa_offset > INT32_MAX || row.offset[0] < INT16_MIN || row.offset[0] > INT16_MAX ||
        (row.rule[0] == MEMPROF_RULE_OFFSET && row.offset[0] == 0))
        return;
    out->kind = MEMPROF_UNWIND_STEP;
    out->cfa_rbp = row.cfa_register == 6;
    out->cfa_offset = (int32_t)row.cfa_offset;
    out->rbp_offset = row.rule[0] == MEMPROF_RULE_OFFSET ? (int16_t)row.offset[0] : 0;
}

/* An entry's pc while it is being filled. */
#define MEMPROF_UNWIND_FILLING 1

/* The rule for `address`, copied into `out`: the cached one, else one described now and cached.
 * A signal handler's event may walk (and fill entries) in the middle of this thread's own walk:
 * an entry is filled under the pc MEMPROF_UNWIND_FILLING, which a handler leaves alone (its rule
 * then goes only into its copy), and read as a copy whose pc is looked at again after it, so
 * that an entry a handler refilled meanwhile is not taken. */
static inline void memprof_unwind_lookup(struct memprof_unwind_rule *cache, uintptr_t address, struct memprof_unwind_rule *out)
{
    uint64_t h = (uint64_t)address * 0x9E3779B97F4A7C15ULL;
    struct memprof_unwind_rule *entry = &cache[h >> (64 - 12)];
    _Static_assert(MEMPROF_UNWIND_CACHE_ENTRIES == 1 << 12, "the hash takes 12 bits");
    uint64_t pc = __atomic_load_n(&entry->pc, __ATOMIC_RELAXED);
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
    if (pc == address) {
        *out = *entry;
        __atomic_signal_fence(__ATOMIC_SEQ_CST);
        if (out->kind != MEMPROF_UNWIND_EMPTY && __atomic_load_n(&entry->pc, __ATOMIC_RELAXED) == address)
            return;
    }
    if (__atomic_load_n(&entry->pc, __ATOMIC_RELAXED) == MEMPROF_UNWIND_FILLING) {
        memprof_unwind_describe(address, out);
        return;
    }
    __atomic_store_n(&entry->pc, MEMPROF_UNWIND_FILLING, __ATOMIC_RELAXED);
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
    memprof_unwind_describe(address, entry);
    *out = *entry;
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
    __atomic_store_n(&entry->pc, address, __ATOMIC_RELAXED);
}

/* The frames of the thread's last complete walk, each with its sp and its rule: consecutive
 * events share their outer frames, whose rules are then read from here rather than from the
 * cache (a rule is the CFI at its pc, so any copy of it is right; the sp only finds it). The
 * cache is indexed by a hash of the pc: each frame a cache line of its own, which programs with
 * deep stacks (bat: ~30 frames an event) missed in L1 and L2 for a quarter of the walk's time. */
#define MEMPROF_UNWIND_MEMO_FRAMES 128
struct memprof_unwind_memo_frame {
    uint64_t sp;
    uint64_t bp;             /* rbp as the frame's rule found it, which only some rules read */
    uint64_t suffix_hash;    /* memprof_unwind_fold over the pcs from the outermost frame to this one */
    struct memprof_unwind_rule rule;
};

/* One step of a stack's hash, taken from its outermost frame inward: a walk that shares its
 * outer frames with the last one takes their hash from the memo and folds only its own. */
static inline uint64_t memprof_unwind_fold(uint64_t h, uint64_t pc)
{
    h = (h ^ pc) * 0x9E3779B97F4A7C15ULL;
    return h ^ (h >> 29);
}

struct memprof_unwind_memo {
    uint32_t frames[2];
    uint32_t current;        /* the buffer holding the last walk; the other is written */
    uint32_t pad;
    struct memprof_unwind_memo_frame frame[2][MEMPROF_UNWIND_MEMO_FRAMES];
};

/* The suffix hashes of the walk just written into the memo's other buffer (`frames` of it):
 * the frames it shares with the last walk, counted from the outermost, keep theirs. */
static inline void memprof_unwind_memo_hash(struct memprof_unwind_memo *memo, const uint64_t *pcs, uint32_t frames)
{
    const struct memprof_unwind_memo_frame *last = memo->frame[memo->current];
    struct memprof_unwind_memo_frame *out = memo->frame[memo->current ^ 1];
    int32_t i = (int32_t)frames - 1, k = (int32_t)memo->frames[memo->current] - 1;
    uint64_t h = 0;
    for (; i >= 0 && k >= 0 && out[i].sp == last[k].sp && out[i].rule.pc == last[k].rule.pc; i--, k--)
        h = out[i].suffix_hash = last[k].suffix_hash;
    for (; i >= 0; i--)
        h = out[i].suffix_hash = memprof_unwind_fold(h, pcs[i]);
}

static inline uint32_t memprof_unwind_memo_done(struct memprof_unwind_memo *memo, const uint64_t *pcs, uint32_t frames)
{
    if (memo) {
        /* A walk longer than the memo keeps no frames: its hash must cover them all. */
        uint32_t kept = frames <= MEMPROF_UNWIND_MEMO_FRAMES ? frames : 0;
        memprof_unwind_memo_hash(memo, pcs, kept);
        memo->frames[memo->current ^ 1] = kept;
        memo->current ^= 1;
    }
    return frames;
}

/* Retraces the last walk from its frame `j`, which frame `n` of this walk matches in pc and sp:
 * while each step reads the return address (and saved rbp) the last walk read there, this walk is
 * that walk, with the same rules and the same bounds, which held then. Consecutive events of a
 * deep program share most of their outer frames, and a step here costs a few loads where one of
 * the walk costs its checks too: on cppcheck (28 frames an event, 22 M events) the walk took a
 * third of the run's CPU. It stops before the last walk's last frame, a rule other than a CFA
 * step, a rule reading an rbp not the last walk's, or a return address the last walk did not
 * see, and leaves frame `n` (returned) to the full walk. */
static inline __attribute__((always_inline)) uint32_t memprof_unwind_retrace(const struct memprof_unwind_memo_frame *last,
                                                                            uint32_t last_frames, uint32_t *j,
                                                                            struct memprof_unwind_memo_frame *out, uint64_t *pcs,
                                                                            uint32_t n, uint32_t most, uintptr_t *sp, uintptr_t *bp,
                                                                            uintptr_t *pc)
{
    uint32_t k = *j;
    uintptr_t s = *sp, b = *bp, p = *pc;
    while (k + 1 < last_frames && n + 1 < most && n < MEMPROF_UNWIND_MEMO_FRAMES) {
        const struct memprof_unwind_memo_frame *f = &last[k];
        if (f->rule.kind != MEMPROF_UNWIND_STEP || (f->rule.cfa_rbp && b != f->bp))
            break;
        uintptr_t cfa = (f->rule.cfa_rbp ? b : s) + (intptr_t)f->rule.cfa_offset;
        uintptr_t next = ((const uintptr_t *)cfa)[-1];
        if (next - 1 != last[k + 1].rule.pc)
            break;
        if (out) {
            out[n].sp = s;
            out[n].bp = b;
            out[n].rule = f->rule;
        }
        if (f->rule.rbp_offset)
            b = *(const uintptr_t *)(cfa + (intptr_t)f->rule.rbp_offset);
        s = cfa;
        p = next;
        pcs[++n] = p;
        k++;
    }
    *j = k;
    *sp = s;
    *bp = b;
    *pc = p;
    return n;
}

/* Walks from `ip` with the caller's sp and bp, within [sp, top) (`signal_frame`, unless NULL:
 * set to the index of the last signal trampoline's frame it went through): the number of frames when it
 * reached the outermost one (by CFI, or a frame chain ending on rbp = 0 as the psABI marks it),
 * 0 when it could not (a frame the cache does not describe, a frame outside the stack, a frame
 * chain that does not lead outward, more than `most` frames). `memo` (or NULL) is the thread's:
 * read for rules, and holds this walk's frames once it completes; a signal handler's walk,
 * which may interrupt the thread's own, passes NULL. */
static uint32_t memprof_unwind_walk(struct memprof_unwind_rule *cache, struct memprof_unwind_memo *memo, uintptr_t ip, uintptr_t sp,
                                    uintptr_t bp, uintptr_t top, uint64_t *pcs, uint32_t most, uint32_t *signal_frame)
{
    const struct memprof_unwind_memo_frame *last = memo ? memo->frame[memo->current] : NULL;
    uint32_t last_frames = memo ? memo->frames[memo->current] : 0;
    struct memprof_unwind_memo_frame *out = memo ? memo->frame[memo->current ^ 1] : NULL;
    uint32_t j = 0;
    uintptr_t pc = ip;
    /* A return address is looked up one byte back (the call, which may be a function's last
     * instruction); the pc a signal interrupted is where the thread stood. */
    uintptr_t back = 1;
    for (uint32_t n = 0; n < most; n++) {
        pcs[n] = pc;
        /* Both walks go outward, each sp above the one before: the last walk's frame at this sp,
         * if any, is found by moving on from where the previous frame's search stopped. */
        while (j < last_frames && last[j].sp < sp)
            j++;
        struct memprof_unwind_rule found;
        if (j < last_frames && last[j].sp == sp && last[j].rule.pc == pc - back) {
            n = memprof_unwind_retrace(last, last_frames, &j, out, pcs, n, most, &sp, &bp, &pc);
            found = last[j].rule;
        } else {
            memprof_unwind_lookup(cache, pc - back, &found);
            found.pc = pc - back; /* the memo's key, whichever way the lookup filled its copy */
        }
        const struct memprof_unwind_rule *rule = &found;
        if (out && n < MEMPROF_UNWIND_MEMO_FRAMES) {
            out[n].sp = sp;
            out[n].bp = bp;
            out[n].rule = found;
        }
        back = 1;
        if (rule->kind == MEMPROF_UNWIND_OUTERMOST)
            return memprof_unwind_memo_done(memo, pcs, n + 1);
        if (rule->kind == MEMPROF_UNWIND_SIGNAL) {
            /* x86-64's rt_sigreturn trampoline (mov $15, %rax; syscall), as libgcc checks too; sp
             * is the ucontext the kernel saved (the handler's return popped the trampoline's address). */
            static const uint8_t sigreturn[9] = { 0x48, 0xc7, 0xc0, 0x0f, 0x00, 0x00, 0x00, 0x0f, 0x05 };
            if (__builtin_memcmp((const void *)pc, sigreturn, sizeof(sigreturn)) != 0 || sp > top || top - sp < MEMPROF_UNWIND_UCONTEXT_BYTES)
                return 0;
            const uintptr_t *uc = (const uintptr_t *)sp;
            uintptr_t next = uc[MEMPROF_UNWIND_UC_RIP / 8], next_sp = uc[MEMPROF_UNWIND_UC_RSP / 8];
            /* The interrupted frames lie above the signal frame on the same stack (a handler on
             * an alternate stack: they do not, and libgcc unwinds it). */
            if (next_sp <= sp || next_sp > top || next < 4096 || next >= (1ULL << 47))
                return 0;
            bp = uc[MEMPROF_UNWIND_UC_RBP / 8];
            if (signal_frame)
                *signal_frame = n;
            sp = next_sp;
            pc = next;
            back = 0;
            continue;
        }
        if (rule->kind == MEMPROF_UNWIND_FRAME_POINTER) {
            if (bp == 0)
                return memprof_unwind_memo_done(memo, pcs, n + 1);
            /* Only a frame record inside this thread's stack, at or above sp: anything else in rbp
             * is no frame pointer (compared without bp + 16, which wraps near the top). */
            if ((bp & 7) != 0 || bp < sp || top - sp < 16 || bp > top - 16)
                return 0;
            uintptr_t next = ((const uintptr_t *)bp)[1];
            sp = bp + 16;
            bp = ((const uintptr_t *)bp)[0];
            if (next == 0)
                return memprof_unwind_memo_done(memo, pcs, n + 1);
            /* A return address is a user-space code address. */
            if (next < 4096 || next >= (1ULL << 47))
                return 0;
            pc = next;
            continue;
        }
        if (rule->kind != MEMPROF_UNWIND_STEP)
            return 0;
        uintptr_t cfa = (rule->cfa_rbp ? bp : sp) + (intptr_t)rule->cfa_offset;
        if (cfa <= sp || cfa > top || cfa - sp < 8)
            return 0;
        uintptr_t next = ((const uintptr_t *)cfa)[-1];
        if (rule->rbp_offset) {
            uintptr_t slot = cfa + (intptr_t)rule->rbp_offset;
            if (slot < sp || slot > top - 8)
                return 0;
            bp = *(const uintptr_t *)slot;
        }
        sp = cfa;
        if (next == 0)
            return memprof_unwind_memo_done(memo, pcs, n + 1);
        pc = next;
    }
    return 0;
}

#endif
