using Profiler.Core.Analysis;
using Profiler.Core.Model;
using Profiler.Core.Recording;
using Profiler.Symbols.Resolution;

namespace Profiler.Integration.Tests;

/// <summary>One sampled event's stack: its functions outermost first, whether its symbols show
/// it reaches the program's entry or a thread's start, and whether the collector marked it cut.</summary>
sealed record SampledStack(EventKind Kind, AllocFunction Function, IReadOnlyList<string> OutermostFirst, bool Reaches, bool MarkedTruncated);

/// <summary>Reads a recording's sampled stacks with their symbols and the collector's truncated
/// flag, so tests can compare what the collector claims with where the stacks really end.</summary>
static class StackEnds
{
    /// <summary>Functions only the start of a process or of a thread has below them (glibc's, by
    /// the names libc6-dbg gives; _start also from the executable when it keeps its symbols;
    /// _dl_start_user below the constructors the dynamic linker runs).</summary>
    static readonly HashSet<string> Roots =
        ["_dl_start_user", "_start", "__libc_start_main", "__libc_start_main_impl", "__libc_start_call_main", "start_thread", "clone3", "__clone3", "clone", "__clone"];

    public static List<SampledStack> Read(string recording)
    {
        var raw = RecordingReader.Read(recording);
        var resolver = new ElfFrameResolver(SymbolOptions.Default);
        ProfileModel model;
        try { model = ProfileModelBuilder.Build(raw, resolver, HeapAnalysis.StartComputing); }
        finally { resolver.Dispose(); }
        // The model leaves out what memprof's launcher shell did before it exec'd the command;
        // otherwise its events are the recording's, in the same (time) order.
        var exec = raw.Header.Launched ? raw.Execs.Where(x => x.Pid == raw.Header.TargetPid).MinBy(x => x.TimeNanos) : null;
        var stacks = new List<SampledStack>();
        int m = 0;
        for (int i = 0; i < raw.Events.Count; i++)
        {
            if (exec is not null && raw.Events.Pid[i] == exec.Pid && raw.Events.TimeNanos[i] < exec.TimeNanos) continue;
            Assert.True(m < model.Events.Count && model.Events.Address[m] == raw.Events.Address[i] && model.Events.Kind[m] == raw.Events.Kind[i],
                $"event {i} of the recording is not the model's event {m}");
            ulong id = raw.Events.StackId[i];
            bool known = raw.Stacks.TryGetValue(id, out var stack);
            var names = known
                ? model.Tables.FramesLeafFirst(model.Events.Stack[m]).Select(f => model.Tables.FunctionName(f)).Reverse().ToList()
                : [];
            stacks.Add(new SampledStack(raw.Events.Kind[i], raw.Events.Function[i], names, names.Any(Roots.Contains), !known || stack!.Truncated));
            m++;
        }
        Assert.Equal(model.Events.Count, m);
        return stacks;
    }

    /// <summary>Stacks whose truncated flag disagrees with where their symbols end.</summary>
    public static IEnumerable<string> Mislabelled(IEnumerable<SampledStack> stacks) =>
        stacks.Where(s => s.Reaches == s.MarkedTruncated)
            .Select(s => $"{(s.MarkedTruncated ? "marked cut" : "marked complete")} but {(s.Reaches ? "reaches" : "does not reach")} the start: " +
                         string.Join(" → ", s.OutermostFirst.Take(4)) + " … " + string.Join(" → ", s.OutermostFirst.TakeLast(3)));
}
