/* Forwarding through one allocator's table (struct memprof_forward_table): counting, sampling
 * and handing every call to that allocator's own functions, so a block always goes back to the
 * allocator that made it. Shared by the injectable library (a table per redirected allocator) and
 * the launch library (a table for the allocator after it in lookup order when that is not glibc's).
 * The including file provides memprof_self and includes memprof_sampler.h first. */
#ifndef MEMPROF_FORWARD_H
#define MEMPROF_FORWARD_H

typedef const struct memprof_forward_table table_t;

static inline uint64_t memprof_forward_usable(table_t *table, void *block)
{
    if (LIKELY(table->kind == MEMPROF_ALLOCATOR_GLIBC))
        return memprof_preload_glibc_usable(block);
    return table->usable_size ? table->usable_size(block) : 0;
}

static inline void *memprof_forward_allocated(table_t *table, void *block, size_t size, unsigned func)
{
    if (UNLIKELY(!block))
        return block;
    return memprof_preload_allocated(memprof_self(), block, size, memprof_forward_usable(table, block), func);
}

/* Counts a free and reports it if sampled: before the block goes back to its allocator. */
static inline void memprof_forward_freeing(table_t *table, void *block)
{
    memprof_preload_freeing(memprof_self(), block, memprof_forward_usable(table, block));
}

/* malloc and free have fast paths without a frame of their own for the common case, as in the
 * launch library; the general path is entered by a tail call, so a frame-pointer walk from the
 * marker finds the program's call site. */
__attribute__((noinline)) static void *memprof_forward_malloc_slow(table_t *table, size_t size, int countdown_passed)
{
    if (UNLIKELY(!table->malloc))
        return NULL;
    void *block = table->malloc(size);
    if (UNLIKELY(!block))
        return block;
    struct memprof_preload_thread *t = memprof_self();
    memprof_preload_count(t, 1, size, memprof_forward_usable(table, block), 0, 0);
    int sampled = countdown_passed && !memprof_preload_stale(t) ? memprof_preload_take(t) : memprof_preload_sample(t, size);
    if (sampled)
        memprof_preload_report(t, block, size, NULL, MEMPROF_MALLOC, MEMPROF_EVENT_NEW_SAMPLED);
    return block;
}

static inline __attribute__((always_inline)) void *memprof_forward_malloc(table_t *table, size_t size)
{
    struct memprof_preload_thread *t = memprof_self();
    struct memprof_preload_slot *s = t->slot;
    if (UNLIKELY(!s || size >= rate || memprof_preload_stale(t) || !table->malloc))
        return memprof_forward_malloc_slow(table, size, 0);
    t->countdown -= (int64_t)size;
    if (UNLIKELY(t->countdown <= 0))
        return memprof_forward_malloc_slow(table, size, 1);
    void *block = table->malloc(size);
    if (UNLIKELY(!block))
        return block;
    memprof_preload_add(t, s, 1, size, memprof_forward_usable(table, block), 0, 0);
    return block;
}

/* How a block goes back: free, sdallocx, dallocx. */
enum memprof_forward_release { RELEASE_FREE, RELEASE_SDALLOCX, RELEASE_DALLOCX };

static inline __attribute__((always_inline)) int memprof_forward_can_release(table_t *table, enum memprof_forward_release how)
{
    return how == RELEASE_FREE ? table->free != NULL : how == RELEASE_SDALLOCX ? table->sdallocx != NULL : table->dallocx != NULL;
}

static inline __attribute__((always_inline)) void memprof_forward_release(table_t *table, enum memprof_forward_release how, void *block,
                                                                        size_t size, int flags)
{
    if (how == RELEASE_FREE)
        table->free(block);
    else if (how == RELEASE_SDALLOCX)
        table->sdallocx(block, size, flags);
    else
        table->dallocx(block, flags);
}

__attribute__((noinline)) static void memprof_forward_free_slow(table_t *table, enum memprof_forward_release how, void *block,
                                                              size_t size, int flags)
{
    if (!block)
        return;
    memprof_forward_freeing(table, block);
    /* Without the function the block is left to leak rather than handed to another allocator. */
    if (memprof_forward_can_release(table, how))
        memprof_forward_release(table, how, block, size, flags);
}

static inline __attribute__((always_inline)) void memprof_forward_free(table_t *table, enum memprof_forward_release how, void *block,
                                                                     size_t size, int flags)
{
    struct memprof_preload_thread *t = memprof_self();
    struct memprof_preload_slot *s = t->slot;
    if (UNLIKELY(!block || !s || !memprof_forward_can_release(table, how) ||
                 __atomic_load_n(memprof_preload_filter_of((uintptr_t)block), __ATOMIC_RELAXED) != 0)) {
        memprof_forward_free_slow(table, how, block, size, flags);
        return;
    }
    memprof_preload_add(t, s, 0, 0, 0, 1, memprof_forward_usable(table, block));
    memprof_forward_release(table, how, block, size, flags);
}

/* Which function resizes: realloc, rallocx, or xallocx (in place; returns the usable size). */
enum memprof_forward_resizer { RESIZE_REALLOC, RESIZE_RALLOCX, RESIZE_XALLOCX };

