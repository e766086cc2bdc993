/* A program that holds a known live heap before memprof attaches, then allocates lightly.
 *
 *   held_heap MEGABYTES STOPFILE [LIBRARY]
 *
 * Allocates MEGABYTES MiB in 64 KiB blocks (below glibc's mmap threshold: from the heap), writes
 * every byte, prints "ready HELD" (the usable bytes held), then every millisecond allocates and
 * frees a few small blocks until STOPFILE exists. With LIBRARY, once STOPFILE.dlopen exists it
 * dlopens LIBRARY and calls its `churn(n)` (which allocates), printing "dlopened"; the blocks
 * held are checked and freed at the end, and it prints "ok". */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define BLOCK (64 * 1024)

/* Where the small blocks go through, so the compiler keeps each malloc/free pair. */
static void *volatile churned;

static int exists(const char *path) { return access(path, F_OK) == 0; }

int main(int argc, char **argv)
{
    if (argc < 3)
        return 2;
    size_t count = (size_t)atol(argv[1]) * 1024 * 1024 / BLOCK;
    const char *stop = argv[2];
    const char *library = argc > 3 ? argv[3] : NULL;
    char dlopen_file[4096];
    snprintf(dlopen_file, sizeof dlopen_file, "%s.dlopen", stop);
    unsigned char **held = malloc(count * sizeof *held);
    size_t usable = 0;
    for (size_t i = 0; i < count; i++) {
        held[i] = malloc(BLOCK);
        memset(held[i], (int)(i & 0xff), BLOCK);
        usable += malloc_usable_size(held[i]);
    }
    printf("ready %zu\n", usable);
    fflush(stdout);
    int opened = 0;
    while (!exists(stop)) {
        for (int i = 0; i < 4; i++) {
            churned = malloc(100 + (size_t)i);
            free(churned);
        }
        if (library && !opened && exists(dlopen_file)) {
            void *handle = dlopen(library, RTLD_LAZY);
            void (*churn)(int) = handle ? (void (*)(int))dlsym(handle, "churn") : NULL;
            if (!churn) {
                fprintf(stderr, "dlopen: %s\n", dlerror());
                return 4;
            }
            churn(1000);
            opened = 1;
            printf("dlopened\n");
            fflush(stdout);
        }
        usleep(1000);
    }
    for (size_t i = 0; i < count; i++) {
        for (size_t b = 0; b < BLOCK; b += 4096)
            if (held[i][b] != (unsigned char)(i & 0xff))
                return 3;
        free(held[i]);
    }
    free(held);
    printf("ok\n");
    return 0;
}
