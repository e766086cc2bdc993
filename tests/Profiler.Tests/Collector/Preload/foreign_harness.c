/* The launch library (libmemprof_preload.so, LD_PRELOAD) over another allocator, linked the way
 * a program links libjemalloc.so.2: against Debian's libjemalloc.so.2, or against bump_alloc.c's
 * allocator, which knows its own blocks for certain. The library's markers are rerouted to counters
 * here (a jump written over their 5-byte nop), so what it reports is seen.
 *
 *   foreign_harness setup          (over bump) blocks glibc made while the library set itself up
 *                                  go back to glibc when the program's next dl* call frees them
 *   foreign_harness count ROUNDS   every call through the library is counted exactly (its state),
 *                                  goes to the allocator, and at MEMPROF_PRELOAD_RATE=1 is marked
 *
 * Prints "check NAME ok" or "check NAME FAIL details" lines. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <malloc.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "memprof_preload.h"
#include "memprof_shared.h"

/* bump_alloc.c's, when the harness is linked against it. */
extern int bump_owns(const void *) __attribute__((weak));
extern long bump_allocations __attribute__((weak));
extern long bump_foreign_frees __attribute__((weak));

static int failures;

static void check(const char *name, int ok, const char *format, long long a, long long b)
{
    if (ok) {
        printf("check %s ok\n", name);
        return;
    }
    printf("check %s FAIL ", name);
    printf(format, a, b);
    printf("\n");
    failures++;
}

static _Atomic uint64_t marked_new, marked_old, marked_free;

static void on_sampled_alloc(void *block, size_t size, void *old, unsigned long func_and_flags)
{
    (void)block, (void)size, (void)old;
    unsigned flags = (unsigned)(func_and_flags >> MEMPROF_MARKER_FLAGS_SHIFT);
    if (flags & MEMPROF_EVENT_NEW_SAMPLED)
        atomic_fetch_add(&marked_new, 1);
    if (flags & MEMPROF_EVENT_OLD_SAMPLED)
        atomic_fetch_add(&marked_old, 1);
}

static void on_sampled_free(void *block)
{
    (void)block;
    atomic_fetch_add(&marked_free, 1);
}

/* movabs $to, %r11; jmp *%r11 over the marker's nop5 and ret (each marker has 16 bytes). */
static void reroute(const char *marker, void *to)
{
    uint8_t *at = dlsym(RTLD_DEFAULT, marker);
    static const uint8_t expected[6] = { 0x0f, 0x1f, 0x44, 0x00, 0x00, 0xc3 };
    if (!at || ((uintptr_t)at & 15) != 0 || memcmp(at, expected, sizeof(expected)) != 0) {
        printf("check markers FAIL %s is not a 16-byte aligned nop5; ret\n", marker);
        exit(1);
    }
    uint8_t code[13] = { 0x49, 0xbb };
    memcpy(code + 2, &to, 8);
    code[10] = 0x41, code[11] = 0xff, code[12] = 0xe3;
    int fd = open("/proc/self/mem", O_RDWR);
    if (fd < 0 || pwrite(fd, code, sizeof(code), (off_t)(uintptr_t)at) != (ssize_t)sizeof(code)) {
        printf("check markers FAIL cannot write %s\n", marker);
        exit(1);
    }
    close(fd);
}

struct sums { int64_t allocations, bytes, usable, frees, freed; };

static struct sums state_sums(void)
{
    struct memprof_preload_state *st = dlsym(RTLD_DEFAULT, "memprof_preload_state");
    struct sums sum = { 0, 0, 0, 0, 0 };
    if (!st || st->magic != MEMPROF_PRELOAD_MAGIC)
        return sum;
    for (uint32_t i = 0; i < st->slot_count; i++) {
        sum.allocations += (int64_t)st->slots[i].allocations;
        sum.bytes += (int64_t)st->slots[i].allocated_bytes;
        sum.usable += (int64_t)st->slots[i].allocated_usable;
        sum.frees += (int64_t)st->slots[i].frees;
        sum.freed += (int64_t)st->slots[i].freed_usable;
    }
    return sum;
}

