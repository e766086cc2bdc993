/* A process whose threads all wait: one in epoll_wait on a pipe, one in poll on a pipe, one in
 * read on a pipe, one in nanosleep (8 s; 4 s alone), the main thread in read on a fourth pipe. It
 * prints "ready E P R S" (the write ends of the pipes); once a pipe has a byte, or the sleep is
 * over, that thread checks what its call returned (never EINTR, the sleep not cut short),
 * allocates a known number of blocks from a function of its own, and keeps them. A byte on
 * the fourth pipe ends it: it prints "ok" (exit 0) when every check passed, else the failures (exit 1).
 * With an argument (epoll, poll, read or sleep), only that thread runs, and the main thread waits
 * for it in pthread_join (a futex, which is no safe point) before it reads the fourth pipe:
 * the waiting thread is then the only one that can be caught. */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

static long sleep_ms = 8000;

static int epoll_pipe[2], poll_pipe[2], read_pipe[2], stop_pipe[2];
static char failures[4096];
static pthread_mutex_t failures_lock = PTHREAD_MUTEX_INITIALIZER;
static void *volatile kept[64];

static void fail(const char *what, long result, int error)
{
    pthread_mutex_lock(&failures_lock);
    size_t used = strlen(failures);
    snprintf(failures + used, sizeof failures - used, "%s returned %ld (%s); ", what, result, strerror(error));
    pthread_mutex_unlock(&failures_lock);
}

/* Each site allocates its blocks itself (a shared helper would be the site). */
#define KEEP(first, count, size) for (int i = 0; i < (count); i++) kept[(first) + i] = malloc(size)

__attribute__((noinline)) static void after_epoll(void) { KEEP(0, 3, 1111); }
__attribute__((noinline)) static void after_poll(void) { KEEP(8, 5, 2222); }
__attribute__((noinline)) static void after_read(void) { KEEP(16, 7, 3333); }
__attribute__((noinline)) static void after_sleep(void) { KEEP(32, 2, 4444); }

static void *epoll_thread(void *unused)
{
    (void)unused;
    int ep = epoll_create1(0);
    struct epoll_event ev = { .events = EPOLLIN, .data.fd = epoll_pipe[0] };
    epoll_ctl(ep, EPOLL_CTL_ADD, epoll_pipe[0], &ev);
    struct epoll_event got;
    int n = epoll_wait(ep, &got, 1, -1);
    if (n != 1) fail("epoll_wait", n, errno);
    after_epoll();
    return NULL;
}

static void *poll_thread(void *unused)
{
    (void)unused;
    struct pollfd p = { .fd = poll_pipe[0], .events = POLLIN };
    int n = poll(&p, 1, -1);
    if (n != 1 || !(p.revents & POLLIN)) fail("poll", n, errno);
    after_poll();
    return NULL;
}

static void *read_thread(void *unused)
{
    (void)unused;
    char byte;
    ssize_t n = read(read_pipe[0], &byte, 1);
    if (n != 1) fail("read", n, errno);
    after_read();
    return NULL;
}

static long long now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1000LL + t.tv_nsec / 1000000;
}

static void *sleep_thread(void *unused)
{
    (void)unused;
    long long start = now_ms();
    struct timespec span = { .tv_sec = sleep_ms / 1000, .tv_nsec = (sleep_ms % 1000) * 1000000L };
    int r = nanosleep(&span, NULL);
    long long slept = now_ms() - start;
    if (r != 0) fail("nanosleep", r, errno);
    /* Restarted with the time left, not from the start: neither shorter nor a whole sleep longer. */
    if (slept < sleep_ms || slept > sleep_ms + 1500) fail("nanosleep's span (ms)", (long)slept, 0);
    after_sleep();
    return NULL;
}

int main(int argc, char **argv)
{
    static const char *kinds[4] = { "epoll", "poll", "read", "sleep" };
    int only = -1;
    if (argc > 1)
        for (int i = 0; i < 4; i++)
            if (!strcmp(argv[1], kinds[i])) only = i;
    if (argc > 1 && only < 0) return 2;
    if (only >= 0) sleep_ms = 4000;
    if (pipe(epoll_pipe) || pipe(poll_pipe) || pipe(read_pipe) || pipe(stop_pipe)) return 2;
    pthread_t threads[4];
    void *(*bodies[4])(void *) = { epoll_thread, poll_thread, read_thread, sleep_thread };
    for (int i = 0; i < 4; i++)
        if (only < 0 || i == only) pthread_create(&threads[i], NULL, bodies[i], NULL);
    printf("ready %d %d %d %d\n", epoll_pipe[1], poll_pipe[1], read_pipe[1], stop_pipe[1]);
    fflush(stdout);
    if (only >= 0) pthread_join(threads[only], NULL);
    char line[16];
    ssize_t n = read(stop_pipe[0], line, sizeof line);
    if (n <= 0) fail("read of the stop pipe", n, errno);
    for (int i = 0; i < 4; i++)
        if (only < 0) pthread_join(threads[i], NULL);
    if (failures[0]) { printf("%s\n", failures); return 1; }
    printf("ok\n");
    return 0;
}
