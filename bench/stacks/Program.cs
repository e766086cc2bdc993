// Usage: dotnet run --project bench/stacks -- RECORDING.memprof...
// For each recording: of the stacks of its sampled allocations and frees, the share that reach
// the program's entry or a thread's start by their symbols (an independent check), the share the
// collector marked complete (Stack.truncated unset), and how often the two disagree; then the
// outermost functions of the cut stacks, most frequent first.
using Profiler;
using Profiler.Core.Analysis;
using Profiler.Core.Model;
using Profiler.Core.Recording;
using Profiler.Symbols.Resolution;

// Frames only the start of a process or of a thread has below them (glibc's names, resolved from
// libc6-dbg; _start and main also from the executable's symbols when it has them).
// Constructors run before main below the dynamic linker's entry (_dl_start_user), whose name the
// stripped ld.so may not give: an outermost frame in ld.so counts as that entry here.
string[] roots = ["_dl_start_user", "_start", "__libc_start_main", "__libc_start_main_impl", "__libc_start_call_main", "start_thread", "clone3", "__clone3", "clone", "__clone"];

foreach (var path in args)
{
    var raw = RecordingReader.Read(path);
    var resolver = new ElfFrameResolver(SymbolOptions.Default);
    var model = ProfileModelBuilder.Build(raw, resolver, HeapAnalysis.StartComputing);
    resolver.Dispose();
    // The model leaves out what memprof's launcher shell did before it exec'd the command;
    // otherwise its events are the recording's, in the same (time) order.
    var exec = raw.Header.Launched ? raw.Execs.Where(x => x.Pid == raw.Header.TargetPid).MinBy(x => x.TimeNanos) : null;
    int freesWithoutStack = 0, total = 0, reach = 0, flaggedComplete = 0, completeButCut = 0, flaggedButReach = 0, frees = 0, freeReach = 0;
    var cutAt = new Dictionary<string, int>();
    for (int i = 0, m = -1; i < raw.Events.Count; i++)
    {
        if (exec is not null && raw.Events.Pid[i] == exec.Pid && raw.Events.TimeNanos[i] < exec.TimeNanos) continue;
        m++;
        if (model.Events.Address[m] != raw.Events.Address[i] || model.Events.Kind[m] != raw.Events.Kind[i])
            throw new InvalidOperationException($"{path}: event {i} of the recording is not the model's event {m}");
        if (raw.Events.StackId[i] == 0 || !raw.Stacks.TryGetValue(raw.Events.StackId[i], out var stack))
        {
            if (raw.Events.Kind[i] == EventKind.Free) freesWithoutStack++;
            continue;
        }
        var names = model.Tables.FramesLeafFirst(model.Events.Stack[m]).Select(f => model.Tables.FunctionName(f)).ToList();
        bool reaches = names.Any(n => roots.Contains(n)) || (names.Count > 0 && names[^1].StartsWith("ld-linux", StringComparison.Ordinal));
        if (raw.Events.Kind[i] == EventKind.Free) { frees++; if (reaches) freeReach++; continue; }
        total++;
        if (reaches) reach++;
        if (!stack.Truncated) flaggedComplete++;
        if (!stack.Truncated && !reaches) completeButCut++;
        if (stack.Truncated && reaches) flaggedButReach++;
        if (!reaches)
        {
            string outer = names.Count == 0 ? "(no frames)" : names[^1];
            cutAt[outer] = cutAt.GetValueOrDefault(outer) + 1;
        }
    }
    string Share(int part, int whole) => whole == 0 ? "-" : $"{100.0 * part / whole:F1}%";
    Console.WriteLine($"{Path.GetFileNameWithoutExtension(path)}: {total} sampled allocations, {Share(reach, total)} reach the entry or a thread start, " +
                      $"{Share(flaggedComplete, total)} marked complete ({completeButCut} marked complete but cut, {flaggedButReach} marked cut but reaching); " +
                      $"{frees} sampled frees, {Share(freeReach, frees)} reach, {freesWithoutStack} more without a stack");
    foreach (var (name, n) in cutAt.OrderByDescending(kv => kv.Value).Take(5))
        Console.WriteLine($"    cut at {name}: {n}");
}