static int setup_scenario(void)
{
    if (!bump_owns) {
        printf("check setup FAIL the harness is not linked against bump_alloc\n");
        return 1;
    }
    char *block = malloc(100);
    memset(block, 1, 100);
    check("calls-go-to-the-next-allocator", bump_owns(block), "%lld %lld", 0, 0);
    free(block);
    /* Nothing but the library's set-up allocates from glibc here: the blocks of its failed
     * look-ups (bump_alloc has no malloc_usable_size, sallocx, mallocx…). */
    size_t held = mallinfo2().uordblks;
    check("set-up-blocks-are-glibcs", held > 0, "glibc holds %lld bytes %lld", (long long)held, 0);
    /* dlerror hands out the pending message, and the next dl* call frees it (and its record). */
    dlerror();
    dlsym(RTLD_DEFAULT, "malloc");
    dlerror();
    size_t after = mallinfo2().uordblks;
    check("set-up-blocks-go-back-to-glibc", after < held, "glibc holds %lld bytes, %lld before", (long long)after, (long long)held);
    check("no-foreign-block-reaches-the-allocator", bump_foreign_frees == 0, "%lld blocks %lld", bump_foreign_frees, 0);
    return failures != 0;
}

typedef void *(*mallocx_t)(size_t, int);
typedef void *(*rallocx_t)(void *, size_t, int);
typedef size_t (*xallocx_t)(void *, size_t, size_t, int);
typedef void (*sdallocx_t)(void *, size_t, int);
typedef void (*dallocx_t)(void *, int);

