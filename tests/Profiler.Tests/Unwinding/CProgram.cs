using Profiler.Tests.Elf;

namespace Profiler.Tests.Unwinding;

/// <summary>
/// A C program compiled by gcc -O2 without frame pointers whose allocations pass through glibc in
/// three ways: malloc called through the PLT (lazily bound), from qsort's comparison callback (glibc
/// frames in the middle of the stack) and from a signal handler (a signal frame in the middle).
/// Built four ways: CFI in .eh_frame (the default); the same without the linker's CFI for the PLT
/// (as lld links); CFI only in .debug_frame; no CFI at all for the program's own code but frame
/// pointers instead. Built once per test collection.
/// </summary>
public sealed class CProgram : IDisposable
{
    private const string Source = """
        #include <signal.h>
        #include <stdlib.h>
        #include <string.h>

        void *volatile sink;

        __attribute__((noinline)) void *through_plt(size_t size) { void *p = malloc(size); sink = p; return p; }

        __attribute__((noinline)) static int compare(const void *a, const void *b)
        {
            sink = malloc(8 + *(const int *)a % 16);
            return *(const int *)a - *(const int *)b;
        }

        __attribute__((noinline)) void sort_numbers(void)
        {
            int numbers[64];
            for (int i = 0; i < 64; i++) numbers[i] = (i * 37) % 64;
            qsort(numbers, 64, sizeof numbers[0], compare);
            sink = (void *)(long)numbers[3];
        }

        static void on_signal(int signal) { sink = malloc(100 + signal); }

        __attribute__((noinline)) void signal_self(void)
        {
            struct sigaction action;
            memset(&action, 0, sizeof action);
            action.sa_handler = on_signal;
            sigaction(SIGUSR1, &action, NULL);
            raise(SIGUSR1);
            sink = 0;
        }

        int main(void)
        {
            through_plt(24);
            sort_numbers();
            signal_self();
            return 0;
        }
        """;

    public CProgram()
    {
        SystemTools.Require(["gcc"]);
        WorkDirectory = Directory.CreateTempSubdirectory("unwind-c-").FullName;
        string source = Path.Combine(WorkDirectory, "program.c");
        File.WriteAllText(source, Source);
        // Lazy binding, so the first call runs the PLT entry's push and jump to PLT0.
        EhFrame = Compile(source, "eh-frame", "-fomit-frame-pointer");
        DebugFrame = Compile(source, "debug-frame", "-fomit-frame-pointer", "-g", "-fno-asynchronous-unwind-tables", "-fno-unwind-tables");
        // As lld links: no CFI for the PLT.
        NoPltCfi = Compile(source, "no-plt-cfi", "-fomit-frame-pointer", "-Wl,--no-ld-generated-unwind-info");
        // Without CFI gdb falls back to prologue analysis, which only recognises `push %rbp` directly
        // followed by `mov %rsp,%rbp`: keep the scheduler from moving instructions between them.
        FramePointers = Compile(source, "frame-pointers", "-fno-omit-frame-pointer", "-fno-schedule-insns2",
            "-fno-asynchronous-unwind-tables", "-fno-unwind-tables");
    }

    public string WorkDirectory { get; }

    public string EhFrame { get; }

    public string DebugFrame { get; }

    public string FramePointers { get; }

    public string NoPltCfi { get; }

    public string Variant(string name) => name switch
    {
        "eh-frame" => EhFrame,
        "debug-frame" => DebugFrame,
        "frame-pointers" => FramePointers,
        "no-plt-cfi" => NoPltCfi,
        _ => throw new ArgumentException(name),
    };

    public void Dispose() => Directory.Delete(WorkDirectory, recursive: true);

    private string Compile(string source, string name, params string[] options)
    {
        string output = Path.Combine(WorkDirectory, name);
        SystemTools.Run("gcc", ["-O2", .. options, "-Wl,-z,lazy", "-o", output, source]);
        return output;
    }
}

[CollectionDefinition(Name)]
public sealed class CProgramCollection : ICollectionFixture<CProgram>
{
    public const string Name = "C programs for unwinding";
}
