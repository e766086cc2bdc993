using System.Diagnostics;
using Profiler.Tests.Elf;

namespace Profiler.Integration.Tests;

/// <summary>Programs whose allocator slots the GOT tests rewrite, built once: a multi-threaded C
/// program that checks every block it frees (lazily bound, and bound at load with its GOT
/// read-only), and a Python one (Debian's python3 is not PIE: its PLT entries are malloc's and
/// free's addresses for every other module).</summary>
public sealed class GotTargets : IDisposable
{
    const string Source = """
        #define _GNU_SOURCE
        #include <malloc.h>
        #include <pthread.h>
        #include <stdatomic.h>
        #include <stdio.h>
        #include <stdlib.h>
        #include <string.h>

        #define THREADS 4
        #define KEEP 64

        /* Called through a table in read-only data too: R_X86_64_64 words, not only GOT slots. */
        struct api { void *(*alloc)(size_t); void (*release)(void *); };
        static const struct api table[2] = { { malloc, free }, { malloc, free } };

        static atomic_int late, stop;
        static atomic_ulong checks, late_calls, corrupt;

        /* valloc, pvalloc, memalign and reallocarray are first called after "late": their
           slots are still unbound (lazy binding) when the test reads them. */
        static void *one(unsigned r, size_t size, int *zeroed)
        {
            void *p = NULL;
            int use_late = atomic_load(&late);
            *zeroed = 0;
            switch (r % (use_late ? 10 : 6)) {
            case 0: p = malloc(size); break;
            case 1: p = calloc(1, size); *zeroed = 1; break;
            case 2: p = realloc(malloc(8), size); break;
            case 3: if (posix_memalign(&p, 64, size) != 0) p = NULL; break;
            case 4: p = aligned_alloc(64, (size + 63) & ~(size_t)63); break;
            case 5: p = table[r & 1].alloc(size); break;
            case 6: p = valloc(size); atomic_fetch_add(&late_calls, 1); break;
            case 7: p = pvalloc(size); atomic_fetch_add(&late_calls, 1); break;
            case 8: p = memalign(128, size); atomic_fetch_add(&late_calls, 1); break;
            case 9: p = reallocarray(NULL, size, 1); atomic_fetch_add(&late_calls, 1); break;
            }
            return p;
        }

        struct block { unsigned char *p; size_t n; unsigned char fill; };

        static void release(struct block *b, unsigned r)
        {
            if (!b->p) return;
            for (size_t i = 0; i < b->n; i++)
                if (b->p[i] != b->fill) { atomic_fetch_add(&corrupt, 1); break; }
            atomic_fetch_add(&checks, 1);
            if (r & 2) table[r & 1].release(b->p); else free(b->p);
            b->p = NULL;
        }

        static void *worker(void *arg)
        {
            unsigned seed = (unsigned)(size_t)arg;
            struct block keep[KEEP] = { 0 };
            while (!atomic_load(&stop)) {
                unsigned r = (unsigned)rand_r(&seed);
                struct block *b = &keep[r % KEEP];
                release(b, r >> 8);
                size_t size = (r >> 4) % 2048 + 16;
                int zeroed;
                unsigned char *p = one(r >> 12, size, &zeroed);
                if (!p) { atomic_fetch_add(&corrupt, 1); continue; }
                if (zeroed)
                    for (size_t i = 0; i < size; i++)
                        if (p[i]) { atomic_fetch_add(&corrupt, 1); break; }
                b->p = p; b->n = size; b->fill = (unsigned char)(r | 1);
                memset(p, b->fill, size);
            }
            for (int i = 0; i < KEEP; i++) release(&keep[i], (unsigned)i);
            return NULL;
        }

        int main(void)
        {
            pthread_t threads[THREADS];
            for (int i = 0; i < THREADS; i++)
                pthread_create(&threads[i], NULL, worker, (void *)(size_t)(i + 1));
            printf("ready\n");
            fflush(stdout);
            char line[64];
            while (fgets(line, sizeof line, stdin)) {
                if (strncmp(line, "late", 4) == 0) atomic_store(&late, 1);
                if (strncmp(line, "stop", 4) == 0) break;
            }
            atomic_store(&stop, 1);
            for (int i = 0; i < THREADS; i++)
                pthread_join(threads[i], NULL);
            printf("%s checks=%lu late=%lu\n", atomic_load(&corrupt) ? "corrupt" : "ok",
                   atomic_load(&checks), atomic_load(&late_calls));
            return atomic_load(&corrupt) ? 1 : 0;
        }
        """;

    public const string PythonScript = """
        import sys, threading
        stop = False
        checks = 0
        late = 0
        errors = []
        def work():
            global checks
            try:
                while not stop:
                    d = {i: str(i) * 3 for i in range(500)}
                    blocks = [bytes(range(i % 256)) * 4 for i in range(200)]
                    assert all(d[i] == str(i) * 3 for i in range(500))
                    assert sum(len(b) for b in blocks) == sum((i % 256) * 4 for i in range(200))
                    checks += 1
            except Exception as e:
                errors.append(e)
        t = threading.Thread(target=work)
        t.start()
        print("ready", flush=True)
        for line in sys.stdin:
            if line.startswith("late"):
                late += 1
            if line.startswith("stop"):
                break
        stop = True
        t.join()
        print(("ok" if not errors else "corrupt %r" % errors) + " checks=%d late=%d" % (checks, late), flush=True)
        sys.exit(1 if errors else 0)
        """;

    public string Directory { get; } = System.IO.Directory.CreateTempSubdirectory("memprof-got-").FullName;
    /// <summary>Bound on first call (glibc's default for gcc's output).</summary>
    public string Lazy { get; }
    /// <summary>-z now: every slot bound at load, the GOT read-only after (full RELRO).</summary>
    public string BoundAtLoad { get; }

    public GotTargets()
    {
        string source = Path.Combine(Directory, "target.c");
        File.WriteAllText(source, Source);
        Lazy = Compile(source, "lazy", "-Wl,-z,lazy");
        BoundAtLoad = Compile(source, "now", "-Wl,-z,relro,-z,now");
    }

    string Compile(string source, string name, string flag)
    {
        string output = Path.Combine(Directory, name);
        SystemTools.Run("gcc", "-O2", "-pthread", "-Wall", "-Werror", "-Wno-deprecated-declarations", flag, "-o", output, source);
        return output;
    }

    public void Dispose() => System.IO.Directory.Delete(Directory, recursive: true);
}
