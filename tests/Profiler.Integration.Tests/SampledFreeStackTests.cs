
namespace Profiler.Integration.Tests;

/// <summary>The frees of sampled blocks are unwound like their allocations (on a binary without
/// frame pointers), and a realloc that frees a sampled block gives that free its own stack.</summary>
public sealed class SampledFreeStackTests
{
    const string Churn = "allocs::large::large_churn";
    const string Shrink = "allocs::large::large_shrink";

    [Theory]
    [InlineData("preload")]
    [InlineData("probe")]
    public void Frees_have_stacks_as_deep_as_their_allocations(string mode)
    {
        var stacks = Record(mode);
        var problems = new List<string>();
        // Everything from the freeing function out is the allocating function's stack: same frames.
        var allocated = stacks.Where(s => s.Kind == EventKind.Alloc && s.OutermostFirst.Contains(Churn)).Select(s => Outer(s, Churn)).ToList();
        var freed = stacks.Where(s => s.Kind == EventKind.Free && s.OutermostFirst.Contains(Churn)).Select(s => Outer(s, Churn)).ToList();
        if (allocated.Count < 4 || freed.Count < 4)
            problems.Add($"{allocated.Count} allocations and {freed.Count} frees sampled in {Churn}, expected 4 of each");
        foreach (var free in freed)
            if (allocated.All(a => !a.SequenceEqual(free)))
                problems.Add($"free stack {string.Join(" → ", free)} ({free.Count} frames to {Churn}) matches no allocation stack " +
                             $"({string.Join(" | ", allocated.Select(a => a.Count).Distinct())} frames)");
        if (freed.Any(f => f.Count < 3 || !f.Contains("allocs::main")))
            problems.Add($"free stacks do not reach allocs::main: {string.Join(" → ", freed.First())}");
        Assert.True(problems.Count == 0, string.Join("\n", problems.Distinct()));
    }

    [Theory]
    [InlineData("preload")]
    [InlineData("probe")]
    public void Every_free_has_a_stack_and_a_realloc_frees_with_its_own(string mode)
    {
        var stacks = Record(mode);
        var frees = stacks.Where(s => s.Kind == EventKind.Free).ToList();
        Assert.DoesNotContain(frees, s => s.OutermostFirst.Count == 0);
        // Each large block large_shrink reallocs down to 64 B is sampled; its free is the realloc's.
        var shrunk = frees.Where(s => s.Function == AllocFunction.Realloc && s.OutermostFirst.Contains(Shrink)).ToList();
        Assert.True(shrunk.Count >= 4, $"{shrunk.Count} realloc frees with a stack through {Shrink}, expected 4");
    }

    static List<SampledStack> Record(string mode)
    {
        RootRequired.Check();
        var sample = RepoPaths.Sample("allocs-nofp");
        var dir = Directory.CreateTempSubdirectory("memprof-free-stacks");
        var output = Path.Combine(dir.FullName, "large.memprof");
        var result = CliRunner.Run("record", "--mode", mode, "--no-firefox", "-o", output, "--", sample, "large");
        Assert.True(result.ExitCode == 0, result.Stderr);
        Assert.Contains("DWARF stacks", result.Stderr);
        var stacks = StackEnds.Read(output);
        dir.Delete(recursive: true);
        return stacks;
    }

    /// <summary>The stack from the outermost frame to <paramref name="function"/>, inclusive.</summary>
    static List<string> Outer(SampledStack stack, string function) =>
        stack.OutermostFirst.Take(stack.OutermostFirst.ToList().IndexOf(function) + 1).ToList();
}
