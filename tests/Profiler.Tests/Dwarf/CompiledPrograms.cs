using Profiler.Tests.Elf;

namespace Profiler.Tests.Dwarf;

/// <summary>Small C and C++ programs built at -O2 with debug information in the flavours the DWARF
/// reader must handle: DWARF 5 and 4 from gcc, DWARF 5 from clang (indexed strings, addresses and
/// range lists), and zlib-compressed sections (SHF_COMPRESSED and the older .zdebug_*). Each is deliberately full of inlining: forced
/// inline chains, templates, lambdas and the standard library's headers. Built once per run.</summary>
public sealed class CompiledPrograms : IDisposable
{
    private const string CSource = """
        #include <stdio.h>
        #include <stdlib.h>
        #include <string.h>

        struct node { struct node *next; int value; };

        static inline __attribute__((always_inline)) int leaf_square(int x) { return x * x + 1; }
        static inline __attribute__((always_inline)) int middle_sum(int x) { return leaf_square(x) + leaf_square(x + 1); }
        static inline __attribute__((always_inline)) int outer_mix(int x) { return middle_sum(x) ^ middle_sum(x * 3); }

        static struct node *push(struct node *head, int value)
        {
            struct node *n = malloc(sizeof *n);
            n->next = head;
            n->value = outer_mix(value);
            return n;
        }

        static int __attribute__((noinline)) sum_list(const struct node *n)
        {
            int total = 0;
            for (; n; n = n->next)
                total += middle_sum(n->value & 0xff);
            return total;
        }

        static int compare_ints(const void *a, const void *b) { return *(const int *)a - *(const int *)b; }

        int __attribute__((noinline)) sort_and_pick(int *values, int count)
        {
            qsort(values, count, sizeof *values, compare_ints);
            return values[count / 2] + outer_mix(count);
        }

        int main(int argc, char **argv)
        {
            struct node *list = NULL;
            for (int i = 0; i < argc * 100; i++)
                list = push(list, i);
            int values[64];
            for (int i = 0; i < 64; i++)
                values[i] = (int)strlen(argv[0]) * (64 - i);
            printf("%d %d\n", sum_list(list), sort_and_pick(values, 64));
            while (list) { struct node *next = list->next; free(list); list = next; }
            return 0;
        }
        """;

    private const string CxxShapes = """
        #include <map>
        #include <memory>
        #include <string>
        #include <vector>

        namespace shapes {
        struct Shape { virtual ~Shape() = default; virtual double area() const = 0; };
        struct Square final : Shape {
            explicit Square(double side) : side_(side) {}
            double area() const override { return side_ * side_; }
            double side_;
        };
        template <typename T> struct Grid {
            std::vector<T> cells;
            void add(T value) { cells.push_back(value); }
            T total() const { T sum{}; for (const auto &c : cells) sum += c; return sum; }
        };
        }

        namespace {
        inline __attribute__((always_inline)) int hidden_depth2(int x) { return x * 31 + 7; }
        inline __attribute__((always_inline)) int hidden_depth1(int x) { return hidden_depth2(x) + hidden_depth2(x >> 1); }
        }

        __attribute__((noinline)) std::map<std::string, double> build_areas(int count)
        {
            std::map<std::string, double> areas;
            std::vector<std::unique_ptr<shapes::Shape>> all;
            for (int i = 0; i < count; i++)
                all.push_back(std::make_unique<shapes::Square>(i * 0.5));
            for (int i = 0; i < count; i++)
                areas["square" + std::to_string(hidden_depth1(i))] = all[i]->area();
            return areas;
        }

        __attribute__((noinline)) long grid_total(int count)
        {
            shapes::Grid<long> grid;
            for (int i = 0; i < count; i++)
                grid.add(hidden_depth1(i));
            return grid.total();
        }
        """;

