/* A library to load into a running process. Its constructor writes "<its own path>.ran" with the
 * process and thread that ran it, after sleeping INJECT_LIB_SLEEP_MS when built with it (to
 * keep a load in progress). Only system calls: no stdio, and no allocation of its own unless
 * built with INJECT_LIB_ALLOCATE: then it allocates and frees that many blocks above glibc's
 * per-thread cache first, spending most of its time with the arena lock held, as a
 * constructor that sets up its state might. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static void put_number(char *buffer, size_t *at, long value)
{
    char digits[24];
    int n = 0;
    do { digits[n++] = (char)('0' + value % 10); value /= 10; } while (value);
    while (n) buffer[(*at)++] = digits[--n];
}

__attribute__((constructor)) static void loaded(void)
{
    Dl_info info;
    if (!dladdr((void *)loaded, &info) || !info.dli_fname)
        return;
    char path[4096];
    size_t length = strlen(info.dli_fname);
    if (length + 5 > sizeof(path))
        return;
    memcpy(path, info.dli_fname, length);
    memcpy(path + length, ".ran", 5);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return;
#ifdef INJECT_LIB_ALLOCATE
    for (int i = 0; i < INJECT_LIB_ALLOCATE; i++) {
        char *volatile block = malloc(2000 + (size_t)(i % 64) * 100);
        if (block)
            block[0] = 1;
        free(block);
    }
#endif
#ifdef INJECT_LIB_SLEEP_MS
    struct timespec pause = { INJECT_LIB_SLEEP_MS / 1000, (INJECT_LIB_SLEEP_MS % 1000) * 1000000L };
    nanosleep(&pause, NULL);
#endif
    char line[64];
    size_t at = 0;
    put_number(line, &at, getpid());
    line[at++] = ' ';
    put_number(line, &at, gettid());
    line[at++] = '\n';
    if (write(fd, line, at) != (ssize_t)at)
        return;
    close(fd);
}

int inject_lib_answer(void) { return 42; }
