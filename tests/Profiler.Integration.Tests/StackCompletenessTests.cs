
namespace Profiler.Integration.Tests;

/// <summary>Sampled stacks reach the program's entry or their thread's start — on the samples with
/// and without frame pointers, on both sampling paths, and on a real Debian program (ripgrep,
/// stripped, unwound from .eh_frame, with worker threads) — and the recording's truncated flag
/// says exactly which did not.</summary>
public sealed class StackCompletenessTests
{
    [Theory]
    [InlineData("allocs-nofp", "preload")]
    [InlineData("allocs-nofp", "probe")]
    [InlineData("allocs-fp", "preload")]
    [InlineData("allocs-fp", "probe")]
    public void Every_stack_of_the_sample_is_complete_and_marked_so(string variant, string mode)
    {
        var stacks = Record(["--rate", "1", "--mode", mode], RepoPaths.Sample(variant));
        var problems = StackEnds.Mislabelled(stacks).ToList();
        var cut = stacks.Count(s => s.OutermostFirst.Count > 0 && !s.Reaches);
        if (cut > 0) problems.Insert(0, $"{cut} of {stacks.Count} stacks do not reach the entry or a thread start");
        Assert.True(problems.Count == 0, string.Join("\n", problems.Distinct().Take(20)));
    }

    [Theory]
    [InlineData("allocs-fp")]
    [InlineData("allocs-nofp")]
    public void A_frame_pointer_walk_is_marked_complete_only_when_it_is(string variant)
    {
        // Debian's glibc keeps no frame pointers, so these walks end at main's caller at best; and
        // without frame pointers in the program they end on whatever rbp holds, zero included.
        var stacks = Record(["--rate", "1", "--unwind", "fp"], RepoPaths.Sample(variant));
        var falselyComplete = stacks.Where(s => s.OutermostFirst.Count > 0 && !s.MarkedTruncated && !s.Reaches).ToList();
        Assert.True(falselyComplete.Count == 0, $"{falselyComplete.Count} of {stacks.Count} cut stacks marked complete, e.g. " +
            string.Join(" → ", falselyComplete.FirstOrDefault()?.OutermostFirst ?? []));
        if (variant == "allocs-nofp")
            Assert.All(stacks.Where(s => s.OutermostFirst.Any(f => f.StartsWith("allocs::", StringComparison.Ordinal))),
                s => Assert.True(s.MarkedTruncated));
    }

    [Fact]
    public void Ripgrep_stacks_are_complete_and_marked_so()
    {
        const string rg = "/usr/bin/rg";
        Assert.True(File.Exists(rg), "ripgrep is not installed (scripts/install-deps.sh installs it)");
        // Its parallel directory walk allocates on worker threads as well as on the main thread.
        var stacks = Record(["--rate", "16KiB"], rg, "--no-messages", "-c", "alloc", "/usr/share/doc", "/usr/include");
        var allocations = stacks.Where(s => s.Kind == EventKind.Alloc).ToList();
        Assert.True(allocations.Count >= 100, $"only {allocations.Count} sampled allocations");
        int reaching = allocations.Count(s => s.Reaches);
        var mislabelled = StackEnds.Mislabelled(stacks).ToList();
        Assert.True(reaching >= allocations.Count * 0.99 && mislabelled.Count == 0,
            $"{reaching} of {allocations.Count} allocation stacks reach the entry or a thread start\n" + string.Join("\n", mislabelled.Distinct().Take(20)));
    }

    static List<SampledStack> Record(string[] options, string command, params string[] arguments)
    {
        RootRequired.Check();
        var dir = Directory.CreateTempSubdirectory("memprof-complete");
        var output = Path.Combine(dir.FullName, "stacks.memprof");
        var result = CliRunner.Run(["record", .. options, "--no-firefox", "-o", output, "--", command, .. arguments]);
        Assert.True(result.ExitCode == 0, result.Stderr);
        var stacks = StackEnds.Read(output);
        dir.Delete(recursive: true);
        return stacks;
    }
}
