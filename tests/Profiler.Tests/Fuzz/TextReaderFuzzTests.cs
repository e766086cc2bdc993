using System.Text;
using Profiler.Cli;
using Profiler.Collectors.JemallocImport;
using Profiler.Core;
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

    /// <summary>The parser tests' dump as jemalloc 5.3 writes it: two threads, three backtraces.</summary>
    const string Dump = Profiler.Tests.Import.HeapProfileParserTests.TwoThreads;

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
