/* A program that allocates without pause on several threads and checks its own data: every
 * block is filled with a pattern derived from its thread, slot and size, and verified before
 * it is freed or resized. A call whose arguments or registers were disturbed shows up as a
 * block of the wrong size or contents (or a crash).
 *
 *   inject_target THREADS STOPFILE   prints "ready", allocates until STOPFILE exists, then prints
 *                                    "ok threads=THREADS" and exits 0 (3 on corrupt data).
 *   THREADS = 0 allocates on the main thread alone. A third argument "seccomp" first puts the
 *   process under a seccomp filter that allows everything; "signals" catches SIGURG, SIGWINCH
 *   and SIGCHLD (counting them, and printing the count if any came) and ignores no signal (a
 *   shell ignores SIGINT and SIGQUIT for a background job). "late" makes every thread wait,
 *   without allocating, until STOPFILE.go exists (a loader then waits long for a safe point: the
 *   threads sleep by a system call of their own, outside libc, which is no safe point either). */
#define _GNU_SOURCE
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <signal.h>
#include <sys/prctl.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define KEEP 64

static atomic_int stop;
static atomic_int corrupt;
static const char *stop_file;
static atomic_int quiet_signals;
static int late;

/* nanosleep(1 ms) made from this program's code, not libc's (x86-64). */
static void raw_nap(void)
{
    struct timespec nap = { 0, 1000000 };
    long result;
    __asm__ volatile("syscall" : "=a"(result) : "a"(35L), "D"(&nap), "S"(0L) : "rcx", "r11", "memory");
    (void)result;
}
static char go_file[4096];

static void count_signal(int sig)
{
    (void)sig;
    atomic_fetch_add(&quiet_signals, 1);
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

static void *allocate(void *arg)
{
    unsigned id = (unsigned)(uintptr_t)arg;
    unsigned seed = id * 2654435761u + 1;
    unsigned char *block[KEEP] = { 0 };
    size_t size[KEEP] = { 0 };
    while (late && access(go_file, F_OK) != 0)
        raw_nap();
    for (unsigned long n = 0;; n++) {
        if ((n & 1023) == 0) {
            if (atomic_load(&stop))
                break;
            if (id == 0 && access(stop_file, F_OK) == 0)
                atomic_store(&stop, 1);
        }
        unsigned r = (unsigned)rand_r(&seed);
        unsigned slot = r % KEEP;
        size_t want = (r >> 8) % 2048 + 1;
        if (block[slot] && !check(block[slot], id, slot, size[slot], size[slot])) {
            atomic_store(&corrupt, 1);
            atomic_store(&stop, 1);
            break;
        }
        switch ((r >> 20) % 4) {
        case 0:
        case 1:
            free(block[slot]);
            block[slot] = malloc(want);
            break;
        case 2:
            free(block[slot]);
            block[slot] = calloc(1, want);
            for (size_t i = 0; block[slot] && i < want; i++)
                if (block[slot][i] != 0) { atomic_store(&corrupt, 1); atomic_store(&stop, 1); }
            break;
        case 3: {
            /* realloc keeps the old contents up to the smaller size. */
            size_t old = block[slot] ? size[slot] : 0;
            unsigned char *p = realloc(block[slot], want);
            if (p && old && !check(p, id, slot, old, old < want ? old : want)) {
                atomic_store(&corrupt, 1);
                atomic_store(&stop, 1);
            }
            block[slot] = p;
            break;
        }
        }
        if (!block[slot]) {
            atomic_store(&corrupt, 1);
            atomic_store(&stop, 1);
            break;
        }
        size[slot] = want;
        fill(block[slot], id, slot, want);
    }
    for (int i = 0; i < KEEP; i++)
        free(block[i]);
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc != 3 && argc != 4) {
        fprintf(stderr, "usage: inject_target THREADS STOPFILE [seccomp|signals|late]\n");
        return 2;
    }
    if (argc == 4 && strcmp(argv[3], "signals") == 0) {
        struct sigaction sa;
        memset(&sa, 0, sizeof(sa));
        sa.sa_handler = count_signal;
        sa.sa_flags = SA_RESTART;
        sigaction(SIGURG, &sa, NULL);
        sigaction(SIGWINCH, &sa, NULL);
        sigaction(SIGCHLD, &sa, NULL);
        for (int sig = 1; sig < 32; sig++) {
            struct sigaction old;
            if (sigaction(sig, NULL, &old) == 0 && old.sa_handler == SIG_IGN)
                signal(sig, SIG_DFL);
        }
    } else if (argc == 4 && strcmp(argv[3], "late") == 0) {
        late = 1;
        snprintf(go_file, sizeof(go_file), "%s.go", argv[2]);
    } else if (argc == 4) {
        struct sock_filter allow = BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
        struct sock_fprog program = { 1, &allow };
        if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 || prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &program) != 0) {
            perror("seccomp");
            return 2;
        }
    }
    int threads = atoi(argv[1]);
    stop_file = argv[2];
    printf("ready\n");
    fflush(stdout);
    if (threads == 0) {
        allocate((void *)0);
    } else {
        pthread_t t[threads];
        for (int i = 0; i < threads; i++)
            pthread_create(&t[i], NULL, allocate, (void *)(uintptr_t)i);
        for (int i = 0; i < threads; i++)
            pthread_join(t[i], NULL);
    }
    if (atomic_load(&corrupt)) {
        printf("corrupt\n");
        return 3;
    }
    if (atomic_load(&quiet_signals))
        printf("signals=%d\n", atomic_load(&quiet_signals));
    printf("ok threads=%d\n", threads);
    return 0;
}
