/* A library a running program dlopens after memprof attached (held_heap's LIBRARY): nothing of
 * it was loaded when the slots were redirected, so its calls reach the sampler only through the
 * redirected definitions, from its first constructor on. What it allocates, exactly:
 *
 *   late_lib_constructor   10 x malloc(3000), kept (never freed)
 *   churn(n)               n x malloc(2000) freed; n/10 x calloc(10, 500) freed; 1 x malloc(777) kept */
#include <stdlib.h>

/* Where blocks go through, so the compiler keeps every call. */
static void *volatile kept[11];
static void *volatile passing;

__attribute__((constructor, noinline)) static void late_lib_constructor(void)
{
    for (int i = 0; i < 10; i++)
        kept[i] = malloc(3000);
}

__attribute__((noinline)) void churn(int n)
{
    for (int i = 0; i < n; i++) {
        passing = malloc(2000);
        free(passing);
        if (i % 10 == 0) {
            passing = calloc(10, 500);
            free(passing);
        }
    }
    kept[10] = malloc(777);
}
