/* More threads allocating at the same time than memprof has shared rings by default: each of
 * THREADS threads allocates BLOCKS blocks in thread_allocate, all of them wait until every thread
 * has, then each frees its blocks in thread_free and ends. So all THREADS threads write events
 * while the others still hold their rings.
 *
 *   many-threads [THREADS [BLOCKS]]   (200, 100) prints
 *                                     "ok threads=T allocations=A bytes=B" and exits 0
 *
 * A and B are the calls and bytes of thread_allocate (every one of them freed in thread_free);
 * pthread_create and libc allocate on top of them. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

static unsigned blocks_per_thread = 100;
static pthread_barrier_t all_allocated;
static atomic_ulong allocations, bytes;

/* Sizes vary by thread and block, within glibc's per-thread cache and above it. */
static size_t block_size(unsigned thread, unsigned block)
{
    return 24 + (thread * 7u + block * 13u) % 1977u;
}

__attribute__((noinline)) static void **thread_allocate(unsigned thread)
{
    void **kept = malloc(blocks_per_thread * sizeof(void *));
    if (!kept)
        abort();
    unsigned long made = 1, total = blocks_per_thread * sizeof(void *);
    for (unsigned i = 0; i < blocks_per_thread; i++) {
        size_t size = block_size(thread, i);
        /* volatile: the compiler may not drop an allocation nobody reads. */
        char *volatile p = malloc(size);
        if (!p)
            abort();
        p[0] = (char)i;
        kept[i] = p;
        made++;
        total += size;
    }
    atomic_fetch_add(&allocations, made);
    atomic_fetch_add(&bytes, total);
    return kept;
}

__attribute__((noinline)) static void thread_free(void **kept)
{
    for (unsigned i = 0; i < blocks_per_thread; i++)
        free(kept[i]);
    free(kept);
}

static void *run(void *arg)
{
    void **kept = thread_allocate((unsigned)(uintptr_t)arg);
    pthread_barrier_wait(&all_allocated);
    thread_free(kept);
    return NULL;
}

int main(int argc, char **argv)
{
    unsigned threads = argc > 1 ? (unsigned)atoi(argv[1]) : 200;
    if (argc > 2)
        blocks_per_thread = (unsigned)atoi(argv[2]);
    if (threads == 0 || blocks_per_thread == 0) {
        fprintf(stderr, "usage: many-threads [THREADS [BLOCKS]]\n");
        return 2;
    }
    pthread_t *ids = calloc(threads, sizeof(pthread_t));
    pthread_attr_t attr;
    if (!ids || pthread_attr_init(&attr) != 0 || pthread_attr_setstacksize(&attr, 256 * 1024) != 0 ||
        pthread_barrier_init(&all_allocated, NULL, threads) != 0)
        return 1;
    for (unsigned t = 0; t < threads; t++)
        if (pthread_create(&ids[t], &attr, run, (void *)(uintptr_t)t) != 0) {
            perror("pthread_create");
            return 1;
        }
    for (unsigned t = 0; t < threads; t++)
        pthread_join(ids[t], NULL);
    printf("ok threads=%u allocations=%lu bytes=%lu\n", threads, atomic_load(&allocations), atomic_load(&bytes));
    free(ids);
    return 0;
}
