/* A server for repeated attach/detach: WORKERS threads allocate without pause for as long as it
 * runs, and a spawner keeps starting short-lived threads that allocate and end, so threads come
 * and go while memprof attaches and detaches. Every block is filled with a pattern derived from
 * its thread, slot and size, and verified before it is freed or resized; aligned blocks are also
 * checked for their alignment. A redirected call that lands on the wrong function, or loses or
 * mixes up its arguments, shows as a block of the wrong size, contents or alignment (or a crash).
 *
 *   churn_server WORKERS STOPFILE   prints "ready" once every worker runs, allocates until
 *                                   STOPFILE exists, then prints
 *                                     "ok workers=WORKERS"
 *                                     "transient started=N ended=N"
 *                                     "checked=M"
 *                                   and exits 0 (3 and "corrupt ..." on bad data). */
#define _GNU_SOURCE
#include <malloc.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define KEEP 64
#define TRANSIENT_AT_ONCE 4
#define TRANSIENT_STEPS 4000

static atomic_int stop;
static atomic_int corrupt;
static atomic_int running_workers;
static atomic_long checked;
static atomic_long transient_started;
static atomic_long transient_ended;
static char reason[128];

static void fail(const char *what, unsigned id)
{
    if (atomic_exchange(&corrupt, 1) == 0)
        snprintf(reason, sizeof reason, "%s on thread %u", what, id);
    atomic_store(&stop, 1);
}

static unsigned char pattern(unsigned id, unsigned slot, size_t size, size_t i)
{
    return (unsigned char)(id * 31u + slot * 7u + (unsigned)size + (unsigned)i * 13u);
}

static void fill(unsigned char *p, unsigned id, unsigned slot, size_t size)
{
    for (size_t i = 0; i < size; i++)
        p[i] = pattern(id, slot, size, i);
}

/* The first `length` bytes of a block filled for `size` bytes. */
static int check(const unsigned char *p, unsigned id, unsigned slot, size_t size, size_t length)
{
    for (size_t i = 0; i < length; i++)
        if (p[i] != pattern(id, slot, size, i))
            return 0;
    return 1;
}

/* `steps` allocator calls (0: until stopped), checking every block before it goes. */
static void churn(unsigned id, unsigned long steps)
{
    unsigned seed = id * 2654435761u + 1;
    unsigned char *block[KEEP] = { 0 };
    size_t size[KEEP] = { 0 };
    long verified = 0;
    for (unsigned long n = 0; steps == 0 || n < steps; n++) {
        if ((n & 255) == 0 && atomic_load(&stop))
            break;
        unsigned r = (unsigned)rand_r(&seed);
        unsigned slot = r % KEEP;
        size_t want = (r >> 8) % 2048 + 1;
        if (block[slot]) {
            if (!check(block[slot], id, slot, size[slot], size[slot])) {
                fail("a block changed under its owner", id);
                break;
            }
            verified++;
        }
        switch ((r >> 20) % 6) {
        case 0:
        case 1:
            free(block[slot]);
            block[slot] = malloc(want);
            break;
        case 2:
            free(block[slot]);
            block[slot] = calloc(want, 1);
            for (size_t i = 0; block[slot] && i < want; i++)
                if (block[slot][i] != 0) { fail("calloc returned dirty memory", id); break; }
            break;
        case 3: {
            /* realloc keeps the old contents up to the smaller size. */
            size_t old = block[slot] ? size[slot] : 0;
            unsigned char *p = realloc(block[slot], want);
            if (p && old && !check(p, id, slot, old, old < want ? old : want))
                fail("realloc lost the contents", id);
            block[slot] = p;
            break;
        }
        case 4: {
            void *p = NULL;
            free(block[slot]);
            if (posix_memalign(&p, 64, want) != 0 || ((uintptr_t)p & 63) != 0)
                fail("posix_memalign failed or misaligned", id);
            block[slot] = p;
            break;
        }
        case 5:
            free(block[slot]);
            block[slot] = aligned_alloc(128, (want + 127) & ~(size_t)127);
            if (((uintptr_t)block[slot] & 127) != 0)
                fail("aligned_alloc misaligned", id);
            break;
        }
        if (!block[slot]) {
            fail("an allocation returned NULL", id);
            break;
        }
        size[slot] = want;
        fill(block[slot], id, slot, want);
    }
    for (int i = 0; i < KEEP; i++)
        free(block[i]);
    atomic_fetch_add(&checked, verified);
}

static void *worker(void *arg)
{
    atomic_fetch_add(&running_workers, 1);
    churn((unsigned)(uintptr_t)arg, 0);
    return NULL;
}

static void *transient(void *arg)
{
    churn((unsigned)(uintptr_t)arg, TRANSIENT_STEPS);
    atomic_fetch_add(&transient_ended, 1);
    return NULL;
}

/* Keeps TRANSIENT_AT_ONCE short-lived threads going, each started as the previous one ends. */
static void *spawner(void *arg)
{
    unsigned base = (unsigned)(uintptr_t)arg;
    pthread_t t[TRANSIENT_AT_ONCE];
    int live[TRANSIENT_AT_ONCE] = { 0 };
    for (unsigned long n = 0; !atomic_load(&stop); n++) {
        int i = (int)(n % TRANSIENT_AT_ONCE);
        if (live[i])
            pthread_join(t[i], NULL);
        live[i] = 0;
        if (pthread_create(&t[i], NULL, transient, (void *)(uintptr_t)(base + (unsigned)(n % 1000))) != 0) {
            fail("pthread_create failed", base);
            break;
        }
        live[i] = 1;
        atomic_fetch_add(&transient_started, 1);
    }
    for (int i = 0; i < TRANSIENT_AT_ONCE; i++)
        if (live[i])
            pthread_join(t[i], NULL);
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: churn_server WORKERS STOPFILE\n");
        return 2;
    }
    int workers = atoi(argv[1]);
    const char *stop_file = argv[2];
    pthread_t w[workers > 0 ? workers : 1], s;
    for (int i = 0; i < workers; i++)
        if (pthread_create(&w[i], NULL, worker, (void *)(uintptr_t)i) != 0) {
            perror("pthread_create");
            return 2;
        }
    while (atomic_load(&running_workers) < workers)
        usleep(1000);
    if (pthread_create(&s, NULL, spawner, (void *)(uintptr_t)1000) != 0) {
        perror("pthread_create");
        return 2;
    }
    printf("ready\n");
    fflush(stdout);
    while (!atomic_load(&stop) && access(stop_file, F_OK) != 0)
        usleep(10000);
    atomic_store(&stop, 1);
    pthread_join(s, NULL);
    for (int i = 0; i < workers; i++)
        pthread_join(w[i], NULL);
    if (atomic_load(&corrupt)) {
        printf("corrupt: %s\n", reason);
        return 3;
    }
    printf("ok workers=%d\n", workers);
    printf("transient started=%ld ended=%ld\n", atomic_load(&transient_started), atomic_load(&transient_ended));
    printf("checked=%ld\n", atomic_load(&checked));
    return 0;
}