static void *memprof_forward_call_resize(table_t *table, enum memprof_forward_resizer how, void *old, size_t size, size_t extra,
                                        int flags, size_t *xallocx_result)
{
    switch (how) {
    case RESIZE_REALLOC:
        return table->realloc ? table->realloc(old, size) : NULL;
    case RESIZE_RALLOCX:
        return table->rallocx ? table->rallocx(old, size, flags) : NULL;
    case RESIZE_XALLOCX:
        /* Below the request it could not resize in place, and the block is unchanged. */
        *xallocx_result = table->xallocx ? table->xallocx(old, size, extra, flags) : 0;
        return *xallocx_result >= size ? old : NULL;
    }
    return NULL;
}

/* A resize frees the old block and allocates the new one (xallocx: the same address). Sizes
 * as glibc reports them: realloc(NULL, n) is malloc(n), realloc(p, 0) frees p (and whatever it
 * returns is a new block of 0 bytes). A failed resize leaves the old block as it was. */
__attribute__((noinline)) static void *memprof_forward_resize(table_t *table, enum memprof_forward_resizer how, void *old, size_t size,
                                                            size_t extra, int flags, size_t *xallocx_result)
{
    struct memprof_preload_thread *t = memprof_self();
    if (!old) {
        void *block = memprof_forward_call_resize(table, how, NULL, size, extra, flags, xallocx_result);
        return memprof_forward_allocated(table, block, size, MEMPROF_MALLOC);
    }
    if (size == 0 && how == RESIZE_REALLOC) {
        memprof_forward_freeing(table, old);
        return memprof_forward_allocated(table, memprof_forward_call_resize(table, how, old, 0, 0, 0, xallocx_result), 0, MEMPROF_REALLOC);
    }
    uint64_t old_usable = memprof_forward_usable(table, old);
    /* Looked up before the allocator may hand the old address to another thread. */
    int old_sampled = memprof_preload_was_sampled(t, old);
    void *block = memprof_forward_call_resize(table, how, old, size, extra, flags, xallocx_result);
    if (!block) {
        if (old_sampled)
            memprof_preload_still_sampled(t, old);
        return NULL;
    }
    memprof_preload_count(t, 1, size, memprof_forward_usable(table, block), 1, old_usable);
    unsigned report = memprof_preload_sample(t, size) ? MEMPROF_EVENT_NEW_SAMPLED : 0;
    if (old_sampled)
        report |= MEMPROF_EVENT_OLD_SAMPLED;
    if (UNLIKELY(report))
        memprof_preload_report(t, block, size, old, MEMPROF_REALLOC, report);
    return block;
}

static inline void *memprof_forward_calloc(table_t *table, size_t count, size_t size)
{
    if (UNLIKELY(!table->calloc))
        return NULL;
    return memprof_forward_allocated(table, table->calloc(count, size), count * size, MEMPROF_CALLOC);
}

static inline void *memprof_forward_reallocarray(table_t *table, void *old, size_t count, size_t size)
{
    size_t total;
    if (__builtin_mul_overflow(count, size, &total)) {
        errno = ENOMEM;
        return NULL;
    }
    /* glibc's reallocarray calls realloc through libc's own GOT slot, which may point here too:
     * resizing through the table's realloc counts the call once. */
    return memprof_forward_resize(table, RESIZE_REALLOC, old, total, 0, 0, NULL);
}

static inline int memprof_forward_posix_memalign(table_t *table, void **out, size_t alignment, size_t size)
{
    if (UNLIKELY(!table->posix_memalign))
        return ENOMEM;
    int result = table->posix_memalign(out, alignment, size);
    if (result == 0)
        memprof_forward_allocated(table, *out, size, MEMPROF_POSIX_MEMALIGN);
    return result;
}

static inline void *memprof_forward_aligned(table_t *table, size_t alignment, size_t size, unsigned func)
{
    void *block = NULL;
    size_t page;
    switch (func) {
    case MEMPROF_ALIGNED_ALLOC:
        block = table->aligned_alloc ? table->aligned_alloc(alignment, size) : NULL;
        break;
    case MEMPROF_MEMALIGN:
        block = table->memalign ? table->memalign(alignment, size) : NULL;
        break;
    case MEMPROF_VALLOC:
        page = (size_t)sysconf(_SC_PAGESIZE);
        block = table->valloc ? table->valloc(size) : table->memalign ? table->memalign(page, size) : NULL;
        break;
    case MEMPROF_PVALLOC:
        page = (size_t)sysconf(_SC_PAGESIZE);
        block = table->pvalloc ? table->pvalloc(size) : table->memalign ? table->memalign(page, (size + page - 1) & ~(page - 1)) : NULL;
        break;
    }
    return memprof_forward_allocated(table, block, size, func);
}

static inline void *memprof_forward_mallocx(table_t *table, size_t size, int flags)
{
    if (UNLIKELY(!table->mallocx))
        return NULL;
    return memprof_forward_allocated(table, table->mallocx(size, flags), size, MEMPROF_MALLOCX);
}

static inline size_t memprof_forward_xallocx(table_t *table, void *block, size_t size, size_t extra, int flags)
{
    if (UNLIKELY(!table->xallocx || !block))
        return 0;
    size_t result = 0;
    memprof_forward_resize(table, RESIZE_XALLOCX, block, size, extra, flags, &result);
    return result;
}

#endif
