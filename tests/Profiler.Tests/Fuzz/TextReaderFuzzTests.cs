using System.Text;
using Profiler.Cli;
using Profiler.Core;
using Profiler.Core.Import;
using Profiler.Export.Checks;
using Xunit.Abstractions;

namespace Profiler.Tests.Fuzz;

/// <summary>The same damage (<see cref="Mutator"/>) done to the other files memprof reads: a jemalloc
/// heap profile and a budgets file. Each mutant is refused with one line of the reader's own error,
/// or read; a heap profile read from a mutant has the intact figures or smaller ones (each backtrace
/// must add up to its threads, and the sample period be a power of two, so a changed count or period is caught).
/// A budgets file has no redundancy to catch a changed limit: there, only the error's form and the
/// reader's bounds are checked.</summary>
public sealed class TextReaderFuzzTests(ITestOutputHelper output)
{
    public const int Mutants = 3000;

    const string Dump = """
        heap_v2/524288
          t*: 230: 233718297 [3: 7000]
          t0: 227: 233716673 [2: 5000]
          t3: 3: 1624 [1: 2000] worker
        @ 0x55e986382160 0x55e986382731 0x55e9862ee79a
          t*: 217: 233711793 [0: 0]
          t0: 217: 233711793 [0: 0]
        @ 0x55e986382160 0x55e9863c3af8
          t*: 1: 8 [0: 0]
          t0: 1: 8 [0: 0]
        @ 0x55e986382160 0x55e9862ee000 0
          t*: 12: 6496 [3: 7000]
          t0: 9: 4872 [2: 5000]
          t3: 3: 1624 [1: 2000]

        MAPPED_LIBRARIES:
        55e9862b5000-55e9862eb000 r--p 00000000 fe:00 11674290                   /opt/app/bin/program
        55e9862eb000-55e9863e0000 r-xp 00035000 fe:00 11674290                   /opt/app/bin/program
        7f3da345c000-7f3da35b2000 r-xp 00026000 fe:00 332096                     /usr/lib/x86_64-linux-gnu/libc.so.6

        """;

    const string Budgets = """
        # memory budgets of the test suite
        max-peak = 64MiB
        max-leaked = 64KiB
        max-allocated = 2GB
        max-allocs = 1_000_000
        fail-on-leak = false
        ignore = test_harness::*
        ignore = *::drop_in_place*

        """;

    sealed record DumpFigures(ulong Period, ulong Objects, ulong Bytes, ulong AccumulatedObjects, ulong AccumulatedBytes, int Stacks)
    {
        public static DumpFigures Of(HeapProfile p) => new(p.SamplePeriod,
            p.Stacks.Aggregate(0UL, (s, r) => s + r.Total.Objects), p.Stacks.Aggregate(0UL, (s, r) => s + r.Total.Bytes),
            p.Stacks.Aggregate(0UL, (s, r) => s + r.Total.AccumulatedObjects), p.Stacks.Aggregate(0UL, (s, r) => s + r.Total.AccumulatedBytes),
            p.Stacks.Count);

        public bool NoLargerThan(DumpFigures intact) =>
            Period == intact.Period && Objects <= intact.Objects && Bytes <= intact.Bytes &&
            AccumulatedObjects <= intact.AccumulatedObjects && AccumulatedBytes <= intact.AccumulatedBytes && Stacks <= intact.Stacks;
    }

    static HeapProfile ParseDump(byte[] bytes) =>
        HeapProfileParser.Parse(new StreamReader(new MemoryStream(bytes), Encoding.UTF8, detectEncodingFromByteOrderMarks: false), "app.heap");

    [Fact]
    public void Every_heap_profile_mutant_is_refused_in_one_line_or_read_with_no_larger_figures()
    {
        var intact = Encoding.UTF8.GetBytes(Dump);
        var expected = DumpFigures.Of(ParseDump(intact));
        var outcomes = Run(intact, bytes =>
        {
            var figures = DumpFigures.Of(ParseDump(bytes));
            Assert.True(figures.NoLargerThan(expected), $"{figures} is larger than {expected}");
        }, [ExitCode.CorruptRecording, ExitCode.WrongFileType]);
        output.WriteLine($"heap profile: {Mutants} mutants: {outcomes}");
    }

    [Fact]
    public void Every_budgets_file_mutant_is_refused_in_one_line_or_read()
    {
        var intact = Encoding.UTF8.GetBytes(Budgets);
        var expected = BudgetFile.Parse(Budgets, "memprof.budgets", SizeParser.Parse);
        Assert.Equal(64UL << 20, expected.MaxPeak);
        var outcomes = Run(intact, bytes => BudgetFile.Parse(Encoding.UTF8.GetString(bytes), "memprof.budgets", SizeParser.Parse),
            [ExitCode.UsageError]);
        output.WriteLine($"budgets file: {Mutants} mutants: {outcomes}");
    }

    static string Run(byte[] intact, Action<byte[]> read, ExitCode[] codes)
    {
        var mutator = new Mutator(seed: 7);
        int read_ = 0, refused = 0;
        for (int n = 0; n < Mutants; n++)
        {
            var (kind, bytes) = mutator.Next(intact);
            long before = GC.GetAllocatedBytesForCurrentThread();
            try
            {
                read(bytes);
                read_++;
            }
            catch (ProfilerException e)
            {
                Assert.DoesNotContain('\n', e.Message);
                Assert.True(codes.Contains(e.ExitCode), $"mutant {n} ({kind}): exit code {e.ExitCode}: {e.Message}");
                refused++;
            }
            catch (Exception e) when (e is not Xunit.Sdk.XunitException)
            {
                Assert.Fail($"mutant {n} ({kind}): {e.GetType().Name}: {e.Message}");
            }
            long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
            Assert.True(allocated < 1000L * intact.Length + (1 << 20), $"mutant {n} ({kind}) allocated {allocated:N0} bytes");
        }
        return $"{read_} read, {refused} refused";
    }
}
