/* A stand-in for another allocator (libjemalloc.so.2, tcmalloc) under the launch library, for
 * foreign_harness.c: every block comes from one region of its own and is never reused, so a free
 * can tell for certain whether a block is its own; one handed another allocator's block is
 * counted (bump_foreign_frees), never touched. It has no malloc_usable_size and none of
 * jemalloc's API, so the library's look-ups of those fail while it sets itself up: glibc then
 * allocates their error messages, which the next dl* call frees. */
#define _GNU_SOURCE
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>

#define EXPORT __attribute__((visibility("default")))
#define REGION (1UL << 34)

static char *region;
static size_t used;
EXPORT long bump_allocations, bump_frees, bump_foreign_frees;

EXPORT int bump_owns(const void *block) { return region && (const char *)block >= region && (const char *)block < region + REGION; }

static void *bump_alloc(size_t size, size_t alignment)
{
    if (!__atomic_load_n(&region, __ATOMIC_ACQUIRE)) {
        char *mapped = mmap(NULL, REGION, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        char *expected = NULL;
        if (mapped == MAP_FAILED)
            return NULL;
        if (!__atomic_compare_exchange_n(&region, &expected, mapped, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
            munmap(mapped, REGION);
    }
    if (alignment < 16)
        alignment = 16;
    size_t span = size + alignment + 16;
    size_t start = __atomic_fetch_add(&used, (span + 15) & ~(size_t)15, __ATOMIC_RELAXED);
    if (start + span > REGION) {
        errno = ENOMEM;
        return NULL;
    }
    uintptr_t block = ((uintptr_t)region + start + 16 + alignment - 1) & ~(uintptr_t)(alignment - 1);
    ((size_t *)block)[-1] = size;
    __atomic_fetch_add(&bump_allocations, 1, __ATOMIC_RELAXED);
    return (void *)block;
}

EXPORT void *malloc(size_t size) { return bump_alloc(size, 16); }

/* Called by name, its own functions would be the launch library's (first in lookup order). */
static void bump_release(void *block)
{
    if (!block)
        return;
    if (!bump_owns(block))
        __atomic_fetch_add(&bump_foreign_frees, 1, __ATOMIC_RELAXED);
    else
        __atomic_fetch_add(&bump_frees, 1, __ATOMIC_RELAXED);
}

EXPORT void free(void *block) { bump_release(block); }

EXPORT void *calloc(size_t count, size_t size)
{
    size_t total;
    if (__builtin_mul_overflow(count, size, &total))
        return NULL;
    void *block = bump_alloc(total, 16);
    if (block)
        memset(block, 0, total);
    return block;
}

EXPORT void *realloc(void *old, size_t size)
{
    if (!old)
        return bump_alloc(size, 16);
    if (!bump_owns(old)) {
        __atomic_fetch_add(&bump_foreign_frees, 1, __ATOMIC_RELAXED);
        return NULL;
    }
    void *block = bump_alloc(size, 16);
    if (!block)
        return NULL;
    size_t old_size = ((size_t *)old)[-1];
    memcpy(block, old, old_size < size ? old_size : size);
    bump_release(old);
    return block;
}

EXPORT int posix_memalign(void **out, size_t alignment, size_t size)
{
    void *block = bump_alloc(size, alignment);
    if (!block)
        return ENOMEM;
    *out = block;
    return 0;
}

EXPORT void *aligned_alloc(size_t alignment, size_t size) { return bump_alloc(size, alignment); }
EXPORT void *memalign(size_t alignment, size_t size) { return bump_alloc(size, alignment); }
EXPORT void *valloc(size_t size) { return bump_alloc(size, 4096); }
EXPORT void *pvalloc(size_t size) { return bump_alloc((size + 4095) & ~(size_t)4095, 4096); }
