using Profiler.Core.Analysis;
using Profiler.Core.Model;
using Profiler.Core.Recording;
using Profiler.Export;

namespace Profiler.Integration.Tests;

/// <summary>Without frame pointers, stacks unwound from copied stacks with DWARF CFI are as
/// complete as frame-pointer stacks of the same program, and the bytes stay exact.</summary>
public sealed class DwarfStackTests
{
    [Theory]
    [InlineData("allocs-nofp")]
    [InlineData("allocs-nofp-nodebug")]
    public void Every_manifest_site_has_its_full_chain_down_to_main(string variant)
    {
        RootRequired.Check();
        var sample = RepoPaths.Sample(variant);
        var manifest = Manifest.Read(sample);
        var dir = Directory.CreateTempSubdirectory("memprof-dwarf");
        var output = Path.Combine(dir.FullName, "nofp.memprof");
        var result = CliRunner.Run("record", "--rate", "1", "--no-firefox", "-o", output, "--", sample);
        Assert.True(result.ExitCode == 0, result.Stderr);
        Assert.Contains("DWARF stacks", result.Stderr);
        Assert.Equal("dwarf", RecordingReader.Read(output).Header.Stacks);

        var model = RecordingLoader.Load(output, TextWriter.Null);
        var sites = SiteTotals.Of(model);
        var problems = SiteTotals.Mismatches(manifest, sites).ToList();
        foreach (var group in manifest.GroupBy(s => s.Function))
        {
            foreach (var stack in StacksOf(model, group.Key))
            {
                var names = model.Tables.FramesLeafFirst(stack).Select(f => model.Tables.FunctionName(f)).Reverse().ToList();
                var chain = group.First().Chain;
                if (!IsInOrder(names, chain) || (!names.Contains("allocs::main") && group.First().Thread == "main"))
                    problems.Add($"{group.Key}: stack {string.Join(" → ", names)} lacks {string.Join(" → ", chain)} under allocs::main");
            }
        }
        dir.Delete(recursive: true);
        Assert.True(problems.Count == 0, string.Join("\n", problems.Distinct().Take(20)));
    }

    [Fact]
    public void Frame_pointer_stacks_of_the_same_binary_are_cut_short()
    {
        RootRequired.Check();
        var sample = RepoPaths.Sample("allocs-nofp");
        var dir = Directory.CreateTempSubdirectory("memprof-fp");
        var output = Path.Combine(dir.FullName, "fp.memprof");
        var result = CliRunner.Run("record", "--rate", "1", "--unwind", "fp", "--no-firefox", "-o", output, "--", sample, "leak");
        Assert.True(result.ExitCode == 0, result.Stderr);
        var model = RecordingLoader.Load(output, TextWriter.Null);
        // The contrast that shows the DWARF test above is not vacuous.
        Assert.All(StacksOf(model, "allocs::leak_leaf"), stack =>
            Assert.DoesNotContain("allocs::leak_outer", model.Tables.FramesLeafFirst(stack).Select(f => model.Tables.FunctionName(f))));
        dir.Delete(recursive: true);
    }

    static IEnumerable<StackId> StacksOf(ProfileModel model, string function)
    {
        var ev = model.Events;
        var seen = new HashSet<StackId>();
        for (int i = 0; i < ev.Count; i++)
            if (ev.Kind[i] == EventKind.Alloc && SiteAnalysis.SiteOf(model.Tables, ev.Stack[i]) is { } f &&
                model.Tables.Function(f).Name == function && seen.Add(ev.Stack[i]))
                yield return ev.Stack[i];
    }

    static bool IsInOrder(IReadOnlyList<string> outermostFirst, IReadOnlyList<string> chain)
    {
        int at = 0;
        foreach (var name in outermostFirst)
            if (at < chain.Count && name == chain[at]) at++;
        return at == chain.Count;
    }
}
