namespace Profiler.Tests.Elf;

/// <summary>A small C program built with gcc into a temporary directory, in four flavours: plain
/// (a PIE), linked at a fixed address (ET_EXEC), with SHF_COMPRESSED (zlib) debug sections, and
/// with old-style .zdebug sections. Built once and shared by every test in the collection. It has one
/// of each symbol shape the reader must handle: global, local (static), weak, alias, IFUNC, and a
/// hand-written assembly function that carries no size.</summary>
public sealed class TestProgram : IDisposable
{
    private const string Source = """
        #include <stdio.h>
        #include <stdlib.h>

        static int __attribute__((noinline)) local_helper(int x) { return x * 7 + 1; }
        int __attribute__((noinline)) global_function(int x) { return local_helper(x) + 2; }
        int __attribute__((weak, noinline)) weak_function(int x) { return x - 3; }
        int alias_function(int x) __attribute__((alias("global_function")));

        static int dispatch_impl(int x) { return x + 11; }
        static int (*resolve_dispatch(void))(int) { return dispatch_impl; }
        int dispatch(int x) __attribute__((ifunc("resolve_dispatch")));

        __asm__(".text\n"
                ".globl unsized_function\n"
                ".type unsized_function, @function\n"
                "unsized_function:\n"
                "  nop\n  nop\n  nop\n  xor %eax, %eax\n  ret\n");
        int unsized_function(void);

        int main(int argc, char **argv) {
            (void)argv;
            void *block = malloc(16);
            printf("%d\n", global_function(argc) + weak_function(argc) + alias_function(argc)
                           + dispatch(argc) + unsized_function());
            free(block);
            return 0;
        }
        """;

    public TestProgram()
    {
        SystemTools.Require(["gcc"]);
        WorkDirectory = Directory.CreateTempSubdirectory("elf-test-").FullName;
        string source = Path.Combine(WorkDirectory, "program.c");
        File.WriteAllText(source, Source);
        Plain = Compile(source, "plain");
        FixedAddress = Compile(source, "fixed-address", "-no-pie");
        Compressed = Compile(source, "compressed", "-gz=zlib", "-Wl,--compress-debug-sections=zlib");
        GnuCompressed = Compile(source, "gnu-compressed", "-Wl,--compress-debug-sections=zlib-gnu");
    }

    /// <summary>Where the programs are, and where tests may put files derived from them.</summary>
    public string WorkDirectory { get; }

    public string Plain { get; }

    public string FixedAddress { get; }

    public string Compressed { get; }

    /// <summary>With old-style .zdebug sections, which GNU ld still writes (binutils 2.40).</summary>
    public string GnuCompressed { get; }

    public static string[] FunctionNames =>
        ["local_helper", "global_function", "weak_function", "alias_function", "dispatch", "unsized_function", "main"];

    public void Dispose() => Directory.Delete(WorkDirectory, recursive: true);

    private string Compile(string source, string name, params string[] options)
    {
        string output = Path.Combine(WorkDirectory, name);
        SystemTools.Run("gcc", ["-g", "-O1", .. options, "-o", output, source]);
        return output;
    }
}

[CollectionDefinition(Name)]
public sealed class TestProgramCollection : ICollectionFixture<TestProgram>
{
    public const string Name = "ELF files built by gcc";
}
