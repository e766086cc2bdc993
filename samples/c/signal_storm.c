/* A program whose main thread is interrupted all the time by signal handlers that allocate
 * blocks above glibc's per-thread cache (so each takes the arena lock), as real programs do,
 * though POSIX does not allow it: a handler that runs while the thread itself is inside malloc
 * with that lock held deadlocks the thread. The program's own code never holds the lock when a
 * signal comes (its loop allocates one size that the cache always serves), so it runs safely
 * on its own; whatever else runs on its main thread (a library loaded into it) must not be
 * interrupted by these handlers.
 *
 *   signal-storm STOPFILE [busy|idle] [INTERVAL_US]
 *
 * Signals: SIGALRM every millisecond (setitimer), and SIGRTMIN sent to the main thread with
 * pthread_sigqueue every INTERVAL_US (default 20) by a thread that never allocates, each one
 * numbered: real-time signals are queued one by one, never merged, so every one sent must be
 * received, in order. busy: the main thread allocates and checks its blocks without pause;
 * idle: it waits in poll. Either way it checks, each time round, that its signal mask is the
 * one it started with.
 *
 * Prints "ready" once signals flow; once STOPFILE exists, stops sending, waits for every sent
 * signal to arrive and prints
 *   "ok sent=N received=N alarms=A mask_changes=0 order_errors=0 data_errors=0"
 * (exit 0), or the same line starting with "bad" (exit 1). */
#define _GNU_SOURCE
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

static pthread_t main_thread;
static atomic_int go, stop;
static atomic_ulong sent;
static volatile unsigned long received, alarms, order_errors, data_errors;

/* 2000–17000 bytes: above the per-thread cache (1032), below the mmap threshold (128 KiB). */
static void allocate_in_handler(unsigned long n)
{
    size_t size = 2000 + (n * 997) % 15000;
    unsigned char *volatile p = malloc(size);
    if (!p) {
        data_errors++;
        return;
    }
    memset(p, (int)(n & 0xff), size);
    if (p[0] != (unsigned char)(n & 0xff) || p[size - 1] != (unsigned char)(n & 0xff))
        data_errors++;
    free(p);
}

static void on_alarm(int sig)
{
    (void)sig;
    allocate_in_handler(alarms);
    alarms++;
}

static void on_queued(int sig, siginfo_t *info, void *context)
{
    (void)sig;
    (void)context;
    if (info->si_code != SI_QUEUE || (unsigned long)info->si_value.sival_ptr != received)
        order_errors++;
    allocate_in_handler(received);
    received++;
}

static void *sender(void *arg)
{
    long interval_us = (long)(intptr_t)arg;
    struct timespec pause = { 0, interval_us * 1000 };
    /* Waits in sigtimedwait, for a signal that never comes, rather than in nanosleep: a thread
     * asleep in nanosleep is a safe point for the remote loader, and this one is not to be taken. */
    sigset_t never;
    sigemptyset(&never);
    sigaddset(&never, SIGUSR2);
    while (!atomic_load(&go))
        sched_yield();
    while (!atomic_load(&stop)) {
        union sigval value = { .sival_ptr = (void *)atomic_load(&sent) };
        /* EAGAIN: the queue of pending signals is full (the main thread blocks them): later. */
        if (pthread_sigqueue(main_thread, SIGRTMIN, value) == 0)
            atomic_fetch_add(&sent, 1);
        if (interval_us > 0)
            sigtimedwait(&never, NULL, &pause);
        else
            sched_yield();
    }
    return NULL;
}

static uint64_t blocked_now(void)
{
    sigset_t set;
    sigemptyset(&set);
    pthread_sigmask(SIG_BLOCK, NULL, &set);
    uint64_t bits = 0;
    for (int s = 1; s <= 64; s++)
        if (sigismember(&set, s) == 1)
            bits |= 1ULL << (s - 1);
    return bits;
}

static void handle(int sig, void (*simple)(int), void (*with_info)(int, siginfo_t *, void *))
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    if (simple) {
        sa.sa_handler = simple;
        sa.sa_flags = SA_RESTART;
    } else {
        sa.sa_sigaction = with_info;
        sa.sa_flags = SA_RESTART | SA_SIGINFO;
    }
    /* Each handler blocks the other: one allocating handler must not interrupt the other. */
    sigaddset(&sa.sa_mask, SIGALRM);
    sigaddset(&sa.sa_mask, SIGRTMIN);
    sigaction(sig, &sa, NULL);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: signal-storm STOPFILE [busy|idle] [INTERVAL_US]\n");
        return 2;
    }
    const char *stop_file = argv[1];
    int idle = argc > 2 && strcmp(argv[2], "idle") == 0;
    long interval_us = argc > 3 ? atol(argv[3]) : 20;
    main_thread = pthread_self();

    /* Everything that allocates outside the cache happens before any signal: thread creation,
     * stdio's buffer, the first allocation of the loop's size. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    pthread_t thread;
    if (pthread_create(&thread, NULL, sender, (void *)(intptr_t)interval_us) != 0)
        return 2;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    free(malloc(48));
    printf("ready\n");
    fflush(stdout);

    uint64_t usual = blocked_now();
    unsigned long mask_changes = 0;
    handle(SIGALRM, on_alarm, NULL);
    handle(SIGRTMIN, NULL, on_queued);
    struct itimerval every = { { 0, 1000 }, { 0, 1000 } }, off = { { 0, 0 }, { 0, 0 } };
    setitimer(ITIMER_REAL, &every, NULL);
    atomic_store(&go, 1);

    for (unsigned long round = 0;; round++) {
        if (idle) {
            poll(NULL, 0, 20);
        } else {
            for (int i = 0; i < 256; i++) {
                unsigned char *volatile p = malloc(48);
                memset(p, i, 48);
                if (p[47] != (unsigned char)i)
                    data_errors++;
                free(p);
            }
        }
        if (blocked_now() != usual)
            mask_changes++;
        if ((idle || round % 16 == 0) && access(stop_file, F_OK) == 0)
            break;
    }

    atomic_store(&stop, 1);
    pthread_join(thread, NULL);
    setitimer(ITIMER_REAL, &off, NULL);
    /* Signals still pending arrive at the next return from the kernel; give them 2 s. */
    unsigned long expected = atomic_load(&sent);
    for (int i = 0; i < 200 && received < expected; i++)
        poll(NULL, 0, 10);

    int ok = received == expected && mask_changes == 0 && order_errors == 0 && data_errors == 0;
    printf("%s sent=%lu received=%lu alarms=%lu mask_changes=%lu order_errors=%lu data_errors=%lu\n", ok ? "ok" : "bad",
           expected, received, alarms, mask_changes, order_errors, data_errors);
    return ok ? 0 : 1;
}
