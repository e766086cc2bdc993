/* A multi-threaded C program that does everything an in-process allocator shim must survive:
 * malloc before main, threads created and exiting while others allocate, every API of the malloc
 * family, fork (with and without exec), dlopen, and a signal handler that allocates while the
 * interrupted thread is itself allocating.
 *
 *   stress [ROUNDS [STOPFILE]]   prints "ok allocations=N signals=M" and exits 0; with STOPFILE
 *                                it also ends after the round in which that file appears
 *
 * N counts the allocation calls this program made itself (libc's own are on top). */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#define THREADS 8
#define ITERATIONS 20000
#define KEEP 64

static atomic_ulong allocations;
static volatile sig_atomic_t signals;
static void *early;

__attribute__((constructor)) static void before_main(void)
{
    early = malloc(100);
    atomic_fetch_add(&allocations, 1);
}

/* Uses a size class of its own that glibc's per-thread cache serves (up to 1032 bytes), so the
 * interrupted thread and the handler never work on the same list, and the handler takes no arena
 * lock the interrupted code may hold (2000 bytes, above the cache, took it on every call). */
static void on_alarm(int sig)
{
    (void)sig;
    /* volatile: the compiler may not drop an allocation nobody reads. */
    char *volatile p = malloc(1000);
    if (p)
        p[0] = 1;
    free(p);
    atomic_fetch_add(&allocations, 1);
    signals++;
}

static void *one_of_each(unsigned r)
{
    void *p = NULL;
    size_t size = r % 4096 + 1;
    switch (r % 7) {
    case 0: p = malloc(size); break;
    case 1: p = calloc(r % 16 + 1, size / 16 + 1); break;
    case 2: p = realloc(NULL, size); break;
    case 3: if (posix_memalign(&p, 64, size) != 0) p = NULL; break;
    case 4: p = aligned_alloc(128, 256); break;
    case 5: p = realloc(malloc(16), size * 8); atomic_fetch_add(&allocations, 1); break;
    case 6: p = reallocarray(NULL, r % 8 + 1, 24); break;
    }
    atomic_fetch_add(&allocations, 1);
    return p;
}

static void *worker(void *arg)
{
    unsigned seed = (unsigned)(uintptr_t)arg;
    void *keep[KEEP] = { 0 };
    for (int i = 0; i < ITERATIONS; i++) {
        unsigned r = (unsigned)rand_r(&seed);
        int slot = (int)(r % KEEP);
        free(keep[slot]);
        keep[slot] = one_of_each(r >> 3);
    }
    for (int i = 0; i < KEEP; i++)
        free(keep[i]);
    return NULL;
}

static void threads_round(int round)
{
    /* Workers inherit a blocked SIGALRM: only the main thread's own loop is interrupted. */
    sigset_t alarm_only, old;
    sigemptyset(&alarm_only);
    sigaddset(&alarm_only, SIGALRM);
    pthread_sigmask(SIG_BLOCK, &alarm_only, &old);
    pthread_t threads[THREADS];
    for (int i = 0; i < THREADS; i++)
        if (pthread_create(&threads[i], NULL, worker, (void *)(uintptr_t)(round * THREADS + i + 1)) != 0)
            exit(2);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    /* The main thread allocates too, in the size class tcache serves, while signals arrive
     * (only then: glibc's own locks, held across fork for one, do not survive a handler that
     * allocates). */
    struct itimerval every = { { 0, 100 }, { 0, 100 } }, off = { { 0, 0 }, { 0, 0 } };
    setitimer(ITIMER_REAL, &every, NULL);
    for (int i = 0; i < 20 * ITERATIONS; i++) {
        void *volatile p = malloc(64);
        atomic_fetch_add(&allocations, 1);
        free(p);
    }
    setitimer(ITIMER_REAL, &off, NULL);
    for (int i = 0; i < THREADS; i++)
        pthread_join(threads[i], NULL);
}

static int run_child(int with_exec)
{
    pid_t pid = fork();
    if (pid < 0)
        return 0;
    if (pid == 0) {
        if (with_exec) {
            execl("/bin/true", "true", (char *)NULL);
            _exit(3);
        }
        worker((void *)(uintptr_t)77);
        exit(0);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

static int use_dlopen(void)
{
    void *lib = dlopen("libm.so.6", RTLD_NOW | RTLD_LOCAL);
    if (!lib)
        return 0;
    double (*cosine)(double) = (double (*)(double))dlsym(lib, "cos");
    int ok = cosine && cosine(0.0) == 1.0;
    dlclose(lib);
    return ok;
}

int main(int argc, char **argv)
{
    int rounds = argc > 1 ? atoi(argv[1]) : 3;
    const char *stop_file = argc > 2 ? argv[2] : NULL;
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_alarm;
    sa.sa_flags = SA_RESTART;
    sigaction(SIGALRM, &sa, NULL);

    int ok = 1;
    for (int round = 0; round < rounds; round++) {
        threads_round(round);
        ok &= run_child(0);
        ok &= run_child(1);
        ok &= use_dlopen();
        if (stop_file && access(stop_file, F_OK) == 0)
            break;
    }
    free(early);
    if (!ok) {
        fprintf(stderr, "stress: a child or dlopen failed\n");
        return 1;
    }
    printf("ok allocations=%lu signals=%d\n", atomic_load(&allocations), (int)signals);
    return 0;
}
