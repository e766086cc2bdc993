namespace Profiler.Tests.Collector.Ring;

/// <summary>C text shared by the tests that compile a program around the rings' writer
/// (collectors/preload/memprof_ring.h) and run it.</summary>
static class RingPrograms
{
    /// <summary>What memprof_ring.h needs included before it, then memprof_ring.h.</summary>
    public const string Prelude = """
        #define _GNU_SOURCE
        #include <alloca.h>
        #include <errno.h>
        #include <fcntl.h>
        #include <signal.h>
        #include <stddef.h>
        #include <stdint.h>
        #include <stdio.h>
        #include <stdlib.h>
        #include <string.h>
        #include <sys/mman.h>
        #include <sys/time.h>
        #include <sys/wait.h>
        #include <time.h>
        #include <unistd.h>
        #include "memprof_ring.h"
        """;

    /// <summary>`make_rings(count, bytes)`: a shared area of `count` rings of `bytes` each, laid
    /// out as memprof's reader lays it out (this process its reader, stacks unwound in process),
    /// and the writer pointed at it. Its rings' data starts at RINGS_DATA.</summary>
    public const string MakeRings = """
        #define RINGS_DATA (2 * 4096)
        static uint8_t *make_rings(uint32_t count, uint64_t bytes)
        {
            uint8_t *map = mmap(NULL, RINGS_DATA + count * bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
            struct memprof_ring_shared *sh = (void *)map;
            sh->magic = MEMPROF_RING_MAGIC;
            sh->version = MEMPROF_RING_VERSION;
            sh->ring_count = count;
            sh->ring_bytes = bytes;
            sh->data_offset = RINGS_DATA;
            sh->reader_pid = (uint32_t)getpid();
            sh->heartbeat_ns = memprof_ring_now_ns();
            sh->stack_copy = 65536;
            sh->unwind_in_process = 1;
            memprof_ring = sh;
            memprof_ring_pid = (uint32_t)getpid();
            return map;
        }
        """;
}