static int count_scenario(int rounds)
{
    reroute("memprof_preload_sampled_alloc", (void *)on_sampled_alloc);
    reroute("memprof_preload_sampled_free", (void *)on_sampled_free);
    const char *rate_text = getenv("MEMPROF_PRELOAD_RATE");
    int every = rate_text && strcmp(rate_text, "1") == 0;
    /* The library's own (the first definition in lookup order); jemalloc's API only over jemalloc. */
    int jemalloc = dlsym(RTLD_DEFAULT, "mallctl") != NULL;
    mallocx_t do_mallocx = (mallocx_t)dlsym(RTLD_DEFAULT, "mallocx");
    rallocx_t do_rallocx = (rallocx_t)dlsym(RTLD_DEFAULT, "rallocx");
    xallocx_t do_xallocx = (xallocx_t)dlsym(RTLD_DEFAULT, "xallocx");
    sdallocx_t do_sdallocx = (sdallocx_t)dlsym(RTLD_DEFAULT, "sdallocx");
    dallocx_t do_dallocx = (dallocx_t)dlsym(RTLD_DEFAULT, "dallocx");
    /* Usable sizes as the allocator tells them (bump_alloc tells none: the library counts 0). */
    #define USABLE(p) (jemalloc ? (int64_t)malloc_usable_size(p) : 0)
    struct sums expect = { 0, 0, 0, 0, 0 };
    long bump_before = bump_owns ? bump_allocations : 0;
    long calls_to_bump = 0;
    int foreign = 0;
    uint64_t new0 = marked_new, old0 = marked_old, free0 = marked_free;
    struct sums before = state_sums();
    #define ALLOCATED(p, size) do {                   \
            expect.allocations++;                     \
            expect.bytes += (int64_t)(size);          \
            expect.usable += USABLE(p);               \
            if (bump_owns && !bump_owns(p))           \
                foreign++;                            \
            calls_to_bump++;                          \
        } while (0)
    #define FREEING(p) do { expect.frees++; expect.freed += USABLE(p); } while (0)
    for (int i = 0; i < rounds; i++) {
        size_t size = 8 + (size_t)(i * 37 % 5000);
        void *a = malloc(size);
        ALLOCATED(a, size);
        void *b = calloc(3, size);
        ALLOCATED(b, 3 * size);
        FREEING(a);
        void *c = realloc(a, size * 2);
        ALLOCATED(c, size * 2);
        void *d = NULL;
        if (posix_memalign(&d, 64, size) == 0)
            ALLOCATED(d, size);
        void *e = aligned_alloc(256, 512);
        ALLOCATED(e, 512);
        void *f = memalign(32, size);
        ALLOCATED(f, size);
        void *g = valloc(100);
        ALLOCATED(g, 100);
        void *h = reallocarray(NULL, 4, size);
        ALLOCATED(h, 4 * size);
        void *blocks[] = { b, c, d, e, f, g, h };
        for (size_t k = 0; k < sizeof(blocks) / sizeof(blocks[0]); k++) {
            FREEING(blocks[k]);
            free(blocks[k]);
        }
        if (jemalloc && do_mallocx && do_rallocx && do_xallocx && do_sdallocx && do_dallocx) {
            void *m = do_mallocx(size, 0);
            ALLOCATED(m, size);
            FREEING(m);
            void *r = do_rallocx(m, size + 1000, 0);
            ALLOCATED(r, size + 1000);
            int64_t usable_before = USABLE(r);
            if (do_xallocx(r, 8, 0, 0) >= 8) {
                expect.frees++, expect.freed += usable_before;
                ALLOCATED(r, 8);
            }
            FREEING(r);
            /* sdallocx's size must lie in the block's size class: xallocx may have left it larger. */
            do_sdallocx(r, malloc_usable_size(r), 0);
            void *z = do_mallocx(64, 0x40 /* MALLOCX_ZERO */);
            ALLOCATED(z, 64);
            FREEING(z);
            do_dallocx(z, 0);
        }
    }
    struct sums after = state_sums();
    /* Read before the first check's printf allocates stdout's buffer. */
    long bump_after = bump_owns ? bump_allocations : 0;
    uint64_t new1 = marked_new, old1 = marked_old, free1 = marked_free;
    check("allocations", after.allocations - before.allocations == expect.allocations, "counted %lld, made %lld",
          after.allocations - before.allocations, expect.allocations);
    check("bytes", after.bytes - before.bytes == expect.bytes, "counted %lld, made %lld", after.bytes - before.bytes, expect.bytes);
    check("usable", after.usable - before.usable == expect.usable, "counted %lld, made %lld", after.usable - before.usable, expect.usable);
    check("frees", after.frees - before.frees == expect.frees, "counted %lld, made %lld", after.frees - before.frees, expect.frees);
    check("freed-usable", after.freed - before.freed == expect.freed, "counted %lld, made %lld", after.freed - before.freed, expect.freed);
    if (bump_owns) {
        check("every-block-is-the-allocators", foreign == 0, "%lld foreign blocks %lld", foreign, 0);
        check("every-call-reached-the-allocator", bump_after - bump_before == calls_to_bump, "%lld allocations, %lld calls",
              bump_after - bump_before, calls_to_bump);
        check("no-foreign-block-reaches-the-allocator", bump_foreign_frees == 0, "%lld blocks %lld", bump_foreign_frees, 0);
    }
    if (every) {
        check("every-allocation-marked", (int64_t)(new1 - new0) == expect.allocations, "marked %lld, made %lld",
              (long long)(new1 - new0), expect.allocations);
        check("every-free-marked", (int64_t)(free1 - free0 + old1 - old0) == expect.frees, "marked %lld, made %lld",
              (long long)(free1 - free0 + old1 - old0), expect.frees);
    } else {
        /* At a rate some are sampled, and every sampled block that was freed is marked freed. */
        check("some-sampled", new1 - new0 > 0, "%lld samples %lld", (long long)(new1 - new0), 0);
        check("sampled-frees-paired", free1 - free0 + old1 - old0 == new1 - new0, "%lld frees of %lld samples",
              (long long)(free1 - free0 + old1 - old0), (long long)(new1 - new0));
    }
    return failures != 0;
}

int main(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "setup") == 0)
        return setup_scenario();
    if (argc >= 3 && strcmp(argv[1], "count") == 0)
        return count_scenario(atoi(argv[2]));
    fprintf(stderr, "usage: foreign_harness setup | count ROUNDS\n");
    return 2;
}
