using Profiler.Collectors.Linux.Bpf;
using Profiler.Symbols.Elf;

namespace Profiler.Tests.Collector;

/// <summary>The BTF reader against the C compiler: one source is compiled by the pinned clang for
/// the BPF target (whose BTF is read) and by the host compiler into a program that prints
/// sizeof and offsetof of the same types, which the reader's answers must equal.</summary>
public sealed class BtfTypesTests
{
    const string Source = """
        typedef unsigned long long u64;
        typedef const u64 cu64;
        enum small { SMALL_NEGATIVE = -3, SMALL_ZERO, SMALL_LARGEST = 0x7fffffff };
        union either { int i; char c[3]; u64 wide; };
        struct inner { short a; char b; };
        struct probe {
            char tag;
            cu64 value;
            void *pointer;
            struct inner pairs[3][2];
            union either either;
            enum small kind;
            volatile int flag;
            const char *restrict name;
        };
        struct probe probe;
        union either either;
        """;

    static readonly string[] Members = ["tag", "value", "pointer", "pairs", "either", "kind", "flag", "name"];

    [Fact]
    public void Struct_and_union_layouts_and_enum_values_equal_what_the_C_compiler_gives()
    {
        var dir = Directory.CreateTempSubdirectory("memprof-btf-reader");
        try
        {
            string source = Path.Combine(dir.FullName, "types.c");
            File.WriteAllText(source, Source);
            string obj = Path.Combine(dir.FullName, "types.bpf.o");
            Run("clang-14", "-g", "-O2", "-target", "bpf", "-c", source, "-o", obj);
            string printer = Path.Combine(dir.FullName, "layout.c");
            File.WriteAllText(printer, $$"""
                #include <stddef.h>
                #include <stdio.h>
                #include "types.c"
                #define MEMBER(m) printf("%s %zu %zu\n", #m, offsetof(struct probe, m), sizeof(((struct probe *)0)->m));
                int main(void) {
                    printf("probe %zu\n", sizeof(struct probe));
                    {{string.Concat(Members.Select(m => $"MEMBER({m})"))}}
                    printf("either %zu\n", sizeof(union either));
                    printf("small %zu %d %d %d\n", sizeof(enum small), SMALL_NEGATIVE, SMALL_ZERO, SMALL_LARGEST);
                    return 0;
                }
                """);
            string exe = Path.Combine(dir.FullName, "layout");
            Run("cc", "-o", exe, printer);
            string expected = Run(exe);

            using var elf = ElfFile.Open(obj);
            var btf = BtfTypes.Read(elf);
            var probe = btf.Struct("probe");
            var small = btf.Enum("small");
            string actual = $"probe {probe.Size}\n" +
                            string.Concat(probe.Members.Select(m => $"{m.Name} {m.Offset} {m.Size}\n")) +
                            $"either {btf.Struct("either").Size}\n" +
                            $"small {small.Size} {string.Join(' ', small.Values.Select(v => v.Value))}\n";
            Assert.Equal(expected, actual);
            Assert.Equal(["SMALL_NEGATIVE", "SMALL_ZERO", "SMALL_LARGEST"], small.Values.Select(v => v.Name));
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [Fact]
    public void A_blob_that_is_not_BTF_is_refused()
    {
        Assert.Throws<InvalidDataException>(() => BtfTypes.Parse(new byte[32]));
        // A valid header whose type section claims more bytes than the blob has.
        var blob = new byte[24];
        BitConverter.GetBytes((ushort)0xeb9f).CopyTo(blob, 0);
        BitConverter.GetBytes(24u).CopyTo(blob, 4);
        BitConverter.GetBytes(100u).CopyTo(blob, 12);
        Assert.Throws<InvalidDataException>(() => BtfTypes.Parse(blob));
    }

    static string Run(string file, params string[] args) => ProcessRunner.RunChecked(file, args).Stdout;
}