    private const string CxxMain = """
        #include <algorithm>
        #include <cstdio>
        #include <map>
        #include <numeric>
        #include <string>
        #include <vector>

        std::map<std::string, double> build_areas(int count);
        long grid_total(int count);

        template <typename F> __attribute__((noinline)) int apply_twice(F f, int x) { return f(f(x)); }

        static inline __attribute__((always_inline)) int inner_step(int x) { return (x << 2) - x / 3; }
        static inline __attribute__((always_inline)) int outer_step(int x) { return inner_step(x) + inner_step(x + 5); }

        int main(int argc, char **)
        {
            std::vector<int> values(argc * 50);
            std::iota(values.begin(), values.end(), 3);
            std::sort(values.begin(), values.end(), [](int a, int b) { return outer_step(a) < outer_step(b); });
            int twice = apply_twice([](int v) { return outer_step(v) % 1000; }, argc);
            auto areas = build_areas(argc * 10);
            double sum = 0;
            for (const auto &[name, area] : areas)
                sum += area + static_cast<double>(name.size());
            std::printf("%d %d %f %ld\n", values[0], twice, sum, grid_total(argc * 20));
            return 0;
        }
        """;

    public CompiledPrograms()
    {
        WorkDirectory = Directory.CreateTempSubdirectory("dwarf-test-").FullName;
        string c = Write("program.c", CSource);
        string shapes = Write("shapes.cpp", CxxShapes);
        string main = Write("main.cpp", CxxMain);
        var variants = Variants(c, [main, shapes]).ToList();
        SystemTools.Require([.. variants.Select(v => v.Compiler).Distinct()]);
        foreach (var (name, compiler, options, sources) in variants)
        {
            string output = Path.Combine(WorkDirectory, name);
            SystemTools.Run(compiler, [.. options, "-o", output, .. sources]);
            Programs[name] = output;
        }
    }

    /// <summary>Built programs by variant name.</summary>
    public Dictionary<string, string> Programs { get; } = [];

    public string WorkDirectory { get; }

    public const string CDwarf5 = "c-gcc-dwarf5";
    public const string CDwarf4 = "c-gcc-dwarf4";
    public const string CxxDwarf5 = "cxx-gcc-dwarf5";
    public const string CxxDwarf4 = "cxx-gcc-dwarf4";
    public const string CxxCompressed = "cxx-gcc-dwarf5-gz";
    public const string CxxDwarf4Compressed = "cxx-gcc-dwarf4-gz";
    public const string CxxGnuCompressed = "cxx-gcc-dwarf5-zdebug";
    public const string CxxClang = "cxx-clang-dwarf5";
    public const string CClangDwarf4 = "c-clang-dwarf4";

    public void Dispose() => Directory.Delete(WorkDirectory, recursive: true);

    private static IEnumerable<(string Name, string Compiler, string[] Options, string[] Sources)> Variants(string c, string[] cxx)
    {
        yield return (CDwarf5, "gcc", ["-O2", "-g"], [c]);
        yield return (CDwarf4, "gcc", ["-O2", "-gdwarf-4"], [c]);
        yield return (CxxDwarf5, "g++", ["-O2", "-g"], cxx);
        yield return (CxxDwarf4, "g++", ["-O2", "-gdwarf-4"], cxx);
        yield return (CxxCompressed, "g++", ["-O2", "-g", "-gz=zlib"], cxx);
        yield return (CxxDwarf4Compressed, "g++", ["-O2", "-gdwarf-4", "-gz=zlib"], cxx);
        yield return (CxxGnuCompressed, "g++", ["-O2", "-g", "-Wl,--compress-debug-sections=zlib-gnu"], cxx);
        yield return (CxxClang, "clang++-14", ["-O2", "-g"], cxx);
        yield return (CClangDwarf4, "clang-14", ["-O2", "-gdwarf-4"], [c]);
    }

    private string Write(string name, string text)
    {
        string path = Path.Combine(WorkDirectory, name);
        File.WriteAllText(path, text);
        return path;
    }
}

[CollectionDefinition(Name)]
public sealed class CompiledProgramsCollection : ICollectionFixture<CompiledPrograms>
{
    public const string Name = "C and C++ programs with DWARF built by gcc and clang";
}
