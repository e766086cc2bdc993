/* Traces one thread of another process without stopping it (PTRACE_SEIZE), as a debugger or strace
 * attached to it would, until killed: no one else can stop that thread meanwhile.
 *
 *   hold_thread TID     prints "held" once the thread is traced, then waits to be killed
 *                       (the kernel then lets the thread go). */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <sys/ptrace.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: hold_thread TID\n");
        return 2;
    }
    if (ptrace(PTRACE_SEIZE, atoi(argv[1]), NULL, NULL) != 0) {
        perror("PTRACE_SEIZE");
        return 1;
    }
    printf("held\n");
    fflush(stdout);
    for (;;)
        pause();
}
