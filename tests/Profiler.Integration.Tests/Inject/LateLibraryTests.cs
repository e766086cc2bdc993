using System.Diagnostics;
using Profiler.Collectors.Linux.Inject;
using Profiler.Collectors.Linux.Procfs;
using Profiler.Core.Analysis;
using Profiler.Core.Model;
using Profiler.Core.Recording;
using Profiler.Export;
using Xunit.Abstractions;

namespace Profiler.Integration.Tests.Inject;

/// <summary>A library dlopen'ed while memprof is attached by injection: no slot of it existed when
/// the slots were redirected, so it is bound to the sampler by the redirected definitions, from
/// its first constructor on; at detach its slots and the definitions are put back.</summary>
public sealed class LateLibraryTests(ITestOutputHelper output)
{
    const string Library = "liblate.so";

    [Theory]
    [InlineData("now")]
    [InlineData("lazy")]
    public void A_library_dlopened_after_the_attach_is_recorded_exactly_from_its_constructor_on_and_put_back_at_detach(string binding)
    {
        RootRequired.Check();
        var dir = Directory.CreateTempSubdirectory("memprof-late-library");
        string program = Path.Combine(dir.FullName, "held_heap"), library = Path.Combine(dir.FullName, Library);
        ProcessRunner.RunChecked("cc", ["-Wall", "-Wextra", "-Werror", "-O2", "-o", program, Source("held_heap.c")]);
        // Rust's cdylibs are linked with -z now; C libraries often bind lazily (held_heap dlopens with
        // RTLD_LAZY: each slot is bound at its first call, through the dynamic linker's lookup).
        ProcessRunner.RunChecked("cc", ["-Wall", "-Wextra", "-Werror", "-O2", "-g", "-shared", "-fPIC", $"-Wl,-z,{binding}", "-o", library, Source("late_lib.c")]);
        using var target = new DetachedTarget(program, "1", DetachedTarget.Stop, library);
        target.WaitReady();
        string recording = Path.Combine(dir.FullName, "late.memprof");

        using var memprof = CliRunner.StartOwnProcess("record", "--rate", "1", "--mode", "inject", "--pid", target.Pid.ToString(),
            "--no-firefox", "-o", recording);
        var clock = Stopwatch.StartNew();
        while (!memprof.StandardErrorSoFar.Contains("in-process sampling injected") && !memprof.HasExited && clock.Elapsed < TimeSpan.FromSeconds(90))
            Thread.Sleep(10);
        Assert.True(memprof.StandardErrorSoFar.Contains("so libraries loaded later go through it from their first call"), memprof.StandardErrorSoFar);
        File.WriteAllText(target.StopFile + ".dlopen", "");
        while (!target.Output.Contains("dlopened") && target.Running && clock.Elapsed < TimeSpan.FromSeconds(120)) Thread.Sleep(10);
        Assert.True(target.Output.Contains("dlopened"), $"the target did not dlopen the library: {target.Errors}");

        // While attached, every slot of the new library leads to the sampler.
        var whileAttached = LibrarySlots(target.Pid);
        Assert.NotEmpty(whileAttached);
        var sampler = ProcMaps.Read(target.Pid).Where(m => m.IsFile && m.Path.EndsWith(Profiler.Collectors.Linux.Preload.InjectLibrary.FileName)).ToList();
        Assert.All(whileAttached, s => Assert.True(sampler.Any(m => s.Value >= m.Start && s.Value < m.End), $"{s.Slot} holds 0x{s.Value:x}, not the sampler"));
        Thread.Sleep(200);
        Assert.Equal(0, TestSignals.Send(memprof.Id, TestSignals.SIGINT));
        var result = memprof.WaitForExit(TimeSpan.FromSeconds(120));
        Assert.True(result.ExitCode == 0, result.Stderr);

        // After the detach: the definitions are the files' again, the library's slots libc's functions.
        output.WriteLine($"{TargetChecks.AssertSymbolTablesMatchFiles(target.Pid)} symbol tables as in their files");
        var libc = GotInspector.PlanNow(target.Pid, null).Modules.Single(m => Path.GetFileName(m.Path) == "libc.so.6");
        foreach (var (slot, value) in LibrarySlots(target.Pid))
        {
            var export = libc.Image.Exports.Single(e => e.Symbol == slot.Symbol && e.IsDefault);
            Assert.True(value == libc.LoadBias + export.VirtualAddress, $"{slot} holds 0x{value:x} after the detach, not libc's {slot.Symbol}");
        }

        var model = RecordingLoader.Load(recording, TextWriter.Null);
        var heap = HeapAnalysis.Compute(model);
        var sites = new Dictionary<string, (long Calls, long Bytes, long Freed)>();
        for (int i = 0; i < model.Events.Count; i++)
        {
            if (model.Events.Kind[i] != EventKind.Alloc) continue;
            string site = SiteAnalysis.SiteOf(model.Tables, model.Events.Stack[i]) is { } s ? model.Tables.Function(s).Name : "?";
            var (calls, bytes, freed) = sites.GetValueOrDefault(site);
            sites[site] = (calls + 1, bytes + (long)model.Events.Weight[i], freed + (heap.FreedBy[i] >= 0 ? 1 : 0));
        }
        output.WriteLine(string.Join("\n", sites.Select(s => $"{s.Key}: {s.Value}")));
        Assert.Equal((10L, 30_000L, 0L), sites.GetValueOrDefault("late_lib_constructor"));
        Assert.Equal((1_000L + 100 + 1, 2_000_000L + 100 * 5_000 + 777, 1_100L), sites.GetValueOrDefault("churn"));

        var (code, said) = target.Finish();
        Assert.True(code == 0, target.Errors);
        Assert.EndsWith("ok\n", said);
        dir.Delete(recursive: true);
    }

    static string Source(string name) => Path.Combine(RepoPaths.Root, "tests", "Profiler.Integration.Tests", "Inject", name);

    static List<(GotSlot Slot, ulong Value)> LibrarySlots(int pid)
    {
        var plan = GotInspector.PlanNow(pid, null);
        using var memory = ProcMemory.Open(pid);
        var values = new GotPatcher(memory).Read(plan);
        return [.. plan.Apply.Where(s => Path.GetFileName(s.Module.Path) == Library).Select(s => (s, values[s.Address]))];
    }
}
